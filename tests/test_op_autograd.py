"""Autograd of torch.ops.npu.dcnv3: gradcheck in float64 for input, offset and mask, the
registered formula against the reference, and torch.library.opcheck over a sample list."""

import pytest
import torch
from op_cases import make_inputs

import dcnv3_ascend
from dcnv3_ascend.attrs import Dcnv3Attrs
from dcnv3_ascend.reference import dcnv3_reference_backward

assert dcnv3_ascend.HAS_EXTENSION, "these tests check the compiled CPU kernel; build dcnv3_ascend._C first"

# (attrs, batch, height, width): the layer shape, and each attribute that changes the geometry.
SAMPLES = [
    (Dcnv3Attrs(group=2, group_channels=3), 2, 5, 6),
    (Dcnv3Attrs(kernel_h=3, kernel_w=5, stride_h=2, pad_h=0, pad_w=2, group=1, group_channels=4), 1, 6, 7),
    (Dcnv3Attrs(dilation_h=2, dilation_w=2, pad_h=2, pad_w=2, group=3, group_channels=2, offset_scale=0.5), 1, 5, 5),
    (
        Dcnv3Attrs(
            kernel_h=5,
            kernel_w=5,
            pad_h=2,
            pad_w=2,
            group=2,
            group_channels=2,
            remove_center=1,
            offset_scale=2.0,
            im2col_step=1,
        ),
        2,
        4,
        5,
    ),
]


def sample_inputs(requires_grad, dtype=torch.float64):
    """opcheck-style samples: (args, kwargs) of torch.ops.npu.dcnv3."""
    for i, (attrs, batch, height, width) in enumerate(SAMPLES):
        tensors = [
            t.requires_grad_(requires_grad)
            for t in make_inputs(attrs, batch, height, width, dtype=dtype, offset_range=2.5, seed=i)
        ]
        yield (*tensors, *attrs.args()), {}


@pytest.mark.parametrize("index", range(len(SAMPLES)))
def test_gradcheck_float64(index):
    args, _ = list(sample_inputs(True))[index]
    # Random offsets keep every sample off the integer grid and off the image border, where the
    # bilinear interpolation is not differentiable. Fast mode checks random projections of the
    # Jacobian (the full one costs two forward calls per element, ~20 s for these samples); the
    # tests below compare every gradient
    # entry with the reference.
    assert torch.autograd.gradcheck(
        lambda i, o, m: torch.ops.npu.dcnv3(i, o, m, *args[3:]),
        args[:3],
        eps=1e-6,
        atol=1e-7,
        rtol=1e-5,
        fast_mode=True,
    )


@pytest.mark.parametrize("index", range(len(SAMPLES)))
def test_autograd_matches_reference_backward(index):
    args, _ = list(sample_inputs(True))[index]
    out = torch.ops.npu.dcnv3(*args)
    grad_output = torch.randn_like(out)
    got = torch.autograd.grad(out, args[:3], grad_output)
    want = dcnv3_reference_backward(*[a.detach() for a in args[:3]], grad_output, Dcnv3Attrs(*args[3:]))
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-11, atol=1e-11)


def test_gradient_of_one_input_only():
    (input, offset, mask, *attrs), _ = next(sample_inputs(False))
    offset.requires_grad_()
    out = torch.ops.npu.dcnv3(input, offset, mask, *attrs)
    (grad_offset,) = torch.autograd.grad(out.sum(), offset)
    want = torch.ops.npu.dcnv3_backward(input, offset.detach(), mask, torch.ones_like(out), *attrs)[1]
    assert torch.equal(grad_offset, want)


@pytest.mark.parametrize("loss", ["sum", "square"])
@pytest.mark.parametrize("op", ["dcnv3", "dcnv3_softmax_mask"])
def test_second_order_gradient_raises(op, loss):
    """As InternImage's op (once_differentiable): create_graph=True gives the gradients, and a
    gradient of them raises instead of silently missing. With `sum` only the saved inputs carry
    the graph (a gradient penalty), with `square` the incoming gradient too."""
    args, _ = next(sample_inputs(True))
    tensors = args[:3]

    def grads(create_graph):
        out = getattr(torch.ops.npu, op)(*args)
        return torch.autograd.grad(getattr(out, loss)().sum(), tensors, create_graph=create_graph)

    first_order = grads(create_graph=False)
    graphed = grads(create_graph=True)
    for got, want in zip(graphed, first_order):
        assert torch.equal(got, want) and got.requires_grad and not want.requires_grad
    with pytest.raises(RuntimeError, match=f"npu::{op}_backward has no derivative"):
        graphed[0].square().sum().backward()
    # torch.autograd.grad towards one input only (once_differentiable's node would be pruned).
    with pytest.raises(RuntimeError, match=f"npu::{op}_backward has no derivative"):
        torch.autograd.grad(graphed[1].sum(), tensors[1], allow_unused=True)


@pytest.mark.parametrize("op", ["dcnv3_backward", "dcnv3_softmax_mask_backward"])
def test_gradient_of_a_backward_op_called_directly_raises(op):
    """dcnv3_ascend.dcnv3_backward (or the op) on inputs that require grad: its gradients had no
    autograd kernel, so torch's fallback only warned and differentiating them left every input's
    .grad None, silently."""
    (input, offset, mask, *attrs), _ = next(sample_inputs(True))
    grad_output = torch.randn(*input.shape, dtype=input.dtype, requires_grad=True)
    grads = getattr(torch.ops.npu, op)(input, offset, mask, grad_output, *attrs)
    want = getattr(torch.ops.npu, op)(*(t.detach() for t in (input, offset, mask, grad_output)), *attrs)
    for got, expected in zip(grads, want):
        assert torch.equal(got, expected) and got.requires_grad
    with pytest.raises(RuntimeError, match=f"npu::{op} has no derivative"):
        grads[1].square().sum().backward()
    with pytest.raises(RuntimeError, match=f"npu::{op} has no derivative"):
        torch.autograd.grad(grads[0].sum(), grad_output)
    with torch.no_grad():
        assert not any(g.requires_grad for g in getattr(torch.ops.npu, op)(input, offset, mask, grad_output, *attrs))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("index", range(len(SAMPLES)))
def test_opcheck(index, dtype):
    args, kwargs = list(sample_inputs(True, dtype))[index]
    torch.library.opcheck(torch.ops.npu.dcnv3.default, args, kwargs)


def test_opcheck_backward_op():
    (input, offset, mask, *attrs), _ = next(sample_inputs(False))
    grad_output = torch.randn(*input.shape[:3], input.shape[3], dtype=input.dtype)
    torch.library.opcheck(torch.ops.npu.dcnv3_backward.default, (input, offset, mask, grad_output, *attrs))
