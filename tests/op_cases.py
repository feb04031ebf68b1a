"""Shared inputs for the tests of torch.ops.npu.dcnv3 (test_op_*.py): seeded random problems."""

import random

import torch

from dcnv3_ascend.attrs import Dcnv3Attrs

# The sweep of tests/test_op_parity.py draws from these.
KERNELS = [(1, 1), (3, 3), (5, 5), (3, 5)]
OFFSET_SCALES = [0.5, 1.0, 2.0]


def make_inputs(attrs, batch, height, width, dtype=torch.float64, offset_range=3.0, seed=0):
    """(input, offset, mask) for `attrs` with offsets uniform in +-offset_range pixels."""
    gen = torch.Generator().manual_seed(seed)
    h_out, w_out = attrs.output_size(height, width)
    input = torch.randn(batch, height, width, attrs.channels, generator=gen, dtype=torch.float64)
    offset = (
        torch.rand(batch, h_out, w_out, attrs.group * attrs.points * 2, generator=gen, dtype=torch.float64) * 2 - 1
    ) * offset_range
    mask = torch.rand(batch, h_out, w_out, attrs.group * attrs.points, generator=gen, dtype=torch.float64)
    return input.to(dtype), offset.to(dtype), mask.to(dtype)


def random_problem(rng: random.Random, max_points=4000):
    """(attrs, batch, height, width): one seeded draw of the parity sweep, redrawn until it has at
    most `max_points` sampling points so the float64 loop reference stays fast."""
    while True:
        attrs, batch, height, width = _draw_problem(rng)
        h_out, w_out = attrs.output_size(height, width)
        if batch * h_out * w_out * attrs.group * attrs.points <= max_points:
            return attrs, batch, height, width


def _draw_problem(rng):
    kernel_h, kernel_w = rng.choice(KERNELS)
    remove_center = int(kernel_h == kernel_w and kernel_h > 1 and rng.random() < 0.4)
    group = rng.randint(1, 16)
    group_channels = rng.choice([1, 2, 3, 5, 8, 16, 17, 31, 64]) if group <= 4 else rng.randint(1, 8)
    attrs = Dcnv3Attrs(
        kernel_h=kernel_h,
        kernel_w=kernel_w,
        stride_h=rng.choice([1, 2]),
        stride_w=rng.choice([1, 2]),
        pad_h=rng.choice([0, 1, 2]),
        pad_w=rng.choice([0, 1, 2]),
        dilation_h=rng.choice([1, 2]),
        dilation_w=rng.choice([1, 2]),
        group=group,
        group_channels=group_channels,
        offset_scale=rng.choice(OFFSET_SCALES),
        im2col_step=rng.choice([1, 2, 64]),
        remove_center=remove_center,
    )
    batch = rng.choice([1, 2])
    span_h = attrs.dilation_h * (kernel_h - 1) + 1
    span_w = attrs.dilation_w * (kernel_w - 1) + 1
    height = rng.randint(max(1, span_h - 2 * attrs.pad_h), 9)
    width = rng.randint(max(1, span_w - 2 * attrs.pad_w), 9)
    return attrs, batch, height, width
