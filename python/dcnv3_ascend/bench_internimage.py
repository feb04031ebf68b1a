"""The whole-model benchmark's reference point: DCNv3 as InternImage's own pure-PyTorch module
computes it (ops_dcnv3's DCNv3_pytorch), what users run today where the CUDA op is missing.

Written here from that formulation's description, for timing only: the input is zero-padded in
NHWC and turned into N*G channel-first group images; every sampling location is built in
coordinates normalised to the padded image (reference point + dilation grid, both scaled, plus
the offsets over the padded size); one grid_sample reads [N*G, Ho*Wo, P, 2] grids, points last,
and the mask-weighted sum runs over that last axis. This package's own grid_sample port
(fallback.py, behind DCNv3_pytorch) orders the grids points-first instead, which makes that sum
add contiguous rows, and holds the CUDA op's boundary and NaN rules; summed over InternImage-T's
layers, its mask softmax + sampling takes about 1.3x less time (1.0-1.5x in eight runs) than
this formulation's (inference or training step), so the bench reports speed-ups against both.

Outputs agree with the CUDA op's semantics for finite offsets away from the image border's exact
edges (tests/test_bench_internimage.py); the border and NaN rules are not this module's job.
"""

import torch
import torch.nn.functional as F

from .attrs import Dcnv3Attrs
from .fallback import kernel_taps
from .modules import _DCNv3Base


def internimage_formulation(input, offset, mask, attrs):
    """DCNv3 forward (NHWC, a Dcnv3Attrs) the way InternImage's DCNv3_pytorch computes it."""
    a = attrs
    n_batch, _, _, channels = input.shape
    _, h_out, w_out, _ = offset.shape
    group, group_channels, points = a.group, a.group_channels, a.points
    padded = F.pad(input, (0, 0, a.pad_w, a.pad_w, a.pad_h, a.pad_h))  # N, Hp, Wp, C
    _, height, width, _ = padded.shape
    extent = torch.tensor([width, height], dtype=torch.float32, device=input.device)  # (x, y)

    # Window centres of the padded image, (x, y) in [0, 1]: Ho, Wo, 1, 2.
    half = torch.tensor(a.kernel_half[::-1], dtype=torch.float32, device=input.device)
    ys = torch.arange(h_out, device=input.device) * a.stride_h + half[1] + 0.5
    xs = torch.arange(w_out, device=input.device) * a.stride_w + half[0] + 0.5
    centre_y, centre_x = torch.meshgrid(ys, xs, indexing="ij")
    centres = torch.stack([centre_x, centre_y], dim=-1).unsqueeze(2) / extent
    # Each group's taps around the centre, normalised: G*P, 2.
    taps = ((kernel_taps(a, input.device) - half) / extent).repeat(group, 1)
    # N, Ho, Wo, G*P, 2 -> grid_sample's [-1, 1] -> N*G, Ho*Wo, P, 2
    locations = (centres + taps * a.offset_scale).expand(n_batch, -1, -1, -1, -1)
    locations = locations + offset.view(n_batch, h_out, w_out, group * points, 2) * a.offset_scale / extent
    grid = (2 * locations - 1).view(n_batch, h_out * w_out, group, points, 2).transpose(1, 2).flatten(0, 1)

    # N, Hp, Wp, C -> N, C, Hp*Wp -> N*G, group_channels, Hp, Wp
    images = padded.view(n_batch, height * width, channels).transpose(1, 2)
    images = images.reshape(n_batch * group, group_channels, height, width)
    sampled = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    # N, Ho, Wo, G*P -> N*G, 1, Ho*Wo, P
    weights = mask.view(n_batch, h_out * w_out, group, points).transpose(1, 2)
    weights = weights.reshape(n_batch * group, 1, h_out * w_out, points)
    out = (sampled * weights).sum(-1).view(n_batch, channels, h_out * w_out)
    return out.transpose(1, 2).reshape(n_batch, h_out, w_out, channels).contiguous()


class InternImageDCNv3Pytorch(_DCNv3Base):
    """InternImage's DCNv3_pytorch block: the same parameters as DCNv3, sampling with
    internimage_formulation."""

    def _sample(self, x, offset, mask_logits):
        attrs = Dcnv3Attrs(*self._attrs(), remove_center=self.remove_center)
        return internimage_formulation(x, offset, self._softmax_mask(mask_logits, x.dtype), attrs)
