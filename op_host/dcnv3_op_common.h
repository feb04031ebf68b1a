// Host code shared by the Dcnv3 and Dcnv3Grad OpDefs: the op's tensors and attributes, InferShape,
// InferDataType and the TilingFunc. The TilingFunc only adapts the CANN context to the pure-C++
// plan (dcnv3_tiling_plan.h); shapes and attributes are checked by the shared contract
// (dcnv3_contract.h), the same code the torch extension and the ONNX plugin use.
#pragma once

#include <cstdio>
#include <string>

#include "register/op_def_registry.h"
#include "tiling/platform/platform_ascendc.h"

#include "dcnv3_contract.h"
#include "dcnv3_grad_outputs.h"
#include "dcnv3_tiling.h"
#include "dcnv3_tiling_plan.h"

namespace dcnv3_host {

// Custom-op libraries built by the msOpGen flow do not link the GE log; stderr reaches the
// console and the plog of the process that runs the graph.
inline ge::graphStatus Fail(const char* op, const std::string& message) {
  std::fprintf(stderr, "[ERROR] %s: %s\n", op, message.c_str());
  return ge::GRAPH_FAILED;
}

inline const char* OpName(bool backward) { return backward ? "Dcnv3Grad" : "Dcnv3"; }

inline const char* InputName(int index) {
  static const char* const kNames[] = {"input", "offset", "mask", "grad_output"};
  return kNames[index];
}

inline std::string ReadAttrs(const gert::RuntimeAttrs* attrs, dcnv3::Attrs* a) {
  if (attrs == nullptr) return "attributes are missing";
  for (int i = 0; i < dcnv3::kAttrCount; ++i) {
    if (i == dcnv3::kOffsetScale) {
      const float* v = attrs->GetFloat(i);
      if (v == nullptr) return std::string("attribute ") + dcnv3::kAttrNames[i] + " (float) is missing";
      a->offset_scale = *v;
    } else {
      const int64_t* v = attrs->GetInt(i);
      if (v == nullptr) return std::string("attribute ") + dcnv3::kAttrNames[i] + " (int) is missing";
      *dcnv3::IntAttrField(a, i) = *v;
    }
  }
  return "";
}

struct ShapeDims {
  int64_t d[gert::Shape::kMaxDimNum];
  int64_t rank;
  dcnv3::Dims View() const { return dcnv3::Dims{d, rank}; }
};

inline ShapeDims ToDims(const gert::Shape& s) {
  ShapeDims out{};
  out.rank = static_cast<int64_t>(s.GetDimNum());
  for (int64_t i = 0; i < out.rank; ++i) out.d[i] = s.GetDim(static_cast<size_t>(i));
  return out;
}

// shapes: input, offset, mask and, for the backward, grad_output (null entries are reported).
// allow_unknown: InferShape's shapes, which may hold GE's placeholders (see ValidateShapes).
inline std::string CheckProblem(const gert::Shape* const* shapes, bool backward, const gert::RuntimeAttrs* attrs,
                                dcnv3::Problem* problem, bool allow_unknown = false) {
  const int count = backward ? 4 : 3;
  ShapeDims dims[4];
  for (int i = 0; i < count; ++i) {
    if (shapes[i] == nullptr) return std::string("shape of ") + InputName(i) + " is missing";
    dims[i] = ToDims(*shapes[i]);
  }
  dcnv3::Attrs a;
  std::string e = ReadAttrs(attrs, &a);
  if (!e.empty()) return e;
  const dcnv3::Dims grad = dims[3].View();
  return dcnv3::ValidateShapes(dims[0].View(), dims[1].View(), dims[2].View(), backward ? &grad : nullptr, a, problem,
                               allow_unknown);
}

inline bool ToDataType(ge::DataType t, dcnv3::DataType* out) {
  switch (t) {
    case ge::DT_FLOAT: *out = dcnv3::DataType::kFloat32; return true;
    case ge::DT_FLOAT16: *out = dcnv3::DataType::kFloat16; return true;
    case ge::DT_BF16: *out = dcnv3::DataType::kBFloat16; return true;
    default: return false;
  }
}

// Dcnv3: output = [N, H_out, W_out, group * group_channels].
// Dcnv3Grad: grad_input, grad_offset, grad_mask have the shapes of input, offset, mask.
// A graph compiled for shapes known only at run time passes GE's placeholders (-1 sizes, {-2}
// ranks); the output then has -1 where no input knows the size, and the tiling sees real shapes.
inline ge::graphStatus InferShape(gert::InferShapeContext* ctx, bool backward) {
  const gert::Shape* shapes[4] = {};
  for (int i = 0; i < (backward ? 4 : 3); ++i) shapes[i] = ctx->GetInputShape(i);
  dcnv3::Problem p;
  const std::string e = CheckProblem(shapes, backward, ctx->GetAttrs(), &p, /*allow_unknown=*/true);
  if (!e.empty()) return Fail(OpName(backward), e);
  if (backward) {
    for (int i = 0; i < 3; ++i) {
      gert::Shape* out = ctx->GetOutputShape(i);
      if (out == nullptr) return Fail(OpName(backward), "output shape is missing");
      *out = *shapes[i];
    }
    return ge::GRAPH_SUCCESS;
  }
  gert::Shape* out = ctx->GetOutputShape(0);
  if (out == nullptr) return Fail(OpName(backward), "output shape is missing");
  out->SetDimNum(4);
  out->SetDim(0, p.batch);
  out->SetDim(1, p.height_out);
  out->SetDim(2, p.width_out);
  out->SetDim(3, p.channels);
  return ge::GRAPH_SUCCESS;
}

// Forward: output has the input's dtype. Backward: grad_input is float32 (the fp32 accumulator,
// dcnv3_grad_outputs.h); grad_offset and grad_mask have the dtypes of offset and mask.
inline ge::graphStatus InferDataType(gert::InferDataTypeContext* ctx, bool backward) {
  if (!backward) return ctx->SetOutputDataType(0, ctx->GetInputDataType(0));
  ge::graphStatus s = ctx->SetOutputDataType(0, ge::DT_FLOAT);
  for (int i = 1; i < 3 && s == ge::GRAPH_SUCCESS; ++i) s = ctx->SetOutputDataType(i, ctx->GetInputDataType(i));
  return s;
}

inline ge::graphStatus Tiling(gert::TilingContext* ctx, bool backward) {
  const char* op = OpName(backward);
  const gert::Shape* shapes[4] = {};
  for (int i = 0; i < (backward ? 4 : 3); ++i) {
    const gert::StorageShape* s = ctx->GetInputShape(i);
    shapes[i] = s == nullptr ? nullptr : &s->GetStorageShape();
  }
  dcnv3::Problem p;
  std::string e = CheckProblem(shapes, backward, ctx->GetAttrs(), &p);
  if (!e.empty()) return Fail(op, e);
  const gert::CompileTimeTensorDesc* desc = ctx->GetInputDesc(dcnv3::kInput);
  dcnv3::DataType dtype;
  if (desc == nullptr || !ToDataType(desc->GetDataType(), &dtype))
    return Fail(op, "input dtype must be float32, float16 or bfloat16");

  platform_ascendc::PlatformAscendC platform(ctx->GetPlatformInfo());
  uint64_t ub_bytes = 0;
  platform.GetCoreMemSize(platform_ascendc::CoreMemType::UB, ub_bytes);
  const dcnv3::SocInfo soc{static_cast<int64_t>(platform.GetCoreNumAiv()), static_cast<int64_t>(ub_bytes)};
  if (soc.vector_core_num <= 0) return Fail(op, "platform reports no vector cores");
  dcnv3::TilingPlan plan{};
  e = dcnv3::PlanTiling(p, dtype, soc, backward, &plan);
  if (!e.empty()) return Fail(op, e);

  optiling::Dcnv3TilingData data;
#define DCNV3_SET_FIELD(type, name) data.set_##name(plan.data.name);
  DCNV3_TILING_FIELDS(DCNV3_SET_FIELD)
#undef DCNV3_SET_FIELD
  gert::TilingData* raw = ctx->GetRawTilingData();
  if (raw == nullptr || data.GetDataSize() > raw->GetCapacity()) return Fail(op, "tiling buffer too small");
  data.SaveToBuffer(raw->GetData(), raw->GetCapacity());
  raw->SetDataSize(data.GetDataSize());
  ctx->SetBlockDim(plan.block_dim);
  ctx->SetTilingKey(plan.tiling_key);
  // The framework applies the outputs' InitValue only for operators that say they need it.
  if (backward && dcnv3::kGradInputZeroedBeforeLaunch) ctx->SetNeedAtomic(true);
  size_t* workspace = ctx->GetWorkspaceSizes(1);
  if (workspace == nullptr) return Fail(op, "workspace sizes unavailable");
  workspace[0] = plan.workspace_bytes + platform.GetLibApiWorkSpaceSize();
  return ge::GRAPH_SUCCESS;
}

// Inputs and outputs: float32, float16 or bfloat16, all of one dtype, ND (except Dcnv3Grad's
// grad_input, DefineGradInput).
inline ops::OpParamDef& DefineTensor(ops::OpParamDef& param) {
  return param.ParamType(ops::REQUIRED)
      .DataType({ge::DT_FLOAT, ge::DT_FLOAT16, ge::DT_BF16})
      .Format({ge::FORMAT_ND, ge::FORMAT_ND, ge::FORMAT_ND})
      .UnknownShapeFormat({ge::FORMAT_ND, ge::FORMAT_ND, ge::FORMAT_ND});
}

// Dcnv3Grad's grad_input: float32 for each of the three input dtypes, zeroed by the framework
// before the launch (dcnv3_grad_outputs.h; InitValue(0) supports float32).
inline void DefineGradInput(ops::OpDef& def) {
  ops::OpParamDef& param = def.Output("grad_input")
                               .ParamType(ops::REQUIRED)
                               .DataType({ge::DT_FLOAT, ge::DT_FLOAT, ge::DT_FLOAT})
                               .Format({ge::FORMAT_ND, ge::FORMAT_ND, ge::FORMAT_ND})
                               .UnknownShapeFormat({ge::FORMAT_ND, ge::FORMAT_ND, ge::FORMAT_ND});
  if (dcnv3::kGradInputZeroedBeforeLaunch) param.InitValue(0);
}

// The kernels index dense NHWC tensors: the framework makes strided inputs contiguous first.
inline void DefineInputs(ops::OpDef& def, bool backward) {
  for (int i = 0; i < (backward ? 4 : 3); ++i) DefineTensor(def.Input(InputName(i))).AutoContiguous();
}

// The 13 attributes in contract order; all required (the torch and ONNX front ends always pass them).
inline void DefineAttrs(ops::OpDef& def) {
  for (int i = 0; i < dcnv3::kAttrCount; ++i) {
    ops::OpAttrDef& attr = def.Attr(dcnv3::kAttrNames[i]).AttrType(ops::REQUIRED);
    if (i == dcnv3::kOffsetScale)
      attr.Float();
    else
      attr.Int();
  }
}

// SoCs: the kernels use DataCopyPad and fp32 atomic DMA adds, which the docs list for
// Atlas A2 (ascend910b) and A3 (ascend910_93) but not for Atlas 300I/V Pro (ascend310p).
inline void DefineAICore(ops::OpDef& def, gert::OpImplRegisterV2::TilingKernelFunc tiling) {
  def.AICore().SetTiling(tiling);
  def.AICore().AddConfig("ascend910b");
  def.AICore().AddConfig("ascend910_93");
}

}  // namespace dcnv3_host
