"""DCNv3 in plain PyTorch, built on one F.grid_sample call.

Two jobs: it runs DCNv3 where the compiled extension is missing (any device, differentiable by
autograd), and it is the baseline the benchmarks compare our kernels against, so it is written
to be as fast as a grid_sample formulation gets: no Python loop over points or pixels, static
shapes, one grid_sample over all N*G group images with [N*G, P, Ho*Wo] sampling grids (the
weighted sum over points then adds contiguous rows), and the offset permute fused into the first
add. On CPU it takes about 1.3x less time (0.9-1.5x in eighteen runs) than InternImage's own
grid_sample version (re-created for the whole-model bench in bench_internimage.py) summed over
InternImage-T's layers, in inference or a training step (mask softmax included), and holds the
three rules below, which that version skips.

Semantics are those of dcnv3_ascend.reference (InternImage's CUDA op), including three rules a
naive grid_sample port gets wrong:
  * a point with loc_h <= -1, loc_w <= -1, loc_h >= H or loc_w >= W contributes nothing and gets
    no offset gradient, even on the boundary itself where grid_sample's gradient is non-zero
    (the test runs on pixel-space locations computed as the CUDA op computes them);
  * a NaN/Inf offset makes its point contribute 0 with zero gradients (the NaN never reaches
    grid_sample, and never leaks into gradients);
  * a point exactly on a pixel (every point at InternImage's initialisation) takes the CUDA op's
    one-sided bilinear gradient: the image is zero-padded to power-of-two sides so that the trip
    through grid_sample's normalised coordinates is exact (see _padded_size).
fp16/bf16 inputs are computed in float32 and the result cast back.
"""

import torch
import torch.nn.functional as F

from ._checks import check_dcnv3_args

# Where invalid coordinates are sent, in grid_sample's normalised units: (-3*W - 1)/2 <= -2 px,
# so both bilinear corners along that axis read the zero padding and value and gradients there
# are exactly 0 (the other coordinate may stay valid: its gradient is 0 too).
_OUTSIDE = -4.0


def kernel_taps(attrs, device=None, dtype=torch.float32):
    """(i*dilation_w, j*dilation_h) of every sampling point of a Dcnv3Attrs in DCNv3's order
    (kernel_w outer, kernel_h inner, the centre dropped with remove_center): [P, 2]."""
    a = attrs
    i = torch.arange(a.kernel_w, device=device).repeat_interleave(a.kernel_h)
    j = torch.arange(a.kernel_h, device=device).repeat(a.kernel_w)
    taps = torch.stack([i * a.dilation_w, j * a.dilation_h], dim=-1).to(dtype)  # kh*kw, 2
    if a.remove_center:
        center = (a.kernel_w // 2) * a.kernel_h + a.kernel_h // 2
        taps = torch.cat([taps[:center], taps[center + 1 :]])
    return taps


def _regular_grid(h_out, w_out, attrs, device, dtype):
    """The offset-free part of every sampling location, (x, y) in input pixels: [P, Ho, Wo, 2].

    base + (tap)*offset_scale, with base = p0 - half*offset_scale (p0, the window centre, is an
    integer) and tap = (i*dilation_w, j*dilation_h), kernel_w outer.
    """
    a = attrs
    half_h, half_w = a.kernel_half
    scale = a.offset_scale
    base_h = (torch.arange(h_out, device=device) * a.stride_h + (half_h - a.pad_h)).to(dtype) - half_h * scale
    base_w = (torch.arange(w_out, device=device) * a.stride_w + (half_w - a.pad_w)).to(dtype) - half_w * scale
    grid_h, grid_w = torch.meshgrid(base_h, base_w, indexing="ij")
    base = torch.stack([grid_w, grid_h], dim=-1)  # Ho, Wo, 2
    return base + kernel_taps(attrs, device, dtype).view(-1, 1, 1, 2) * scale


def _padded_size(size):
    """The image extent grid_sample sees: `size` rounded up to a power of two (zero-padded).

    grid_sample maps x back to pixels as (x + 1) * W/2 - 0.5. With W a power of two every step of
    pixel -> x -> pixel is exact for integer locations, so a point exactly on a pixel (all of them
    at InternImage's initialisation, where offsets are 0) lands on it and takes the same one-sided
    bilinear gradient as the CUDA op; with other W it can land an ulp short and take the gradient
    of the cell on the other side. The padding reads as zeros, as outside pixels must, and
    points in it already failed the range test.
    """
    return 1 << (size - 1).bit_length()


def dcnv3_fallback(input, offset, mask, attrs):
    """DCNv3 forward, NHWC, for a Dcnv3Attrs (the tensors of torch.ops.npu.dcnv3).
    Differentiable by autograd.

    im2col_step is only validated: it batches work in the kernels and never changes the result.
    """
    pb = check_dcnv3_args(input, offset, mask, None, attrs)
    group, group_channels, points, offset_scale = attrs.group, attrs.group_channels, attrs.points, attrs.offset_scale
    n_batch, height, width, h_out, w_out = pb.batch, pb.height_in, pb.width_in, pb.height_out, pb.width_out
    out_dtype = input.dtype
    dtype = torch.promote_types(out_dtype, torch.float32)
    device = input.device

    # Sampling locations in input pixels, (x, y) last, already in grid_sample's order: the add
    # writes its result contiguous in the order of its first operand, so the permute costs no copy.
    # offset: N, Ho, Wo, G*P*2 -> N, Ho, Wo, G, P, 2 -> N, G, P, Ho, Wo, 2
    offset = offset.reshape(n_batch, h_out, w_out, group, points, 2).permute(0, 3, 4, 1, 2, 5).to(dtype)
    regular = _regular_grid(h_out, w_out, attrs, device, dtype)
    loc = torch.add(regular, offset, alpha=offset_scale)  # N, G, P, Ho, Wo, 2

    # The CUDA range test, per coordinate (one bad coordinate already puts the point outside).
    # NaN fails every comparison, so NaN/Inf coordinates are replaced as well.
    valid = (loc > -1) & (loc < torch.tensor([width, height], device=device, dtype=dtype))
    # Pixel -> grid_sample's align_corners=False coordinates of the padded image (see
    # _padded_size): x = (2*loc + 1)/W' - 1.
    padded_h, padded_w = _padded_size(height), _padded_size(width)
    size = torch.tensor([padded_w, padded_h], device=device, dtype=dtype)
    grid = torch.where(valid, torch.addcmul(1 / size - 1, loc, 2 / size), _OUTSIDE)
    grid = grid.reshape(n_batch * group, points, h_out * w_out, 2)

    # N, H, W, G*C -> N, H, W, G, C -> N, G, C, H, W -> (zero-pad) N, G, C, H', W' -> N*G, C, H', W'
    image = input.to(dtype).reshape(n_batch, height, width, group, group_channels).permute(0, 3, 4, 1, 2)
    image = F.pad(image, (0, padded_w - width, 0, padded_h - height))
    image = image.reshape(n_batch * group, group_channels, padded_h, padded_w)
    # N*G, C, P, Ho*Wo
    sampled = F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    # N, Ho, Wo, G*P -> N, Ho, Wo, G, P -> N, G, P, Ho, Wo -> N*G, 1, P, Ho*Wo
    weights = (
        mask.to(dtype)
        .reshape(n_batch, h_out, w_out, group, points)
        .permute(0, 3, 4, 1, 2)
        .reshape(n_batch * group, 1, points, h_out * w_out)
    )
    # N*G, C, Ho*Wo -> N, G, C, Ho, Wo -> N, Ho, Wo, G, C -> N, Ho, Wo, G*C
    out = (sampled * weights).sum(dim=2)
    out = (
        out.view(n_batch, group, group_channels, h_out, w_out)
        .permute(0, 3, 4, 1, 2)
        .reshape(n_batch, h_out, w_out, group * group_channels)
    )
    return out.to(out_dtype)
