"""The DCNv3 problems we verify and benchmark: InternImage's layer shapes plus edge cases.

Facts from OpenGVLab/InternImage (classification/configs/internimage_*.yaml and
models/intern_image.py): every DCNv3 layer is 3x3, stride 1, pad 1, dilation 1, im2col_step 256;
stage i has channels * 2**i channels split into groups[i] groups; the stem downsamples by 4 and
each later stage by 2, so a 224x224 image gives 56, 28, 14 and 7 pixel stages. The masks are a
softmax over each group's points. L and XL use offset_scale 2.0; H uses 32 channels per group.

make_inputs draws seeded inputs for a case in a given dtype. The values are rounded to that dtype
first and then nudged so that no sampling location lands within 2**-10 px of an integer: there
the bilinear offset gradient jumps, and implementations that compute the same location through
different (all correct) float paths would legitimately disagree on which side of the jump they
are. The float64 golden then sees exactly the numbers the backend under test sees.
"""

import dataclasses
import math
import zlib

import torch

from .attrs import Dcnv3Attrs
from .fallback import kernel_taps

# Cumulative downsampling of stages 1-4 relative to the input image.
STAGE_STRIDES = (4, 8, 16, 32)


@dataclasses.dataclass(frozen=True)
class InternImageModel:
    """One InternImage variant: stage-1 channels, blocks per stage and groups per stage."""

    name: str
    channels: int
    depths: tuple
    groups: tuple
    offset_scale: float

    def stage_channels(self, stage):
        return self.channels * 2**stage

    def group_channels(self, stage):
        return self.stage_channels(stage) // self.groups[stage]


INTERNIMAGE_MODELS = (
    InternImageModel("T", 64, (4, 4, 18, 4), (4, 8, 16, 32), 1.0),
    InternImageModel("S", 80, (4, 4, 21, 4), (5, 10, 20, 40), 1.0),
    InternImageModel("B", 112, (4, 4, 21, 4), (7, 14, 28, 56), 1.0),
    InternImageModel("L", 160, (5, 5, 22, 5), (10, 20, 40, 80), 2.0),
    InternImageModel("XL", 192, (5, 5, 24, 5), (12, 24, 48, 96), 2.0),
    InternImageModel("H", 320, (6, 6, 32, 6), (10, 20, 40, 80), 1.0),
)


@dataclasses.dataclass(frozen=True)
class Case:
    """One DCNv3 problem: input size, attributes and how to draw its offsets.

    offset_range: offsets are uniform in [-offset_range, offset_range] pixels (before scaling).
    nonfinite_offsets: a few offsets are NaN/+Inf/-Inf (such points must contribute 0).
    layers: how many layers of this shape the model has (0 for edge cases), for whole-model sums.
    note: how the case relates to the real layer (e.g. a spatial crop of it).
    """

    name: str
    batch: int
    height: int
    width: int
    attrs: Dcnv3Attrs
    offset_range: float = 2.0
    nonfinite_offsets: bool = False
    layers: int = 0
    note: str = ""

    @property
    def output_size(self):
        return self.attrs.output_size(self.height, self.width)

    @property
    def output_points(self):
        """Output pixels N * H_out * W_out (the throughput unit of bench)."""
        h_out, w_out = self.output_size
        return self.batch * h_out * w_out

    def elements(self, grad_output=True):
        """Elements of input, offset and mask, and of grad_output unless told not to."""
        h_out, w_out = self.output_size
        a = self.attrs
        outputs = a.channels if grad_output else 0
        return self.batch * (self.height * self.width * a.channels + h_out * w_out * (a.group * a.points * 3 + outputs))

    @property
    def float64_bytes(self):
        """Bytes of input, offset, mask and grad_output in float64, as make_inputs and
        make_grad_output draw them (the least memory a run of this case takes)."""
        return 8 * self.elements()

    def with_batch(self, batch):
        return dataclasses.replace(self, batch=batch)

    def cropped(self, size):
        """The same layer on at most size x size input pixels (same channels, groups, kernel).

        The float64 golden is a Python loop, so verification runs real layers on a crop.
        """
        if self.height <= size and self.width <= size:
            return dataclasses.replace(self, note="full size") if self.layers else self
        note = f"{size}x{size} crop of {self.height}x{self.width}"
        return dataclasses.replace(self, height=min(self.height, size), width=min(self.width, size), note=note)


def layer_cases(image_size=224, batch=1, models=INTERNIMAGE_MODELS):
    """One case per (model, stage): the DCNv3 layer shape at image_size input, e.g. 'T-stage1'."""
    cases = []
    for model in models:
        for stage, stride in enumerate(STAGE_STRIDES):
            size = image_size // stride
            attrs = Dcnv3Attrs(
                group=model.groups[stage], group_channels=model.group_channels(stage), offset_scale=model.offset_scale
            )
            cases.append(Case(f"{model.name}-stage{stage + 1}", batch, size, size, attrs, layers=model.depths[stage]))
    return cases


def edge_cases():
    """Small problems that break the assumptions the InternImage shapes never test."""
    a = Dcnv3Attrs(group=4, group_channels=16)
    return [
        Case("remove_center", 1, 8, 8, dataclasses.replace(a, remove_center=1)),
        Case("offset_scale_0.5", 1, 8, 8, dataclasses.replace(a, offset_scale=0.5)),
        Case("offset_scale_2", 1, 8, 8, dataclasses.replace(a, offset_scale=2.0)),
        Case("stride2", 1, 15, 15, dataclasses.replace(a, stride_h=2, stride_w=2)),
        Case("large_offsets_20px", 1, 12, 12, a, offset_range=20.0),
        Case("nonfinite_offsets", 1, 8, 8, a, nonfinite_offsets=True),
        Case("group_channels_1", 1, 8, 8, dataclasses.replace(a, group=8, group_channels=1)),
        Case("group_channels_3", 1, 8, 8, dataclasses.replace(a, group=5, group_channels=3)),
        Case("group_channels_71", 1, 8, 8, dataclasses.replace(a, group=1, group_channels=71)),
        Case(
            "kernel3x5_mixed",
            1,
            10,
            11,
            Dcnv3Attrs(
                kernel_h=3,
                kernel_w=5,
                stride_h=1,
                stride_w=2,
                pad_h=2,
                pad_w=2,
                dilation_h=2,
                dilation_w=1,
                group=3,
                group_channels=8,
            ),
        ),
        Case(
            "kernel5_dilation2",
            1,
            10,
            10,
            Dcnv3Attrs(kernel_h=5, kernel_w=5, pad_h=4, pad_w=4, dilation_h=2, dilation_w=2, group=2, group_channels=8),
        ),
        Case("pad0", 1, 9, 9, dataclasses.replace(a, pad_h=0, pad_w=0)),
        Case("tiny_image_2x3", 1, 2, 3, a),
        Case("batch4_im2col_step2", 4, 6, 6, dataclasses.replace(a, im2col_step=2)),
    ]


# The seeds torch.Generator.manual_seed takes (it reads a negative one as its two's complement).
SEED_RANGE = (-(2**63), 2**64 - 1)


def _seed(case, seed, stream=0):
    """Generator seed of `case`'s tensor number `stream`: stable across runs and Python versions
    (hash() is salted). Taken modulo 2**64 so that every seed of SEED_RANGE stays in it; for the
    seeds that were in range before, manual_seed sees the same value as without the modulo."""
    return (seed * 1_000_003 + zlib.crc32(case.name.encode()) + stream) % 2**64


def _round_to(values, dtype):
    return values.to(dtype).to(torch.float64)


# How close (in pixels) a sampling location may come to an integer, see the module docstring.
_MIN_FRACTION = 2.0**-10


def _keep_off_integers(offset, attrs, dtype):
    """Nudges float64 offsets [N, Ho, Wo, G, P, 2] (already on dtype's grid) until no sampling
    location is within _MIN_FRACTION of an integer; returns them on dtype's grid."""
    half = torch.tensor(attrs.kernel_half[::-1], dtype=torch.float64)  # (x, y)
    scale = attrs.offset_scale
    if scale == 0:  # offsets do not move the samples: there is nothing to steer
        return offset
    # The window origin p0 is an integer, so loc's fraction is that of the scaled remainder.
    taps = kernel_taps(attrs, dtype=torch.float64)
    eps = torch.finfo(dtype).eps
    for _ in range(8):
        rel = (taps - half + offset) * scale
        distance = (rel - rel.round()).abs()
        bad = distance < _MIN_FRACTION
        if not bad.any():
            return offset
        # One step of at least 0.05 px, or one ulp where the dtype is coarser than that.
        ulp = eps * torch.exp2(torch.floor(torch.log2(offset.abs().clamp_min(1.0))))
        step = torch.maximum(torch.full_like(offset, 0.05 / abs(scale)), ulp)
        offset = torch.where(bad, _round_to(offset + step, dtype), offset)
    raise RuntimeError("could not move the sampling locations off integers")


def data_dtype(dtype):
    """The dtype whose grid make_inputs draws values on for a run in `dtype`."""
    # float64 runs use float32-valued data, so they share the float32 golden.
    return torch.float32 if dtype == torch.float64 else dtype


def make_inputs(case, dtype=torch.float32, seed=0):
    """Seeded (input, offset, mask) for `case` in `dtype`, on the CPU.

    input ~ N(0, 1); offset uniform in +-case.offset_range px; mask a softmax over each group's
    points (as InternImage computes it). Same case, dtype and seed give the same tensors.
    """
    attrs = case.attrs
    grid = data_dtype(dtype)
    gen = torch.Generator().manual_seed(_seed(case, seed))
    h_out, w_out = case.output_size
    n, g, p = case.batch, attrs.group, attrs.points

    inp = _round_to(torch.randn(n, case.height, case.width, attrs.channels, generator=gen, dtype=torch.float64), grid)
    offset = (torch.rand(n, h_out, w_out, g, p, 2, generator=gen, dtype=torch.float64) * 2 - 1) * case.offset_range
    offset = _keep_off_integers(_round_to(offset, grid), attrs, grid)
    if case.nonfinite_offsets:
        # Every 7th coordinate: NaN, +Inf, -Inf in turn (the op must ignore those points).
        flat = offset.view(-1)
        specials = torch.tensor([math.nan, math.inf, -math.inf], dtype=torch.float64)
        picked = torch.arange(0, flat.numel(), 7)
        flat[picked] = specials[torch.arange(picked.numel()) % 3]
    logits = torch.randn(n, h_out, w_out, g, p, generator=gen, dtype=torch.float64)
    mask = _round_to(torch.softmax(logits, dim=-1), grid)
    return (
        inp.to(dtype),
        offset.reshape(n, h_out, w_out, g * p * 2).to(dtype),
        mask.reshape(n, h_out, w_out, g * p).to(dtype),
    )


def make_grad_output(case, dtype=torch.float32, seed=0):
    """Seeded upstream gradient [N, Ho, Wo, G*C] ~ N(0, 1) for `case` in `dtype`."""
    gen = torch.Generator().manual_seed(_seed(case, seed, stream=1))
    h_out, w_out = case.output_size
    grad = torch.randn(case.batch, h_out, w_out, case.attrs.channels, generator=gen, dtype=torch.float64)
    return _round_to(grad, data_dtype(dtype)).to(dtype)
