"""InternImage's functional API (ops_dcnv3.functions) on top of this package.

DCNv3Function keeps InternImage's call `DCNv3Function.apply(input, offset, mask, kernel_h, ...,
im2col_step[, remove_center])` but is not a torch.autograd.Function: it calls the registered op
torch.ops.npu.dcnv3 directly, which carries its own autograd formula (npu::dcnv3_backward), fake
kernel and device kernels, so eager autograd, torch.compile and opcheck all see one op.
dcnv3_core_pytorch keeps InternImage's pure-PyTorch signature (no im2col_step) and runs our
grid_sample fallback.
"""
import torch
from torch.onnx import symbolic_helper

from .fallback import dcnv3_fallback

# The ONNX domain and op name InternImage exports and mmdeploy's TensorRT plugin consumes.
ONNX_OP_NAME = "mmdeploy::TRTDCNv3"


class DCNv3Function:
    """InternImage's DCNv3Function call convention over torch.ops.npu.dcnv3."""

    @staticmethod
    def apply(input, offset, mask, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h,
              dilation_w, group, group_channels, offset_scale, im2col_step, remove_center=0):
        # InternImage's DCNv3 module passes remove_center as an int, older callers leave it out.
        return torch.ops.npu.dcnv3(input, offset, mask, kernel_h, kernel_w, stride_h, stride_w, pad_h,
                                   pad_w, dilation_h, dilation_w, group, group_channels,
                                   float(offset_scale), im2col_step, int(remove_center))

    @staticmethod
    @symbolic_helper.parse_args("v", "v", "v", "i", "i", "i", "i", "i", "i", "i", "i", "i", "i", "f", "i", "i")
    def symbolic(g, input, offset, mask, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h,
                 dilation_w, group, group_channels, offset_scale, im2col_step, remove_center):
        """One mmdeploy::TRTDCNv3 node with InternImage's attribute names (`*_i` ints, `*_f` floats).

        Usable as `torch.onnx.register_custom_op_symbolic("npu::dcnv3", DCNv3Function.symbolic, 11)`:
        parse_args turns the TorchScript constants of the op's attributes into Python numbers.
        """
        return g.op(ONNX_OP_NAME, input, offset, mask,
                    kernel_h_i=kernel_h, kernel_w_i=kernel_w, stride_h_i=stride_h, stride_w_i=stride_w,
                    pad_h_i=pad_h, pad_w_i=pad_w, dilation_h_i=dilation_h, dilation_w_i=dilation_w,
                    group_i=group, group_channels_i=group_channels, offset_scale_f=offset_scale,
                    im2col_step_i=im2col_step, remove_center_i=remove_center)


def dcnv3_core_pytorch(input, offset, mask, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                       dilation_h, dilation_w, group, group_channels, offset_scale, remove_center):
    """InternImage's pure-PyTorch DCNv3, with the CUDA op's semantics.

    InternImage's own version pads H by pad_w and W by pad_h; this one follows the CUDA op (and
    so agrees with DCNv3Function) for pad_h != pad_w as well.
    """
    # im2col_step only batches kernel work; 1 divides every batch size.
    return dcnv3_fallback(input, offset, mask, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                          dilation_h, dilation_w, group, group_channels, offset_scale, 1,
                          int(remove_center))
