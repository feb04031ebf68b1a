// ATC's ONNX plugin for OpType Dcnv3 (built into libcust_onnx_parsers.so, which GE loads from
// opp/vendors/<vendor>/framework/onnx/). It maps one DCNv3 node onto one Dcnv3 operator and copies
// the 13 attributes, checked with the same contract as the torch op and the kernels.
//
// Node forms accepted (OriginOpType is "<domain>::<opset of that domain>::<node type>"):
//   dcnv3_ascend::1::Dcnv3      written by dcnv3_ascend.onnx (python/dcnv3_ascend/onnx.py)
//   mmdeploy::1::TRTDCNv3       written by InternImage's DCNv3Function.symbolic
//   ai.onnx::<9..24>::Dcnv3 / ::TRTDCNv3
//                               the same nodes moved into the default domain: ATC rejects a model
//                               that imports more than one opset when any node has an empty
//                               domain (error E16005), so python -m dcnv3_ascend.onnx --for-atc
//                               moves them there; the node then takes the default opset version.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "graph/operator.h"
#include "register/register.h"

#include "dcnv3_onnx_attrs.h"

namespace domi {
namespace {

constexpr const char* kOpType = "Dcnv3";
constexpr const char* kNodeTypes[] = {"Dcnv3", "TRTDCNv3"};
constexpr int kMinDefaultOpset = 9;
constexpr int kMaxDefaultOpset = 24;

std::vector<ge::AscendString> OriginOpTypes() {
  std::vector<ge::AscendString> types = {ge::AscendString("dcnv3_ascend::1::Dcnv3"),
                                         ge::AscendString("mmdeploy::1::TRTDCNv3")};
  for (const char* node_type : kNodeTypes) {
    for (int opset = kMinDefaultOpset; opset <= kMaxDefaultOpset; ++opset) {
      types.emplace_back(("ai.onnx::" + std::to_string(opset) + "::" + node_type).c_str());
    }
  }
  return types;
}

Status ParseDcnv3Params(const ge::Operator& op_src, ge::Operator& op_dest) {
  ge::AscendString node_name;
  (void)op_src.GetName(node_name);
  auto fail = [&node_name](const std::string& why) {
    std::fprintf(stderr, "[DCNv3 ONNX plugin] node '%s': %s\n", node_name.GetString(), why.c_str());
    return FAILED;
  };
  ge::AscendString json;
  if (op_src.GetAttr("attribute", json) != ge::GRAPH_SUCCESS || json.GetString() == nullptr)
    return fail("the node has no attributes; a DCNv3 node carries kernel_h ... remove_center");

  std::map<std::string, dcnv3_onnx::OnnxAttribute> onnx_attrs;
  std::string error = dcnv3_onnx::ParseOnnxAttributes(json.GetString(), &onnx_attrs);
  if (!error.empty()) return fail(error);
  dcnv3::Attrs attrs;
  error = dcnv3_onnx::ReadDcnv3Attrs(onnx_attrs, &attrs);
  if (!error.empty()) return fail(error);

  for (int index = 0; index < dcnv3::kAttrCount; ++index) {
    if (index == dcnv3::kOffsetScale) {
      op_dest.SetAttr(dcnv3::kAttrNames[index], attrs.offset_scale);
    } else {
      op_dest.SetAttr(dcnv3::kAttrNames[index], *dcnv3::IntAttrField(&attrs, index));
    }
  }
  return SUCCESS;
}

}  // namespace

REGISTER_CUSTOM_OP(kOpType)
    .FrameworkType(ONNX)
    .OriginOpType(OriginOpTypes())
    .ParseParamsByOperatorFn(ParseDcnv3Params)
    .ImplyType(ImplyType::TVM);

}  // namespace domi
