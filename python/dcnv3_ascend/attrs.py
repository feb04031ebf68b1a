"""The 13 DCNv3 attributes as one value, in the order of npu::dcnv3's schema: their names,
order, types and defaults are written down here once for the Python side (the C++ side has
dcnv3::AttrIndex / kAttrNames in op_host/dcnv3_contract.h, which this mirrors).

Python code takes a Dcnv3Attrs (the reference, the fallback, verify, bench, the simulator
report, ONNX export) and splats `attrs.args()` where it calls the op. The 13 positional
arguments remain only where InternImage's call conventions or the schema require them
(DCNv3Function, dcnv3_core_pytorch, compat's DCNv3 extension, the modules' call into the op).
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
        remove_center = int(self.remove_center) if isinstance(self.remove_center, bool) else self.remove_center
        return (*dataclasses.astuple(self)[:10], float(self.offset_scale), self.im2col_step, remove_center)

    @property
    def points(self):
        """Sampling points per group, P."""
        return self.kernel_h * self.kernel_w - self.remove_center

    @property
    def channels(self):
        return self.group * self.group_channels

    def output_size(self, height, width):
        """(H_out, W_out) for an input of height x width."""
        h_out = (height + 2 * self.pad_h - (self.dilation_h * (self.kernel_h - 1) + 1)) // self.stride_h + 1
        w_out = (width + 2 * self.pad_w - (self.dilation_w * (self.kernel_w - 1) + 1)) // self.stride_w + 1
        return h_out, w_out


# {name: True for the float attribute (offset_scale), False for the int ones}, schema order.
ATTRIBUTE_IS_FLOAT = {f.name: f.type is float for f in dataclasses.fields(Dcnv3Attrs)}
