// OpDef of Dcnv3, the DCNv3 forward: inputs input, offset, mask; output output; the 13 attributes
// of npu::dcnv3. Shape inference, dtype inference and tiling are shared with Dcnv3Grad
// (dcnv3_op_common.h).
#include "dcnv3_op_common.h"

namespace {

ge::graphStatus InferShapeDcnv3(gert::InferShapeContext* ctx) { return dcnv3_host::InferShape(ctx, false); }
ge::graphStatus InferDataTypeDcnv3(gert::InferDataTypeContext* ctx) { return dcnv3_host::InferDataType(ctx, false); }
ge::graphStatus TilingDcnv3(gert::TilingContext* ctx) { return dcnv3_host::Tiling(ctx, false); }

}  // namespace

namespace optiling {
REGISTER_TILING_DATA_CLASS(Dcnv3, Dcnv3TilingData)
}  // namespace optiling

namespace ops {

class Dcnv3 : public OpDef {
 public:
  explicit Dcnv3(const char* name) : OpDef(name) {
    dcnv3_host::DefineInputs(*this, false);
    dcnv3_host::DefineTensor(this->Output("output"));
    dcnv3_host::DefineAttrs(*this);
    this->SetInferShape(InferShapeDcnv3).SetInferDataType(InferDataTypeDcnv3);
    dcnv3_host::DefineAICore(*this, TilingDcnv3);
  }
};

OP_ADD(Dcnv3);

}  // namespace ops
