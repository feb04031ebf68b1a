"""Every invalid call of npu::dcnv3 / npu::dcnv3_backward fails with a RuntimeError that names
the argument and the expected value, with the same message from the C++ CPU kernel
(dcnv3_args.cpp + op_host/dcnv3_contract.h) and the Python fake/meta kernels (_checks.py)."""

import dataclasses
import math
import re

import pytest
import torch
from op_cases import make_inputs

import dcnv3_ascend
from dcnv3_ascend import _checks
from dcnv3_ascend.attrs import Dcnv3Attrs

assert dcnv3_ascend.HAS_EXTENSION, "these tests check the compiled CPU kernel; build dcnv3_ascend._C first"

GOOD = Dcnv3Attrs(group=2, group_channels=4, im2col_step=3)  # N=3, H=5, W=6 -> H_out=5, W_out=6


def good_call():
    """A valid call as a dict: input, offset, mask, grad_output, attrs."""
    input, offset, mask = make_inputs(GOOD, 3, 5, 6, dtype=torch.float32)
    return dict(input=input, offset=offset, mask=mask, grad_output=torch.randn(3, 5, 6, 8), attrs=GOOD)


def with_attrs(**changes):
    return lambda call: call.update(attrs=dataclasses.replace(call["attrs"], **changes))


def with_tensor(name, fn):
    return lambda call: call.update({name: fn(call[name])})


# (id, how to break a good call, the message's start as a regex).
CASES = [
    (
        "input_rank",
        with_tensor("input", lambda t: t[0]),
        r"input must be 4-D \[N, H, W, group\*group_channels\], got \[5, 6, 8\]",
    ),
    (
        "input_channels",
        with_tensor("input", lambda t: t[..., :7]),
        r"input channels \(last dim\) must equal group\*group_channels = 2\*4 = 8, got 7",
    ),
    (
        "offset_last_dim",
        with_tensor("offset", lambda t: t[..., :-2]),
        r"offset must have shape \[N, H_out, W_out, group\*P\*2\] = \[3, 5, 6, 36\], got \[3, 5, 6, 34\]",
    ),
    (
        "offset_rank",
        with_tensor("offset", lambda t: t.flatten(2)),
        r"offset must have shape .* = \[3, 5, 6, 36\], got \[3, 5, 216\]",
    ),
    (
        "offset_batch",
        with_tensor("offset", lambda t: t[:1]),
        r"offset must have shape .* = \[3, 5, 6, 36\], got \[1, 5, 6, 36\]",
    ),
    (
        "mask_last_dim",
        with_tensor("mask", lambda t: torch.cat([t, t[..., :1]], -1)),
        r"mask must have shape \[N, H_out, W_out, group\*P\] = \[3, 5, 6, 18\], got \[3, 5, 6, 19\]",
    ),
    (
        "mask_spatial",
        with_tensor("mask", lambda t: t[:, :4]),
        r"mask must have shape .* = \[3, 5, 6, 18\], got \[3, 4, 6, 18\]",
    ),
    (
        "offset_dtype",
        with_tensor("offset", lambda t: t.double()),
        r"offset must have the same dtype as input \(float32\), got float64",
    ),
    (
        "mask_dtype",
        with_tensor("mask", lambda t: t.half()),
        r"mask must have the same dtype as input \(float32\), got float16",
    ),
    (
        "input_dtype",
        lambda call: call.update({k: call[k].long() for k in ("input", "offset", "mask", "grad_output")}),
        r"input dtype must be float32, float64, float16 or bfloat16, got int64",
    ),
    (
        "mask_device",
        with_tensor("mask", lambda t: t.to("meta")),
        # On the meta path the roles swap: input on meta, mask on cpu.
        r"mask must be on the same device as input \((cpu|meta)\), got (meta|cpu)",
    ),
    *[
        (f"{name}_{value}", with_attrs(**{name: value}), rf"{name} must be >= 1, got {value}")
        for name, value in [
            ("kernel_h", 0),
            ("kernel_w", -1),
            ("stride_h", 0),
            ("stride_w", -2),
            ("dilation_h", 0),
            ("dilation_w", 0),
            ("group", 0),
            ("group_channels", 0),
            ("im2col_step", 0),
        ]
    ],
    ("pad_h", with_attrs(pad_h=-1), r"pad_h must be >= 0, got -1"),
    ("pad_w", with_attrs(pad_w=-3), r"pad_w must be >= 0, got -3"),
    ("offset_scale_inf", with_attrs(offset_scale=float("inf")), r"offset_scale must be finite, got inf"),
    ("offset_scale_overflows_float", with_attrs(offset_scale=1e300), r"offset_scale must be finite, got inf"),
    # The smallest magnitude float32 rounds to infinity (one below it rounds to FLT_MAX).
    (
        "offset_scale_rounds_to_inf",
        with_attrs(offset_scale=2.0**128 - 2.0**103),
        r"offset_scale must be finite, got inf",
    ),
    (
        "offset_scale_rounds_to_minus_inf",
        with_attrs(offset_scale=-(2.0**128 - 2.0**103)),
        r"offset_scale must be finite, got -inf",
    ),
    ("offset_scale_nan", with_attrs(offset_scale=float("nan")), r"offset_scale must be finite, got nan"),
    ("remove_center_value", with_attrs(remove_center=2), r"remove_center must be 0 or 1, got 2"),
    (
        "remove_center_even",
        with_attrs(kernel_h=4, kernel_w=4, remove_center=1),
        r"remove_center=1 needs a square kernel of odd size, got kernel_h=4, kernel_w=4",
    ),
    (
        "remove_center_non_square",
        with_attrs(kernel_h=3, kernel_w=5, remove_center=1),
        r"remove_center=1 needs a square kernel of odd size, got kernel_h=3, kernel_w=5",
    ),
    (
        "output_empty",
        with_attrs(kernel_h=9, pad_h=1),
        r"output size must be >= 1: input H, W = 5, 6 with pad_h, pad_w = 1, 1 is smaller than the dilated "
        r"kernel 9x3",
    ),
    ("output_empty_dilated", with_attrs(dilation_w=4, pad_w=0), r"output size must be >= 1: .* dilated kernel 3x9"),
    ("im2col_step", with_attrs(im2col_step=2), r"im2col_step must divide the batch size: im2col_step=2, batch=3"),
    # Issue 12: attributes whose products wrapped around int64 and were accepted (or crashed the kernel).
    *[
        (
            f"{name}_too_large",
            with_attrs(**{name: value}),
            rf"{name} must be <= 2147483647 \(InternImage's op takes it as int\), got {value}",
        )
        for name, value in [
            ("kernel_h", 2**32),
            ("kernel_w", 2**31),
            ("stride_w", 2**40),
            ("pad_h", 2**63 - 1),
            ("pad_w", 2**31),
            ("dilation_h", 2**62),
            ("dilation_w", 2**31),
            ("group", 2**61),
            ("group_channels", 2**62),
        ]
    ],
    (
        "remove_center_1x1",
        with_attrs(kernel_h=1, kernel_w=1, pad_h=0, pad_w=0, remove_center=1),
        r"remove_center=1 with a 1x1 kernel leaves no sampling point; use kernel_h = kernel_w >= 3",
    ),
    (
        "offset_channels_overflow",
        with_attrs(group=2**31 - 1, kernel_h=2**31 - 1, kernel_w=2**31 - 1),
        r"group\*P\*2 = 2147483647\*4611686014132420609\*2 exceeds int64: group or kernel_h\*kernel_w is too large",
    ),
    (
        "padded_height_overflow",
        lambda call: call.update(
            input=torch.empty(0, 2**63 - 1, 1, 1),
            offset=torch.empty(0, 1, 1, 18),
            mask=torch.empty(0, 1, 1, 9),
            grad_output=torch.empty(0, 1, 1, 1),
            attrs=Dcnv3Attrs(group_channels=1),
        ),
        r"input H \+ 2\*pad_h = 9223372036854775807 \+ 2\*1 exceeds int64: the input height is too large for pad_h",
    ),
    (
        "output_elements_overflow",
        lambda call: call.update(
            input=torch.empty(0, 2**31, 2**31, 1),
            offset=torch.empty(0, 1, 1, 18),
            mask=torch.empty(0, 1, 1, 9),
            grad_output=torch.empty(0, 1, 1, 1),
            attrs=Dcnv3Attrs(group_channels=1, pad_h=2**30, pad_w=2**30),
        ),
        r"output shape \[N, H_out, W_out, group\*group_channels\] = \[0, 4294967294, 4294967294, 1\] is too "
        r"large: its sizes multiply to more than int64 holds",
    ),
]
BACKWARD_CASES = [
    (
        "grad_output_shape",
        with_tensor("grad_output", lambda t: t[:, :, :5]),
        r"grad_output must have shape \[N, H_out, W_out, group\*group_channels\] = \[3, 5, 6, 8\], got \[3, 5, 5, 8\]",
    ),
    (
        "grad_output_dtype",
        with_tensor("grad_output", lambda t: t.bfloat16()),
        r"grad_output must have the same dtype as input \(float32\), got bfloat16",
    ),
]


def call_op(call, backward, device):
    tensors = [
        call[k] for k in (("input", "offset", "mask", "grad_output") if backward else ("input", "offset", "mask"))
    ]
    if device == "meta":
        # Everything on meta, except what the case put elsewhere on purpose.
        tensors = [t.to("meta") if t.device.type == "cpu" else torch.empty_like(t, device="cpu") for t in tensors]
    op = torch.ops.npu.dcnv3_backward if backward else torch.ops.npu.dcnv3
    with pytest.raises(RuntimeError) as error:
        op(*tensors, *call["attrs"].args())
    return str(error.value).splitlines()[0]


def assert_same_error_everywhere(break_call, message, backward):
    call = good_call()
    break_call(call)
    got = {device: call_op(call, backward, device) for device in ("cpu", "meta")}
    if "device" not in message:  # the device message names the devices, which differ by path
        assert got["cpu"] == got["meta"]
    for text in got.values():
        assert re.match(message, text), text


@pytest.mark.parametrize("break_call,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("backward", [False, True], ids=["forward", "backward"])
def test_bad_input(break_call, message, backward):
    assert_same_error_everywhere(break_call, message, backward)


@pytest.mark.parametrize("break_call,message", [c[1:] for c in BACKWARD_CASES], ids=[c[0] for c in BACKWARD_CASES])
def test_bad_grad_output(break_call, message):
    assert_same_error_everywhere(break_call, message, backward=True)


def test_issue_12_overflow_call_is_rejected():
    """The call that crashed the process: kernel_h * kernel_w wrapped around to 0 points."""
    e = torch.zeros(1, 2, 2, 0)
    args = (2**32, 2**32, 1, 1, 2**31, 2**31, 1, 1, 1, 4, 1.0, 256, 0)
    for device in ("cpu", "meta"):
        x, e_dev = torch.randn(1, 1, 1, 4, device=device), e.to(device)
        with pytest.raises(RuntimeError, match=r"kernel_h must be <= 2147483647 .*got 4294967296"):
            torch.ops.npu.dcnv3(x, e_dev, e_dev, *args)
        with pytest.raises(RuntimeError, match=r"kernel_h must be <= 2147483647 .*got 4294967296"):
            torch.ops.npu.dcnv3_backward(x, e_dev, e_dev, torch.zeros(1, 2, 2, 4, device=device), *args)


def test_good_call_passes_on_both_paths():
    call = good_call()
    for device in ("cpu", "meta"):
        tensors = [call[k].to(device) for k in ("input", "offset", "mask")]
        assert torch.ops.npu.dcnv3(*tensors, *GOOD.args()).shape == (3, 5, 6, 8)


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("name", ["input", "offset", "mask"])
def test_none_for_a_tensor_is_named(name, requires_grad):
    tensors = good_call()
    call = {k: tensors[k].requires_grad_(requires_grad) for k in ("input", "offset", "mask")}
    call[name] = None
    with pytest.raises(RuntimeError, match=f"{name} must be a tensor, got None"):
        torch.ops.npu.dcnv3(call["input"], call["offset"], call["mask"], *GOOD.args())


def test_device_without_kernel_is_named():
    call = good_call()
    with pytest.raises(
        NotImplementedError,
        match=r"npu::dcnv3 has no kernel for input on device 'cpu' with "
        r"layout torch.sparse_coo",
    ):
        torch.ops.npu.dcnv3(call["input"].to_sparse(), call["offset"], call["mask"], *GOOD.args())


# (argument, how to make it one no kernel takes, what the message says of it). The dispatcher
# picks the backend from every tensor argument, so the message must name the one at fault, not
# input (which read "input on device 'cpu' with layout torch.strided" for a sparse offset).
UNSUPPORTED_ARGUMENTS = [
    ("offset", lambda t: t.to_sparse(), r"layout torch.sparse_coo"),
    ("mask", lambda t: t.to_mkldnn(), r"layout torch._mkldnn"),
    ("input", lambda t: torch.quantize_per_tensor(t, 0.1, 0, torch.qint8), r"layout torch.strided and quantized"),
    ("grad_output", lambda t: t.to_sparse(), r"layout torch.sparse_coo"),
]


@pytest.mark.parametrize("name,convert,layout", UNSUPPORTED_ARGUMENTS, ids=[c[0] for c in UNSUPPORTED_ARGUMENTS])
def test_argument_without_kernel_is_the_one_named(name, convert, layout):
    call = good_call()
    call[name] = convert(call[name])
    backward = name == "grad_output"
    names = ("input", "offset", "mask", "grad_output") if backward else ("input", "offset", "mask")
    op = torch.ops.npu.dcnv3_backward if backward else torch.ops.npu.dcnv3
    with pytest.raises(NotImplementedError, match=rf"has no kernel for {name} on device 'cpu' with {layout}"):
        op(*(call[k] for k in names), *GOOD.args())


@pytest.mark.parametrize("layout", [torch.strided, torch.jagged], ids=["strided", "jagged"])
@pytest.mark.parametrize("mode", ["grad", "no_grad", "inference"])
@pytest.mark.parametrize("name", ["input", "offset", "grad_output"])
def test_nested_tensor_is_named(name, mode, layout):
    """A nested tensor used to fail inside autograd ("NestedTensorImpl doesn't support sizes")
    or in the nested dispatcher ("npu.dcnv3.default"), naming no argument."""
    call = good_call()
    call[name] = torch.nested.nested_tensor(list(call[name]), layout=layout)
    backward = name == "grad_output"
    names = ("input", "offset", "mask", "grad_output") if backward else ("input", "offset", "mask")
    op = torch.ops.npu.dcnv3_backward if backward else torch.ops.npu.dcnv3
    context = {"grad": torch.enable_grad, "no_grad": torch.no_grad, "inference": torch.inference_mode}[mode]
    with context(), pytest.raises(NotImplementedError, match=rf"has no kernel for {name} .*\(a nested tensor\)"):
        op(*(call[k] for k in names), *GOOD.args())


@pytest.mark.parametrize("value", [2.0**128 - 2.0**104, math.nextafter(2.0**128 - 2.0**103, 0)])
def test_offset_scale_that_rounds_to_float32_max_is_accepted(value):
    """The float32 rounding edge: the C++ check (static_cast<float>) and the Python one agree."""
    call = good_call()
    attrs = dataclasses.replace(GOOD, offset_scale=value)
    _checks.validate_attrs(attrs)
    out = torch.ops.npu.dcnv3(call["input"], call["offset"], call["mask"], *attrs.args())
    assert out.shape == call["input"].shape


@pytest.mark.parametrize("value", ["2", b"2", None, [1.0]])
def test_package_function_names_an_offset_scale_that_is_not_a_number(value):
    """dcnv3_ascend.dcnv3 made offset_scale a float, so "2" ran as 2.0."""
    call = good_call()
    with pytest.raises(ValueError, match=f"^offset_scale must be a number, got {re.escape(repr(value))}$"):
        dcnv3_ascend.dcnv3(call["input"], call["offset"], call["mask"], offset_scale=value)


def package_functions(call):
    """[(dcnv3_ascend.dcnv3 or dcnv3_backward, its tensor arguments from `call`)]."""
    tensors = (call["input"], call["offset"], call["mask"])
    return [(dcnv3_ascend.dcnv3, tensors), (dcnv3_ascend.dcnv3_backward, (*tensors, call["grad_output"]))]


@pytest.mark.parametrize("name,value", [("kernel_h", 2**64), ("pad_w", -(2**64)), ("group", 2**100)])
def test_package_function_names_attributes_past_int64(name, value):
    """dcnv3_ascend.dcnv3 with keywords: torch's schema said "Expected a value of type 'int' for
    argument 'kernel_h' but instead found type 'int'"; the op's own check names the limit."""
    call = good_call()
    attrs = dataclasses.asdict(dataclasses.replace(GOOD, **{name: value}))
    for fn, tensors in package_functions(call):
        with pytest.raises(RuntimeError, match=rf"^{name} must be (<=|>=) .*got {value}$"):
            fn(*tensors, **attrs)


@pytest.mark.parametrize("name,value", [("stride_h", torch.tensor(1.5)), ("im2col_step", torch.tensor([0.5]))])
def test_package_function_names_a_float_tensor_for_an_integer_attribute(name, value):
    """The schema truncates a float tensor given for an int: stride_h=tensor(1.5) ran as stride 1,
    and im2col_step=tensor(0.5) was refused as 'got 0', a value never passed."""
    call = good_call()
    attrs = dataclasses.asdict(dataclasses.replace(GOOD, **{name: value}))
    for fn, tensors in package_functions(call):
        with pytest.raises(ValueError, match=f"^{name} must be an integer, got {re.escape(repr(value))}$"):
            fn(*tensors, **attrs)
