// The 13 DCNv3 attributes, in the order of npu::dcnv3 and InternImage's DCNv3Function, written
// down once. Macros only, and no namespace, because the kernels' translation units include this
// too (through the tiling fields) and they hold a global function named dcnv3.
//
// DCNV3_ATTRS_WITH(X, U, SEP) expands X(U, index, name, kind) per attribute, kind Int (int64_t) or
// Float (float here, double in torch schemas) as the OpDef attribute types; U is passed through,
// so an X can forward to a further macro (the tiling fields pass theirs). SEP goes between
// entries (DCNV3_COMMA, or nothing); it is variadic so that a DCNV3_COMMA already expanded by an
// outer macro still arrives as one argument. DCNV3_ATTRS(X, SEP) is the common form X(index, name,
// kind). The list expands into the contract's index enum, names and Attrs (dcnv3_contract.h), the
// TilingData fields (dcnv3_tiling_fields.h), the kernels' torch parameter lists
// (python/csrc/dcnv3_args.h) and the aclnn arguments of the NPU adapter. Adding an attribute is a
// line here and a field of python/dcnv3_ascend/attrs.py, which holds the defaults (the schemas
// built from each must agree: tests/test_op_fallback.py).
#pragma once

// clang-format off: one attribute per line
#define DCNV3_ATTRS_WITH(X, U, ...)                        \
  X(U, kKernelH, kernel_h, Int) __VA_ARGS__                \
  X(U, kKernelW, kernel_w, Int) __VA_ARGS__                \
  X(U, kStrideH, stride_h, Int) __VA_ARGS__                \
  X(U, kStrideW, stride_w, Int) __VA_ARGS__                \
  X(U, kPadH, pad_h, Int) __VA_ARGS__                      \
  X(U, kPadW, pad_w, Int) __VA_ARGS__                      \
  X(U, kDilationH, dilation_h, Int) __VA_ARGS__            \
  X(U, kDilationW, dilation_w, Int) __VA_ARGS__            \
  X(U, kGroup, group, Int) __VA_ARGS__                     \
  X(U, kGroupChannels, group_channels, Int) __VA_ARGS__    \
  X(U, kOffsetScale, offset_scale, Float) __VA_ARGS__      \
  X(U, kIm2colStep, im2col_step, Int) __VA_ARGS__          \
  X(U, kRemoveCenter, remove_center, Int)
// clang-format on
#define DCNV3_ATTR_APPLY(X, index, name, kind) X(index, name, kind)
#define DCNV3_ATTRS(X, SEP) DCNV3_ATTRS_WITH(DCNV3_ATTR_APPLY, X, SEP)
#define DCNV3_COMMA ,
#define DCNV3_ATTR_TYPE_Int int64_t
#define DCNV3_ATTR_TYPE_Float float
