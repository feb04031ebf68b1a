// The one contract of the DCNv3 operator: positions of inputs, outputs and attributes, the
// output-size formula and argument validation. Pure C++17 with no CANN or torch types, so
// InferShape, tiling, the ONNX plugin, the torch extension and the simulator all use the same
// code (a drift between them is exactly the bug this header exists to prevent).
//
// Semantics are InternImage's DCNv3 CUDA op (dcnv3_im2col_cuda.cuh):
//   input  [N, H_in,  W_in,  group * group_channels]   (NHWC, channels innermost)
//   offset [N, H_out, W_out, group * P * 2]            (x, y) pairs
//   mask   [N, H_out, W_out, group * P]
//   output [N, H_out, W_out, group * group_channels]
// with P = kernel_h * kernel_w - remove_center.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "dcnv3_attr_list.h"

namespace dcnv3 {

// Input positions of OpType Dcnv3 (and the first three of Dcnv3Grad).
enum InputIndex : int { kInput = 0, kOffset = 1, kMask = 2, kGradOutput = 3 };
// Output positions of Dcnv3Grad.
enum GradOutputIndex : int { kGradInput = 0, kGradOffset = 1, kGradMask = 2 };

// Attribute positions (the list itself: DCNV3_ATTRS, dcnv3_attr_list.h).
#define DCNV3_ATTR_INDEX(index, name, kind) index
enum AttrIndex : int { DCNV3_ATTRS(DCNV3_ATTR_INDEX, DCNV3_COMMA), kAttrCount };
#undef DCNV3_ATTR_INDEX

// Attribute names as InternImage spells them (OpDef attributes and ONNX node attributes).
#define DCNV3_ATTR_NAME(index, name, kind) #name
inline constexpr const char* kAttrNames[kAttrCount] = {DCNV3_ATTRS(DCNV3_ATTR_NAME, DCNV3_COMMA)};
#undef DCNV3_ATTR_NAME

// The attribute values of one call. Every reader sets every field (the defaults a user may omit
// belong to the Python API, python/dcnv3_ascend/attrs.py); an all-zero Attrs fails ValidateAttrs.
struct Attrs {
#define DCNV3_ATTR_FIELD(index, name, kind) DCNV3_ATTR_TYPE_##kind name{};
  DCNV3_ATTRS(DCNV3_ATTR_FIELD, )
#undef DCNV3_ATTR_FIELD
};

namespace detail {
inline int64_t* IntOrNull(int64_t* field) { return field; }
inline int64_t* IntOrNull(float*) { return nullptr; }
}  // namespace detail

// The integer field of `a` at attribute position `index`; null for offset_scale, the one float.
// Lets parsers (ONNX plugin, TilingFunc) read attributes by position in one loop.
inline int64_t* IntAttrField(Attrs* a, int index) {
#define DCNV3_ATTR_INT_FIELD(index, name, kind) detail::IntOrNull(&a->name)
  int64_t* const fields[kAttrCount] = {DCNV3_ATTRS(DCNV3_ATTR_INT_FIELD, DCNV3_COMMA)};
#undef DCNV3_ATTR_INT_FIELD
  return index >= 0 && index < kAttrCount ? fields[index] : nullptr;
}
inline const int64_t* IntAttrField(const Attrs* a, int index) { return IntAttrField(const_cast<Attrs*>(a), index); }

inline constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// Largest kernel, stride, pad, dilation, group and group_channels: InternImage's op takes them as
// int. The bound keeps a product of two of them (times 2) inside int64: points, dilated kernel
// extent, group * group_channels and 2 * pad cannot overflow. Products of three factors
// (group * P * 2, element counts) and sums with tensor sizes go through the checked arithmetic
// below, so no attribute value makes the contract compute a wrapped-around size.
inline constexpr int64_t kMaxGeometryAttr = std::numeric_limits<int32_t>::max();
static_assert(kMaxGeometryAttr <= kInt64Max / (2 * kMaxGeometryAttr), "two bounded factors must fit in int64");

// *out = a * b for a, b >= 0; false (and *out untouched) when the product exceeds int64.
inline bool CheckedMul(int64_t a, int64_t b, int64_t* out) {
  if (a != 0 && b > kInt64Max / a) return false;
  *out = a * b;
  return true;
}

// *out = a + b for a, b >= 0; false when the sum exceeds int64.
inline bool CheckedAdd(int64_t a, int64_t b, int64_t* out) {
  if (b > kInt64Max - a) return false;
  *out = a + b;
  return true;
}

// Sampling points per group. Exact for attributes that pass ValidateAttrs.
inline int64_t NumPoints(const Attrs& a) { return a.kernel_h * a.kernel_w - a.remove_center; }

// Extent of the dilated kernel along one axis. Exact for attributes that pass ValidateAttrs.
inline int64_t KernelSpan(int64_t dilation, int64_t kernel) { return dilation * (kernel - 1) + 1; }

// Output extent along one axis. Callers validate first (see ValidateAttrs/ValidateShapes), so
// the numerator is never negative, nothing overflows and C++ truncation equals floor division.
inline int64_t OutputSize(int64_t in, int64_t pad, int64_t dilation, int64_t kernel, int64_t stride) {
  return (in + 2 * pad - KernelSpan(dilation, kernel)) / stride + 1;
}

// Everything a kernel needs to know about one call, after validation.
struct Problem {
  int64_t batch = 0, height_in = 0, width_in = 0, height_out = 0, width_out = 0;
  int64_t channels = 0;  // group * group_channels
  int64_t points = 0;    // P
  Attrs attrs;
};

// A read-only view of a tensor's sizes, so callers need not share a shape type.
struct Dims {
  const int64_t* data;
  int64_t rank;
};

inline std::string DimsToString(const int64_t* d, int64_t rank) {
  std::string s = "[";
  for (int64_t i = 0; i < rank; ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

// Checks the attributes alone. Returns "" when valid, else a message naming the attribute and
// what was expected.
inline std::string ValidateAttrs(const Attrs& a) {
  // Integer attributes in position order: at least 1 (pad: 0); at most kMaxGeometryAttr except
  // im2col_step, which only caps a batch split and is clamped to the batch.
  for (int i = 0; i < kAttrCount; ++i) {
    const int64_t* field = IntAttrField(&a, i);
    if (field == nullptr || i == kRemoveCenter) continue;
    const int64_t low = i == kPadH || i == kPadW ? 0 : 1;
    const int64_t high = i == kIm2colStep ? kInt64Max : kMaxGeometryAttr;
    if (*field < low)
      return std::string(kAttrNames[i]) + " must be >= " + std::to_string(low) + ", got " + std::to_string(*field);
    if (*field > high)
      return std::string(kAttrNames[i]) + " must be <= " + std::to_string(high) +
             " (InternImage's op takes it as int), got " + std::to_string(*field);
  }
  if (!std::isfinite(a.offset_scale)) return "offset_scale must be finite, got " + std::to_string(a.offset_scale);
  if (a.remove_center != 0 && a.remove_center != 1)
    return "remove_center must be 0 or 1, got " + std::to_string(a.remove_center);
  if (a.remove_center && (a.kernel_h != a.kernel_w || a.kernel_h % 2 == 0))
    return "remove_center=1 needs a square kernel of odd size, got kernel_h=" + std::to_string(a.kernel_h) +
           ", kernel_w=" + std::to_string(a.kernel_w);
  if (a.remove_center && a.kernel_h == 1)
    return "remove_center=1 with a 1x1 kernel leaves no sampling point; use kernel_h = kernel_w >= 3";
  // offset holds group * P * 2 values per output position.
  int64_t group_points = 0, offset_channels = 0;
  if (!CheckedMul(a.group, NumPoints(a), &group_points) || !CheckedMul(group_points, 2, &offset_channels))
    return "group*P*2 = " + std::to_string(a.group) + "*" + std::to_string(NumPoints(a)) +
           "*2 exceeds int64: group or kernel_h*kernel_w is too large";
  return "";
}

// GE's placeholders in the shapes InferShape gets when a graph's shapes are known only at run time
// (ATC with a dynamic batch, image size or shape ranges): -1 for a size, the one-size shape {-2}
// for an unknown rank.
constexpr int64_t kUnknownSize = -1, kUnknownRank = -2;

// Checks shapes against attributes and fills *problem. `grad_output` may be null (forward).
// Returns "" when valid, else a message naming the argument and the expected value.
// allow_unknown (InferShape only): sizes and ranks may be GE's placeholders; each size of the
// output [N, H_out, W_out] then comes from whichever tensor knows it (kUnknownSize where none
// does, which *problem then holds), and the sizes that are known must agree as they must when all
// are. Everywhere else (the torch op, the tiling, the simulator) a negative size is an error.
inline std::string ValidateShapes(Dims input, Dims offset, Dims mask, const Dims* grad_output, const Attrs& a,
                                  Problem* problem, bool allow_unknown = false) {
  std::string e = ValidateAttrs(a);
  if (!e.empty()) return e;
  const auto unknown_rank = [&](Dims d) { return allow_unknown && d.rank == 1 && d.data[0] == kUnknownRank; };
  const auto check_sizes = [&](const char* name, Dims d) -> std::string {
    if (unknown_rank(d)) return "";
    for (int64_t i = 0; i < d.rank; ++i)
      if (d.data[i] < 0 && !(allow_unknown && d.data[i] == kUnknownSize))
        return std::string(name) + " sizes must be >= 0, got " + DimsToString(d.data, d.rank);
    return "";
  };
  if (!(e = check_sizes("input", input)).empty() || !(e = check_sizes("offset", offset)).empty() ||
      !(e = check_sizes("mask", mask)).empty() ||
      (grad_output && !(e = check_sizes("grad_output", *grad_output)).empty()))
    return e;
  const auto known = [](int64_t size) { return size >= 0; };
  if (!unknown_rank(input) && input.rank != 4)
    return "input must be 4-D [N, H, W, group*group_channels], got " + DimsToString(input.data, input.rank);
  const int64_t n = unknown_rank(input) ? kUnknownSize : input.data[0];
  const int64_t h = unknown_rank(input) ? kUnknownSize : input.data[1];
  const int64_t w = unknown_rank(input) ? kUnknownSize : input.data[2];
  const int64_t c = a.group * a.group_channels;
  if (!unknown_rank(input) && input.data[3] != c && known(input.data[3]))
    return "input channels (last dim) must equal group*group_channels = " + std::to_string(a.group) + "*" +
           std::to_string(a.group_channels) + " = " + std::to_string(c) + ", got " + std::to_string(input.data[3]);
  const int64_t span_h = KernelSpan(a.dilation_h, a.kernel_h), span_w = KernelSpan(a.dilation_w, a.kernel_w);
  // Tensor sizes reach int64's limit only on empty or meta tensors, but they can.
  int64_t padded_h = span_h, padded_w = span_w;
  if (known(h) && !CheckedAdd(h, 2 * a.pad_h, &padded_h))
    return "input H + 2*pad_h = " + std::to_string(h) + " + 2*" + std::to_string(a.pad_h) +
           " exceeds int64: the input height is too large for pad_h";
  if (known(w) && !CheckedAdd(w, 2 * a.pad_w, &padded_w))
    return "input W + 2*pad_w = " + std::to_string(w) + " + 2*" + std::to_string(a.pad_w) +
           " exceeds int64: the input width is too large for pad_w";
  if (padded_h < span_h || padded_w < span_w)
    return "output size must be >= 1: input H, W = " + std::to_string(h) + ", " + std::to_string(w) +
           " with pad_h, pad_w = " + std::to_string(a.pad_h) + ", " + std::to_string(a.pad_w) +
           " is smaller than the dilated kernel " + std::to_string(span_h) + "x" + std::to_string(span_w);
  // [N, H_out, W_out]: known sizes, completed below from the tensors that know more.
  int64_t out_dims[4] = {n, known(h) ? OutputSize(h, a.pad_h, a.dilation_h, a.kernel_h, a.stride_h) : kUnknownSize,
                         known(w) ? OutputSize(w, a.pad_w, a.dilation_w, a.kernel_w, a.stride_w) : kUnknownSize, c};
  // A contiguous output needs its strides (products of trailing sizes) and element count in int64;
  // an empty output too, so zero sizes count as 1 here, and so do placeholders (the tiling checks
  // the run-time sizes).
  const auto check_output_elements = [&]() -> std::string {
    int64_t out_elements = 1;
    for (const int64_t d : out_dims)
      if (!CheckedMul(out_elements, d > 0 ? d : 1, &out_elements))
        return "output shape [N, H_out, W_out, group*group_channels] = " + DimsToString(out_dims, 4) +
               " is too large: its sizes multiply to more than int64 holds";
    return "";
  };
  if (!(e = check_output_elements()).empty()) return e;
  const int64_t p = NumPoints(a);
  auto expect = [&](const char* name, Dims d, int64_t last, const char* last_desc) -> std::string {
    if (unknown_rank(d)) return "";
    const int64_t want[4] = {out_dims[0], out_dims[1], out_dims[2], last};
    bool ok = d.rank == 4;
    for (int i = 0; ok && i < 4; ++i) ok = d.data[i] == want[i] || !known(d.data[i]) || !known(want[i]);
    if (!ok)
      return std::string(name) + " must have shape [N, H_out, W_out, " + last_desc + "] = " + DimsToString(want, 4) +
             (allow_unknown ? " (-1: known at run time)" : "") + ", got " + DimsToString(d.data, d.rank);
    for (int i = 0; i < 3; ++i)
      if (!known(out_dims[i])) out_dims[i] = d.data[i];
    return "";
  };
  if (!(e = expect("offset", offset, a.group * p * 2, "group*P*2")).empty()) return e;
  if (!(e = expect("mask", mask, a.group * p, "group*P")).empty()) return e;
  if (grad_output && !(e = expect("grad_output", *grad_output, c, "group*group_channels")).empty()) return e;
  // Sizes the input did not know came from the other tensors: the output must still fit.
  if (!(e = check_output_elements()).empty()) return e;
  // InternImage clamps the step to the batch, then requires it to divide the batch.
  const int64_t batch = out_dims[0];
  const int64_t step = a.im2col_step < batch ? a.im2col_step : batch;
  if (batch > 0 && batch % step != 0)
    return "im2col_step must divide the batch size: im2col_step=" + std::to_string(a.im2col_step) +
           ", batch=" + std::to_string(batch);
  if (problem) {
    problem->batch = batch;
    problem->height_in = h;
    problem->width_in = w;
    problem->height_out = out_dims[1];
    problem->width_out = out_dims[2];
    problem->channels = c;
    problem->points = p;
    problem->attrs = a;
  }
  return "";
}

}  // namespace dcnv3
