"""The registration path without the compiled extension (DCNV3_ASCEND_FORCE_FALLBACK=1, as when
dcnv3_ascend._C is missing): npu::dcnv3 is defined from Python with the grid_sample fallback as
its kernel, and must still match the reference, differentiate, warn once, validate arguments and
keep the compiled extension's schemas; likewise npu::dcnv3_softmax_mask, and npu::dcnv3_dw_conv is
the module's layers. Runs in a subprocess:
op registrations are per process."""

import json
import textwrap

import pytest
import torch
from child_process import run_python

import dcnv3_ascend

CHILD = textwrap.dedent(r"""
    import json, warnings
    import torch
    import dcnv3_ascend
    from dcnv3_ascend.attrs import Dcnv3Attrs
    from dcnv3_ascend.reference import dcnv3_reference, dcnv3_reference_backward
    from op_cases import make_inputs

    from dcnv3_ascend._ops import OP_NAMES
    result = {"has_extension": dcnv3_ascend.HAS_EXTENSION,
              "schemas": [str(getattr(torch.ops.npu, name).default._schema) for name in OP_NAMES]}
    attrs = Dcnv3Attrs(kernel_h=3, kernel_w=3, stride_h=2, pad_w=0, dilation_h=2, pad_h=2, group=3,
                       group_channels=2, offset_scale=0.5)
    input, offset, mask = [t.requires_grad_() for t in make_inputs(attrs, 2, 7, 6, offset_range=10.0)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = torch.ops.npu.dcnv3(input, offset, mask, *attrs.args())
        grad_output = torch.randn_like(out)
        autograd = torch.autograd.grad(out, (input, offset, mask), grad_output)
        op_grads = torch.ops.npu.dcnv3_backward(input, offset, mask, grad_output, *attrs.args())
    result["warnings"] = [str(w.message) for w in caught]
    tensors = [t.detach() for t in (input, offset, mask)]
    want = dcnv3_reference(*tensors, attrs)
    want_grads = dcnv3_reference_backward(*tensors, grad_output, attrs)
    result["forward_error"] = (out - want).abs().max().item()
    result["autograd_error"] = max((g - w).abs().max().item() for g, w in zip(autograd, want_grads))
    result["op_grad_error"] = max((g - w).abs().max().item() for g, w in zip(op_grads, want_grads))
    # The fused op: the reference on softmax(mask), its logits' gradient through torch's softmax.
    logits = (mask.detach() * 4).requires_grad_()
    prob = logits.unflatten(-1, (attrs.group, -1)).softmax(-1).flatten(-2)
    fused = torch.ops.npu.dcnv3_softmax_mask(input, offset, logits, *attrs.args())
    fused_grads = torch.autograd.grad(fused, (input, offset, logits), grad_output)
    want_fused_grads = dcnv3_reference_backward(*tensors[:2], prob.detach(), grad_output, attrs)
    want_fused_grads = (*want_fused_grads[:2], torch.autograd.grad(prob, logits, want_fused_grads[2])[0])
    result["fused_error"] = (fused - dcnv3_reference(*tensors[:2], prob.detach(), attrs)).abs().max().item()
    result["fused_grad_error"] = max((g - w).abs().max().item() for g, w in zip(fused_grads, want_fused_grads))
    result["meta_shape"] = list(torch.ops.npu.dcnv3(*[t.to("meta") for t in tensors], *attrs.args()).shape)
    try:
        torch.ops.npu.dcnv3(tensors[0], tensors[1][..., 1:], tensors[2], *attrs.args())
    except RuntimeError as error:
        result["bad_offset_error"] = str(error).splitlines()[0]
    # Layouts the fallback cannot take: named, not failed inside grid_sample's reshapes.
    result["layout_errors"] = []
    for name, convert in [("offset", lambda t: t.to_sparse()), ("mask", lambda t: t.to_mkldnn()),
                          ("input", lambda t: torch.nested.nested_tensor(list(t)))]:
        call = dict(zip(("input", "offset", "mask"), (t.float() for t in tensors)))  # MKL-DNN: no float64
        call[name] = convert(call[name])
        try:
            torch.ops.npu.dcnv3(call["input"], call["offset"], call["mask"], *attrs.args())
        except NotImplementedError as error:
            result["layout_errors"].append(str(error))
    # The dw_conv op: the module's layers (differentiable here), from the same module in float64.
    module = dcnv3_ascend.modules.DCNv3(channels=12, group=3).double()
    x = torch.randn(2, 5, 4, 12, dtype=torch.float64, requires_grad=True)
    conv, (_, norm), _ = module.dw_conv
    dw = torch.ops.npu.dcnv3_dw_conv(x, conv.weight, conv.bias, norm.weight, norm.bias, norm.eps)
    layers = module.dw_conv(x.permute(0, 3, 1, 2))
    result["dw_conv_error"] = (dw - layers).abs().max().item()
    dw_grad, layers_grad = (torch.autograd.grad(y.sum(), x)[0] for y in (dw, layers))
    result["dw_conv_grad_error"] = (dw_grad - layers_grad).abs().max().item()
    try:
        torch.ops.npu.dcnv3_dw_conv(x, conv.weight[:6], conv.bias, norm.weight, norm.bias, norm.eps)
    except RuntimeError as error:
        result["bad_dw_weight_error"] = str(error).splitlines()[0]
    # Empty images and zero channels: empty results and zero parameter gradients, as the kernel.
    result["dw_conv_empty"] = []
    for shape in [(2, 0, 4, 8), (2, 4, 0, 8), (2, 4, 4, 0), (0, 4, 4, 8)]:
        channels = shape[3]
        empty = torch.randn(*shape, dtype=torch.float64)
        params = [torch.randn(*s, dtype=torch.float64) for s in ((channels, 1, 3, 3),) + ((channels,),) * 3]
        out = torch.ops.npu.dcnv3_dw_conv(empty, *params, 1e-6)
        grads = torch.ops.npu.dcnv3_dw_conv_backward(empty, *params, torch.ones_like(out), 1e-6)
        result["dw_conv_empty"].append(
            [list(out.shape), [list(g.shape) for g in grads], all(g.abs().sum().item() == 0 for g in grads)]
        )
    # No second-order gradient: it raises, as with the extension.
    graphed = torch.autograd.grad(torch.ops.npu.dcnv3(input, offset, mask, *attrs.args()).sum(), input,
                                  create_graph=True)[0]
    try:
        torch.autograd.grad(graphed.square().sum(), offset)
    except RuntimeError as error:
        result["second_order_error"] = str(error).splitlines()[0]
    # Contiguous results, as the fake kernels give them: the fallback's strides made opcheck's fake
    # tensor test and inductor's stride assertions fail.
    result["opcheck"] = {}
    for name in ("dcnv3", "dcnv3_softmax_mask"):
        report = torch.library.opcheck(getattr(torch.ops.npu, name).default, (input, offset, mask, *attrs.args()),
                                       raise_exception=False)
        result["opcheck"][name] = {test: str(outcome).splitlines()[0] for test, outcome in report.items()
                                    if outcome != "SUCCESS"}
    result["op_grads_contiguous"] = [g.is_contiguous() for g in op_grads]
    # The backward op called directly: differentiating its results raises (they were left None).
    direct = torch.ops.npu.dcnv3_backward(input, offset, mask, grad_output, *attrs.args())
    try:
        direct[1].square().sum().backward()
        result["direct_backward_error"] = "no error"
    except RuntimeError as error:
        result["direct_backward_error"] = str(error).splitlines()[0]
    # Forward-mode AD raises, as with the extension: torch.library.register_autograd's kernel ran
    # the op without its formula, so the tangent came out zero (torch.func.jvp) or None.
    import torch.autograd.forward_ad as fwAD
    def dual_call():
        with fwAD.dual_level():
            torch.ops.npu.dcnv3(fwAD.make_dual(tensors[0], torch.ones_like(tensors[0])), *tensors[1:], *attrs.args())
    def jvp_call():
        fused = lambda x: torch.ops.npu.dcnv3_softmax_mask(x, *tensors[1:], *attrs.args())
        return torch.func.jvp(fused, (tensors[0],), (torch.ones_like(tensors[0]),))
    result["forward_ad_errors"] = []
    for call in (dual_call, jvp_call):
        try:
            call()
            result["forward_ad_errors"].append("no error")
        except RuntimeError as error:
            result["forward_ad_errors"].append(str(error).splitlines()[0])
    print(json.dumps(result))
""")


@pytest.fixture(scope="module")
def child_result():
    proc = run_python(CHILD, timeout=120, DCNV3_ASCEND_FORCE_FALLBACK="1")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_fallback_is_registered(child_result):
    assert child_result["has_extension"] is False


def test_fallback_matches_reference(child_result):
    assert child_result["forward_error"] < 1e-12
    assert child_result["autograd_error"] < 1e-12
    assert child_result["op_grad_error"] < 1e-12
    assert child_result["fused_error"] < 1e-12
    assert child_result["fused_grad_error"] < 1e-12


def test_fallback_dw_conv_is_the_module_layers(child_result):
    assert child_result["dw_conv_error"] < 1e-12
    assert child_result["dw_conv_grad_error"] < 1e-12
    assert child_result["bad_dw_weight_error"] == (
        "weight must be [C, 1, k, k] with C = 12 (input's channels) and k odd, got [6, 1, 3, 3]"
    )


def test_fallback_dw_conv_of_empty_images(child_result):
    for (out, grads, zero), shape in zip(
        child_result["dw_conv_empty"], [(2, 0, 4, 8), (2, 4, 0, 8), (2, 4, 4, 0), (0, 4, 4, 8)]
    ):
        channels = shape[3]
        assert out == list(shape) and zero
        assert grads == [list(shape), [channels, 1, 3, 3], [channels], [channels], [channels]]


def test_fallback_refuses_a_second_order_gradient(child_result):
    assert child_result["second_order_error"].startswith("npu::dcnv3_backward has no derivative")


def test_fallback_results_have_the_fake_kernels_strides(child_result):
    assert child_result["opcheck"] == {"dcnv3": {}, "dcnv3_softmax_mask": {}}
    assert child_result["op_grads_contiguous"] == [True, True, True]


def test_fallback_refuses_forward_mode_ad(child_result):
    assert [e.split(": ")[0] for e in child_result["forward_ad_errors"]] == [
        "npu::dcnv3 has no forward-mode derivative",
        "npu::dcnv3_softmax_mask has no forward-mode derivative",
    ]


def test_fallback_backward_op_called_directly_refuses_a_gradient(child_result):
    assert child_result["direct_backward_error"].startswith("npu::dcnv3_backward has no derivative")


def test_fallback_warns_once(child_result):
    assert len(child_result["warnings"]) == 1
    assert "grid_sample fallback" in child_result["warnings"][0]
    assert "DCNV3_ASCEND_FORCE_FALLBACK=1" in child_result["warnings"][0]


def test_fallback_fake_kernel_and_checks(child_result):
    assert child_result["meta_shape"] == [2, 4, 4, 6]
    assert child_result["bad_offset_error"].startswith(
        "offset must have shape [N, H_out, W_out, group*P*2] = [2, 4, 4, 54], got [2, 4, 4, 53]"
    )


@pytest.mark.skipif(not dcnv3_ascend.HAS_EXTENSION, reason="compares with the compiled extension's schemas")
def test_python_schemas_match_the_extension(child_result):
    from dcnv3_ascend._ops import OP_NAMES

    assert child_result["schemas"] == [str(getattr(torch.ops.npu, name).default._schema) for name in OP_NAMES]


def test_layouts_the_fallback_cannot_take_are_named(child_result):
    takes = "this build of dcnv3_ascend runs the grid_sample fallback, which takes dense strided tensors."
    assert child_result["layout_errors"] == [
        f"npu::dcnv3 has no kernel for offset on device 'cpu' with layout torch.sparse_coo: {takes}",
        f"npu::dcnv3 has no kernel for mask on device 'cpu' with layout torch._mkldnn: {takes}",
        f"npu::dcnv3 has no kernel for input on device 'cpu' with layout torch.strided (a nested tensor): {takes}",
    ]
