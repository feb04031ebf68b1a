"""The backend registry: every backend keeps the interface verify and bench rely on."""

import pytest
import torch

from dcnv3_ascend.backends import BACKENDS
from dcnv3_ascend.reference import dcnv3_reference
from dcnv3_ascend.shapes import edge_cases, make_grad_output, make_inputs

# Built by `pip install .` on every machine; npu needs the hardware.
BUILT_EVERYWHERE = ("cpu", "fallback", "sim")


def test_registry_names():
    assert list(BACKENDS) == ["cpu", "fallback", "sim", "npu"]
    assert all(backend.name == name for name, backend in BACKENDS.items())


@pytest.mark.parametrize("name", list(BACKENDS))
def test_available_reports_instead_of_raising(name):
    ok, reason = BACKENDS[name].available()
    assert isinstance(ok, bool) and isinstance(reason, str)
    assert ok == (reason == "")
    if name in BUILT_EVERYWHERE:
        assert ok, f"{name} must run wherever the package is built: {reason}"


@pytest.mark.parametrize("name", list(BACKENDS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_forward_backward_agrees_with_forward_and_backward(name, dtype):
    backend = BACKENDS[name]
    ok, reason = backend.available()
    if not ok:
        assert name not in BUILT_EVERYWHERE
        pytest.skip(reason)
    case = next(c for c in edge_cases() if c.name == "remove_center")
    inputs = make_inputs(case, dtype)
    grad_output = make_grad_output(case, dtype)
    on_device = [t.to(backend.device) for t in (*inputs, grad_output)]

    out = backend.forward(*on_device[:3], case.attrs)
    grads = backend.backward(*on_device, case.attrs)
    step = backend.forward_backward(*on_device, case.attrs)

    assert out.device.type == backend.device and out.dtype == dtype
    assert [g.shape for g in grads] == [t.shape for t in inputs]
    # Not bit-equal: atomic accumulation (sim, npu) sums grad_input in a different order each run.
    for a, b in zip((out, *grads), step):
        torch.testing.assert_close(a, b)
    # And it computes DCNv3, not just something self-consistent.
    torch.testing.assert_close(
        out.cpu().double(), dcnv3_reference(*inputs, case.attrs), rtol=0, atol=4e-3 if dtype == torch.float16 else 1e-5
    )
