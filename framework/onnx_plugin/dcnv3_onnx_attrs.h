// Maps the attributes of a DCNv3 ONNX node onto dcnv3::Attrs, for the ONNX plugin. Both node
// forms carry InternImage's attribute names (dcnv3::kAttrNames): our exporter's
// dcnv3_ascend::Dcnv3 and InternImage's mmdeploy::TRTDCNv3 (whose symbolic writes kernel_h_i=...,
// which the exporter stores as the INT attribute "kernel_h").
#pragma once

#include <map>
#include <string>

#include "dcnv3_contract.h"
#include "onnx_attr_json.h"

namespace dcnv3_onnx {

// Fills *attrs from the node's attributes and validates them. Every attribute is required except
// remove_center, which InternImage exports before DCNv3 v1.1 lack (it then means 0). Returns ""
// or a message naming the attribute.
inline std::string ReadDcnv3Attrs(const std::map<std::string, OnnxAttribute>& onnx, dcnv3::Attrs* attrs) {
  for (int index = 0; index < dcnv3::kAttrCount; ++index) {
    const std::string name = dcnv3::kAttrNames[index];
    const auto it = onnx.find(name);
    if (it == onnx.end()) {
      if (index == dcnv3::kRemoveCenter) {
        attrs->remove_center = 0;
        continue;
      }
      return "DCNv3 node has no attribute '" + name + "'";
    }
    const bool is_float = index == dcnv3::kOffsetScale;
    const char* expected = is_float ? "FLOAT" : "INT";
    if (!it->second.type.empty() && it->second.type != expected)
      return "attribute '" + name + "' must be of type " + expected + ", got " + it->second.type;
    if (is_float)
      attrs->offset_scale = static_cast<float>(it->second.float_value);
    else
      *dcnv3::IntAttrField(attrs, index) = it->second.int_value;
  }
  return dcnv3::ValidateAttrs(*attrs);
}

}  // namespace dcnv3_onnx
