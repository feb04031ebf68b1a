"""The 13 DCNv3 attributes as one value, in the order of npu::dcnv3's schema.

Tools that pass the same attributes to several implementations (verify, bench, the simulator
report) keep them in a Dcnv3Attrs and splat `attrs.args()` after the tensors, so the order is
written down once (it mirrors dcnv3::AttrIndex in op_host/dcnv3_contract.h).
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
        """The attributes as positional arguments, schema order."""
        return dataclasses.astuple(self)

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
