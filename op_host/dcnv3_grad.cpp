// OpDef of Dcnv3Grad, the DCNv3 backward: inputs input, offset, mask, grad_output; outputs
// grad_input (float32, zeroed by the framework: dcnv3_grad_outputs.h), grad_offset, grad_mask; the
// 13 attributes of npu::dcnv3_backward. Shape inference, dtype inference and tiling are shared with
// Dcnv3 (dcnv3_op_common.h).
#include "dcnv3_op_common.h"

namespace {

ge::graphStatus InferShapeDcnv3Grad(gert::InferShapeContext* ctx) { return dcnv3_host::InferShape(ctx, true); }
ge::graphStatus InferDataTypeDcnv3Grad(gert::InferDataTypeContext* ctx) { return dcnv3_host::InferDataType(ctx, true); }
ge::graphStatus TilingDcnv3Grad(gert::TilingContext* ctx) { return dcnv3_host::Tiling(ctx, true); }

}  // namespace

namespace optiling {
REGISTER_TILING_DATA_CLASS(Dcnv3Grad, Dcnv3TilingData)
}  // namespace optiling

namespace ops {

class Dcnv3Grad : public OpDef {
 public:
  explicit Dcnv3Grad(const char* name) : OpDef(name) {
    dcnv3_host::DefineInputs(*this, true);
    dcnv3_host::DefineGradInput(*this);
    dcnv3_host::DefineTensor(this->Output("grad_offset"));
    dcnv3_host::DefineTensor(this->Output("grad_mask"));
    dcnv3_host::DefineAttrs(*this);
    this->SetInferShape(InferShapeDcnv3Grad).SetInferDataType(InferDataTypeDcnv3Grad);
    dcnv3_host::DefineAICore(*this, TilingDcnv3Grad);
  }
};

OP_ADD(Dcnv3Grad);

}  // namespace ops
