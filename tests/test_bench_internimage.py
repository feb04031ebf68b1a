"""The whole-model bench's reference point, InternImage's grid_sample formulation
(bench_internimage.py): it computes DCNv3 (forward and autograd gradients against the float64
loop reference), and its module is DCNv3's block with the same parameters."""

import pytest
import torch

from dcnv3_ascend.attrs import Dcnv3Attrs
from dcnv3_ascend.bench_internimage import InternImageDCNv3Pytorch, internimage_formulation
from dcnv3_ascend.modules import DCNv3_pytorch
from dcnv3_ascend.reference import dcnv3_reference, dcnv3_reference_backward
from dcnv3_ascend.shapes import Case, make_grad_output, make_inputs

CASES = [
    Case("internimage-3x3", 2, 9, 8, Dcnv3Attrs(group=2, group_channels=4)),
    # Unequal pads, stride, dilation and offset_scale: each enters the normalised coordinates.
    Case(
        "rect-kernel",
        1,
        11,
        10,
        Dcnv3Attrs(
            kernel_h=5,
            kernel_w=3,
            stride_h=2,
            pad_h=2,
            pad_w=1,
            dilation_w=2,
            group=3,
            group_channels=5,
            offset_scale=0.5,
        ),
        offset_range=3.0,
    ),
    Case("remove-center", 1, 7, 7, Dcnv3Attrs(group=1, group_channels=8, remove_center=1)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_formulation_matches_reference(case):
    input, offset, mask = make_inputs(case)
    grad_output = make_grad_output(case)
    leaves = [t.clone().requires_grad_() for t in (input, offset, mask)]
    out = internimage_formulation(*leaves, case.attrs)
    out.backward(grad_output)
    # Locations go through coordinates normalised to the padded image: float32 rounding of ~1e-6
    # of its size, times value differences of a few units.
    torch.testing.assert_close(out.double(), dcnv3_reference(input, offset, mask, case.attrs), rtol=0, atol=2e-4)
    want = dcnv3_reference_backward(input, offset, mask, grad_output, case.attrs)
    for name, leaf, expected in zip(("input", "offset", "mask"), leaves, want):
        torch.testing.assert_close(leaf.grad.double(), expected, rtol=0, atol=1e-3, msg=lambda m, n=name: f"{n}: {m}")


def test_module_runs_the_dcnv3_block_with_its_weights():
    torch.manual_seed(0)
    ours = DCNv3_pytorch(channels=32, group=4).eval()
    for layer in (ours.offset, ours.mask):
        torch.nn.init.normal_(layer.weight, std=0.3)
    theirs = InternImageDCNv3Pytorch(channels=32, group=4).eval()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 6, 7, 32)
    with torch.no_grad():
        torch.testing.assert_close(theirs(x), ours(x), rtol=0, atol=1e-4)
