"""torch.ops.npu.dcnv3 under fake tensors and torch.compile: the fake kernels give the real
kernels' shapes, dtypes and strides, and a compiled forward+backward (fullgraph, static and
dynamic shapes) matches eager mode."""

import pytest
import torch
from functorch.compile import make_boxed_func
from op_cases import make_inputs
from torch._dynamo.backends.common import aot_autograd
from torch._subclasses.fake_tensor import FakeTensorMode

import dcnv3_ascend
from dcnv3_ascend.attrs import Dcnv3Attrs

ATTRS = Dcnv3Attrs(kernel_h=3, kernel_w=3, stride_h=2, stride_w=1, pad_h=1, pad_w=0, group=2, group_channels=4)


def test_fake_tensors_match_real_outputs():
    tensors = make_inputs(ATTRS, 2, 9, 8, dtype=torch.float32)
    out = torch.ops.npu.dcnv3(*tensors, *ATTRS.args())
    grads = torch.ops.npu.dcnv3_backward(*tensors, out, *ATTRS.args())
    with FakeTensorMode() as mode:
        fakes = [mode.from_tensor(t) for t in tensors]
        fake_out = torch.ops.npu.dcnv3(*fakes, *ATTRS.args())
        fake_grads = torch.ops.npu.dcnv3_backward(*fakes, fake_out, *ATTRS.args())
    for fake, real in zip((fake_out, *fake_grads), (out, *grads)):
        assert (fake.shape, fake.dtype, fake.stride()) == (real.shape, real.dtype, real.stride())


def test_meta_tensors():
    tensors = [t.to("meta") for t in make_inputs(ATTRS, 2, 9, 8)]
    out = torch.ops.npu.dcnv3(*tensors, *ATTRS.args())
    assert out.device.type == "meta" and out.shape == (2, 5, 6, 8)


def layer(input, offset, mask):
    return dcnv3_ascend.dcnv3(input, offset, mask, *ATTRS.args())


def recording_backend(graphs):
    """aot_eager that keeps the code of the forward and backward graphs it compiles."""

    def record(kind):
        def compiler(gm, example_inputs):
            graphs.append((kind, gm.code))
            return make_boxed_func(gm.forward)

        return compiler

    return aot_autograd(fw_compiler=record("forward"), bw_compiler=record("backward"))


def eager_and_compiled(compiled, batch, height, seed):
    """(output, grads) of `layer` and of `compiled` on the same inputs, for a random grad_output."""
    tensors = [t.requires_grad_() for t in make_inputs(ATTRS, batch, height, 8, seed=seed)]
    results = []
    for fn in (layer, compiled):
        out = fn(*tensors)
        grad_output = torch.ones_like(out) + torch.arange(out.numel(), dtype=out.dtype).view(out.shape) % 3
        results.append((out, torch.autograd.grad(out, tensors, grad_output)))
    return results


@pytest.mark.parametrize("dynamic", [False, True])
def test_compiled_forward_backward_matches_eager(dynamic):
    torch._dynamo.reset()
    graphs = []
    compiled = torch.compile(layer, fullgraph=True, dynamic=dynamic, backend=recording_backend(graphs))
    for seed, (batch, height) in enumerate(((2, 9), (3, 11))):  # a second shape: recompiled or dynamic
        (want, want_grads), (got, got_grads) = eager_and_compiled(compiled, batch, height, seed)
        torch.testing.assert_close(got, want, rtol=0, atol=0)
        for g, w in zip(got_grads, want_grads):
            torch.testing.assert_close(g, w, rtol=0, atol=0)
    # The op stays one node each way: autograd's formula traced into npu::dcnv3_backward.
    assert any(kind == "forward" and "npu.dcnv3.default" in code for kind, code in graphs)
    assert any(kind == "backward" and "npu.dcnv3_backward.default" in code for kind, code in graphs)
    if dynamic:
        assert len([kind for kind, _ in graphs if kind == "forward"]) == 1


def test_inductor():
    torch._dynamo.reset()
    compiled = torch.compile(layer, fullgraph=True, backend="inductor")
    (want, want_grads), (got, got_grads) = eager_and_compiled(compiled, 2, 9, 0)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    for g, w in zip(got_grads, want_grads):
        torch.testing.assert_close(g, w, rtol=0, atol=0)


@pytest.mark.parametrize(
    "backend, dynamic", [("inductor", None), ("aot_eager", True)], ids=["inductor-default", "aot_eager-dynamic"]
)
def test_dcnv3_pytorch_module_compiles_fullgraph(backend, dynamic):
    """The pure-PyTorch layer (InternImage's core_op='DCNv3_pytorch') traced by dynamo: its argument
    checks broke the graph on torch._check's message closures, and the resumed frame could not
    rebuild the Dcnv3Attrs it held, so torch.compile failed even without fullgraph."""
    torch._dynamo.reset()
    layer_module = dcnv3_ascend.modules.DCNv3_pytorch(channels=16, group=2, offset_scale=0.5)
    compiled = torch.compile(layer_module, fullgraph=True, dynamic=dynamic, backend=backend)
    gen = torch.Generator().manual_seed(0)
    for shape in ((1, 8, 8, 16), (2, 6, 10, 16)):
        x = torch.randn(shape, generator=gen, requires_grad=True)
        want = layer_module(x)
        (want_grad,) = torch.autograd.grad(want.sum(), x)
        got = compiled(x)
        (got_grad,) = torch.autograd.grad(got.sum(), x)
        torch.testing.assert_close(got, want)
        torch.testing.assert_close(got_grad, want_grad)
