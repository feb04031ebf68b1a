"""The 13 DCNv3 attributes as one value, in the order of npu::dcnv3's schema: their names,
order, types and defaults are written down here once for the Python side (the C++ side has
DCNV3_ATTRS in op_host/dcnv3_attr_list.h, which this mirrors). So is the output-size formula.

Python code takes a Dcnv3Attrs (the reference, the fallback and its argument checks, the
simulator, verify, bench, ONNX export) and splats `attrs.args()` where it calls the op. The 13
positional arguments remain only where InternImage's call conventions or the schema require them
(DCNv3Function, dcnv3_core_pytorch, compat's DCNv3 extension, the modules' call into the op);
tests/test_attribute_list.py keeps it so.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Dcnv3Attrs:
    kernel_h: int = 3
    kernel_w: int = 3
    stride_h: int = 1
    stride_w: int = 1
    pad_h: int = 1
    pad_w: int = 1
    dilation_h: int = 1
    dilation_w: int = 1
    group: int = 1
    group_channels: int = 16
    offset_scale: float = 1.0
    # InternImage's DCNv3 module passes 256; the ops clamp it to the batch.
    im2col_step: int = 256
    remove_center: int = 0

    def args(self):
        """The attributes as positional arguments, schema order, typed as the schema wants them
        (offset_scale float, remove_center int even when given as a bool)."""
        # Attribute by attribute: dataclasses.astuple deep-copies every value (~10 us a call).
        values = [getattr(self, name) for name in ATTRIBUTE_IS_FLOAT]
        remove_center = int(self.remove_center) if isinstance(self.remove_center, bool) else self.remove_center
        return (*values[:10], float(self.offset_scale), self.im2col_step, remove_center)

    @property
    def points(self):
        """Sampling points per group, P."""
        return self.kernel_h * self.kernel_w - self.remove_center

    @property
    def channels(self):
        return self.group * self.group_channels

    @property
    def kernel_span(self):
        """(span_h, span_w): the extent of the dilated kernel along each axis."""
        return _kernel_span(self.dilation_h, self.kernel_h), _kernel_span(self.dilation_w, self.kernel_w)

    @property
    def kernel_half(self):
        """(half_h, half_w): (span - 1) // 2 along each axis, how far the window's centre lies
        from its first tap (half_h and half_w of InternImage's CUDA op)."""
        return tuple((span - 1) // 2 for span in self.kernel_span)

    def output_size(self, height, width):
        """(H_out, W_out) for an input of height x width; the attributes must be valid."""
        return (
            _output_extent(height, self.pad_h, self.dilation_h, self.kernel_h, self.stride_h),
            _output_extent(width, self.pad_w, self.dilation_w, self.kernel_w, self.stride_w),
        )


def _kernel_span(dilation, kernel):
    """Extent of the dilated kernel along one axis (dcnv3::KernelSpan)."""
    return dilation * (kernel - 1) + 1


def _output_extent(size, pad, dilation, kernel, stride):
    """Output extent along one axis (dcnv3::OutputSize): the output-size formula, once in Python."""
    return (size + 2 * pad - _kernel_span(dilation, kernel)) // stride + 1


# {name: True for the float attribute (offset_scale), False for the int ones}, schema order.
ATTRIBUTE_IS_FLOAT = {f.name: f.type is float for f in dataclasses.fields(Dcnv3Attrs)}
