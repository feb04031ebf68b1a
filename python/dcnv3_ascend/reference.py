"""The float64 golden model of DCNv3: a plain loop that reads like the definition.

Every other implementation (the grid_sample fallback, the C++ CPU kernel, the simulated AscendC
kernel) is checked against this file, so it is written for obviousness, not speed: one Python
iteration per sampling point, vectorised only over the channels of one group. The backward pass
is written from the analytic formulas of InternImage's CUDA col2im (not from autograd), so it
checks autograd-derived gradients independently.

Semantics (InternImage dcnv3_im2col_cuda.cuh), all tensors NHWC:
  input  [N, H, W, G*C]   offset [N, Ho, Wo, G*P*2] as (x, y) pairs   mask [N, Ho, Wo, G*P]
  P = kernel_h*kernel_w - remove_center, points ordered kernel_w outer, kernel_h inner.
  loc_w = p0_w - half_w*s + (i*dilation_w + off_x)*s, loc_h likewise with j, dilation_h, off_y
  (s = offset_scale). A point with loc_h <= -1, loc_w <= -1, loc_h >= H or loc_w >= W (or NaN)
  contributes nothing and receives no gradient.
"""

import math

import numpy as np
import torch


def _sampling_points(attrs, offset):
    """Yields (n, ho, wo, g, p, loc_h, loc_w) for every sampling point, in the CUDA op's order.

    `offset` is the float64 array [N, Ho, Wo, G, P, 2]; loc_h/loc_w are in input pixels.
    """
    a = attrs
    n_batch, h_out, w_out = offset.shape[:3]
    half_h, half_w = a.kernel_half
    for n in range(n_batch):
        for ho in range(h_out):
            for wo in range(w_out):
                p0_h = half_h - a.pad_h + ho * a.stride_h
                p0_w = half_w - a.pad_w + wo * a.stride_w
                base_h = p0_h - half_h * a.offset_scale
                base_w = p0_w - half_w * a.offset_scale
                for g in range(a.group):
                    p = 0
                    for i in range(a.kernel_w):
                        for j in range(a.kernel_h):
                            if a.remove_center and i == a.kernel_w // 2 and j == a.kernel_h // 2:
                                continue
                            off_x, off_y = offset[n, ho, wo, g, p]
                            loc_w = base_w + (i * a.dilation_w + off_x) * a.offset_scale
                            loc_h = base_h + (j * a.dilation_h + off_y) * a.offset_scale
                            yield n, ho, wo, g, p, loc_h, loc_w
                            p += 1


def _inside(loc_h, loc_w, height, width):
    # Written so that NaN fails it: every comparison with NaN is False.
    return loc_h > -1 and loc_w > -1 and loc_h < height and loc_w < width


def _bilinear_corners(loc_h, loc_w, height, width):
    """The in-image corners of a bilinear sample at (loc_h, loc_w).

    Returns [(h, w, weight, d_weight/d_loc_h, d_weight/d_loc_w)]; corners outside the image are
    left out, which is how they read as zero.
    """
    h0, w0 = math.floor(loc_h), math.floor(loc_w)
    lh, lw = loc_h - h0, loc_w - w0
    hh, hw = 1.0 - lh, 1.0 - lw
    corners = [
        (h0, w0, hh * hw, -hw, -hh),
        (h0, w0 + 1, hh * lw, -lw, hh),
        (h0 + 1, w0, lh * hw, hw, -lh),
        (h0 + 1, w0 + 1, lh * lw, lw, lh),
    ]
    return [c for c in corners if 0 <= c[0] < height and 0 <= c[1] < width]


def _prepare(input, offset, mask, attrs):
    """float64 numpy views [N, H, W, G, C], [N, Ho, Wo, G, P, 2], [N, Ho, Wo, G, P]."""
    n_batch, height, width, channels = input.shape
    group, points = attrs.group, attrs.points
    if channels != attrs.channels:
        raise ValueError(f"input channels must be group*group_channels = {attrs.channels}, got {channels}")
    h_out, w_out = attrs.output_size(height, width)
    want_offset = (n_batch, h_out, w_out, group * points * 2)
    if tuple(offset.shape) != want_offset:
        raise ValueError(f"offset must have shape {list(want_offset)}, got {list(offset.shape)}")
    if tuple(mask.shape) != want_offset[:3] + (group * points,):
        raise ValueError(f"mask must have shape {list(want_offset[:3]) + [group * points]}, got {list(mask.shape)}")

    def f64(t):
        return t.detach().to(device="cpu", dtype=torch.float64).numpy()

    return (
        f64(input).reshape(n_batch, height, width, group, attrs.group_channels),
        f64(offset).reshape(n_batch, h_out, w_out, group, points, 2),
        f64(mask).reshape(n_batch, h_out, w_out, group, points),
    )


def dcnv3_reference(input, offset, mask, attrs):
    """DCNv3 forward in float64 for a Dcnv3Attrs. Returns a CPU float64 tensor [N, Ho, Wo, G*C].

    im2col_step only batches work in the real kernels; it does not change the result.
    """
    inp, off, msk = _prepare(input, offset, mask, attrs)
    n_batch, height, width = inp.shape[:3]
    h_out, w_out = off.shape[1:3]
    out = np.zeros((n_batch, h_out, w_out, attrs.group, attrs.group_channels))
    for n, ho, wo, g, p, loc_h, loc_w in _sampling_points(attrs, off):
        if not _inside(loc_h, loc_w, height, width):
            continue
        value = np.zeros(attrs.group_channels)
        for h, w, weight, _, _ in _bilinear_corners(loc_h, loc_w, height, width):
            value += weight * inp[n, h, w, g]
        out[n, ho, wo, g] += msk[n, ho, wo, g, p] * value
    return torch.from_numpy(out.reshape(n_batch, h_out, w_out, attrs.channels))


def dcnv3_reference_backward(input, offset, mask, grad_output, attrs):
    """Analytic DCNv3 gradients in float64 for a Dcnv3Attrs: (grad_input, grad_offset,
    grad_mask), CPU tensors shaped like input, offset and mask."""
    inp, off, msk = _prepare(input, offset, mask, attrs)
    n_batch, height, width = inp.shape[:3]
    h_out, w_out = off.shape[1:3]
    grad_out = (
        grad_output.detach()
        .to(device="cpu", dtype=torch.float64)
        .numpy()
        .reshape(n_batch, h_out, w_out, attrs.group, attrs.group_channels)
    )
    grad_inp = np.zeros_like(inp)
    grad_off = np.zeros_like(off)
    grad_msk = np.zeros_like(msk)
    scale = attrs.offset_scale
    for n, ho, wo, g, p, loc_h, loc_w in _sampling_points(attrs, off):
        if not _inside(loc_h, loc_w, height, width):
            continue
        g_out = grad_out[n, ho, wo, g]  # [C]
        t = g_out * msk[n, ho, wo, g, p]  # [C]
        value = np.zeros(attrs.group_channels)
        d_value_d_h = np.zeros(attrs.group_channels)
        d_value_d_w = np.zeros(attrs.group_channels)
        for h, w, weight, d_weight_d_h, d_weight_d_w in _bilinear_corners(loc_h, loc_w, height, width):
            v = inp[n, h, w, g]
            value += weight * v
            d_value_d_h += d_weight_d_h * v
            d_value_d_w += d_weight_d_w * v
            grad_inp[n, h, w, g] += weight * t
        grad_msk[n, ho, wo, g, p] = np.dot(g_out, value)
        # d loc / d offset = offset_scale for both axes; offsets are stored as (x, y).
        grad_off[n, ho, wo, g, p, 0] = scale * np.dot(t, d_value_d_w)
        grad_off[n, ho, wo, g, p, 1] = scale * np.dot(t, d_value_d_h)
    return (
        torch.from_numpy(grad_inp.reshape(input.shape)),
        torch.from_numpy(grad_off.reshape(offset.shape)),
        torch.from_numpy(grad_msk.reshape(mask.shape)),
    )
