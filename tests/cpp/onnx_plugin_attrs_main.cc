// Test driver of the ONNX plugin's attribute reading (framework/onnx_plugin/dcnv3_onnx_attrs.h),
// which needs no CANN: reads GE's attribute JSON from stdin and prints the 13 DCNv3 attributes as
// name=value lines in contract order, or "error: <message>" and exit status 1.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <string>

#include "dcnv3_onnx_attrs.h"

int main() {
  const std::string json((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  std::map<std::string, dcnv3_onnx::OnnxAttribute> onnx_attrs;
  std::string error = dcnv3_onnx::ParseOnnxAttributes(json, &onnx_attrs);
  dcnv3::Attrs attrs;
  if (error.empty()) error = dcnv3_onnx::ReadDcnv3Attrs(onnx_attrs, &attrs);
  if (!error.empty()) {
    std::printf("error: %s\n", error.c_str());
    return 1;
  }
  for (int index = 0; index < dcnv3::kAttrCount; ++index) {
    if (index == dcnv3::kOffsetScale)
      std::printf("%s=%.9g\n", dcnv3::kAttrNames[index], attrs.offset_scale);
    else
      std::printf("%s=%lld\n", dcnv3::kAttrNames[index], static_cast<long long>(*dcnv3::IntAttrField(&attrs, index)));
  }
  return 0;
}
