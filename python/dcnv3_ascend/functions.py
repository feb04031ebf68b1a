"""InternImage's functional API (ops_dcnv3.functions) on top of this package.

DCNv3Function keeps InternImage's call `DCNv3Function.apply(input, offset, mask, kernel_h, ...,
im2col_step[, remove_center])` but is not a torch.autograd.Function: it calls the registered op
torch.ops.npu.dcnv3 directly, which carries its own autograd formula (npu::dcnv3_backward), fake
kernel and device kernels, so eager autograd, torch.compile and opcheck all see one op.
dcnv3_core_pytorch keeps InternImage's pure-PyTorch signature (no im2col_step) and runs our
grid_sample fallback. ONNX export of the op (including InternImage's mmdeploy::TRTDCNv3 node)
lives in dcnv3_ascend.onnx.
"""

import torch

from . import _checks
from .attrs import Dcnv3Attrs
from .fallback import dcnv3_fallback


class DCNv3Function:
    """InternImage's DCNv3Function call convention over torch.ops.npu.dcnv3."""

    @staticmethod
    def apply(
        input,
        offset,
        mask,
        kernel_h,
        kernel_w,
        stride_h,
        stride_w,
        pad_h,
        pad_w,
        dilation_h,
        dilation_w,
        group,
        group_channels,
        offset_scale,
        im2col_step,
        remove_center=0,
    ):
        # InternImage's DCNv3 module passes remove_center as an int, older callers leave it out.
        # The schema would take offset_scale="2" or remove_center=0.5 after float() and int(),
        # and a float tensor (tensor(1.5)) for any integer attribute after truncating it.
        args = _checks.attr_args(locals())  # first: its parameters are all it holds
        return torch.ops.npu.dcnv3(input, offset, mask, *args)


def dcnv3_core_pytorch(
    input,
    offset,
    mask,
    kernel_h,
    kernel_w,
    stride_h,
    stride_w,
    pad_h,
    pad_w,
    dilation_h,
    dilation_w,
    group,
    group_channels,
    offset_scale,
    remove_center=0,
):
    """InternImage's pure-PyTorch DCNv3, with the CUDA op's semantics. remove_center is optional:
    InternImage's detection and segmentation versions end at offset_scale.

    InternImage's own version pads H by pad_w and W by pad_h; this one follows the CUDA op (and
    so agrees with DCNv3Function) for pad_h != pad_w as well.
    """
    # im2col_step only batches kernel work; 1 divides every batch size.
    attrs = Dcnv3Attrs(
        kernel_h,
        kernel_w,
        stride_h,
        stride_w,
        pad_h,
        pad_w,
        dilation_h,
        dilation_w,
        group,
        group_channels,
        offset_scale,
        im2col_step=1,
        remove_center=remove_center,
    )
    # As InternImage's does, it takes NumPy and one-element tensor integers.
    return dcnv3_fallback(input, offset, mask, _checks.as_python_attrs(attrs))
