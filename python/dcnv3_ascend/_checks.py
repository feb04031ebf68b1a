"""Argument checks of npu::dcnv3 in Python, for the fake kernels and the grid_sample fallback.

A mirror of op_host/dcnv3_contract.h (ValidateAttrs, ValidateShapes) and
python/csrc/dcnv3_args.cpp (dtypes, devices) with the same checks, in the same order, and the
same messages, so an error reads the same from the CPU kernel, the NPU adapter, the meta/fake
path and the fallback. tests/test_op_bad_input.py holds every path to that for each rule, and
tests/op_fuzz.py checks that this file and the C++ accept and reject the same random calls
(attributes up to 2**64, wrapped-around shapes, empty dimensions).

Sizes may be SymInts (torch.compile with dynamic shapes): size comparisons go through _require,
which records a guard or a runtime assert instead of branching in Python.
"""

import collections
import math
import operator

import torch

from .attrs import ATTRIBUTE_IS_FLOAT, Dcnv3Attrs

SUPPORTED_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)

# What a kernel needs to know about one call, as dcnv3::Problem.
Problem = collections.namedtuple("Problem", "batch height_in width_in height_out width_out channels points")

INT64_MAX = 2**63 - 1
# dcnv3::kMaxGeometryAttr: InternImage's op takes these attributes as int.
MAX_GEOMETRY_ATTR = 2**31 - 1
# (name, smallest, largest) of the integer attributes but remove_center, in schema order
# (dcnv3::ValidateAttrs walks them in the same order).
_INT_ATTR_RANGES = tuple(
    (name, 0 if name.startswith("pad_") else 1, INT64_MAX if name == "im2col_step" else MAX_GEOMETRY_ATTR)
    for name, is_float in ATTRIBUTE_IS_FLOAT.items()
    if not is_float and name != "remove_center"
)


# The smallest magnitude that rounds to infinity in float32 (halfway between FLT_MAX = 2^128 - 2^104
# and 2^128; the tie goes to 2^128, whose mantissa is even): the kernels take offset_scale as float32.
FLOAT32_OVERFLOW = 2.0**128 - 2.0**103


def _float32_text(value):
    """How C++ prints `static_cast<float>(value)` for a non-finite float32: nan, inf or -inf."""
    if math.isnan(value):
        return "nan"
    return "inf" if value > 0 else "-inf"


def _is_finite_float32(value):
    # Comparisons only (NaN fails the first, infinities the second): dynamo traces them for a
    # symbolic float, which math.isfinite it cannot.
    return value == value and -FLOAT32_OVERFLOW < value < FLOAT32_OVERFLOW


def integer(name, value):
    """value as an int (a Python or NumPy integer, or a one-element integer tensor; bools count, as
    in Python), else an ArgumentError naming the argument. int() would truncate 0.5 to 0 and run."""
    try:
        return operator.index(value)
    except TypeError:
        _fail(f"{name} must be an integer, got {value!r}")


def attr_args(values):
    """The 13 attributes of the mapping `values` (attribute name -> value: a Dcnv3Attrs' vars, or
    the locals() of a function whose parameters bear the attributes' names) as the op's positional
    arguments, Python ints and a float, each checked by integer or finite_number: the op's schema
    would truncate a float tensor given for an int (stride 1.5 ran as 1), and the checks below
    branch on the values, which a NumPy integer or a tensor would not do there. A tuple, no
    Dcnv3Attrs: DCNv3Function.apply pays this at every call, where building and unpacking one
    cost several microseconds more."""
    return tuple(
        finite_number(name, values[name]) if is_float else integer(name, values[name])
        for name, is_float in ATTRIBUTE_IS_FLOAT.items()
    )


def as_python_attrs(attrs):
    """attrs with Python ints and a float, checked as attr_args checks them."""
    return Dcnv3Attrs(*attr_args(vars(attrs)))


def _as_float(value):
    """value as a float (a Python or NumPy number, or a one-element tensor), None for anything
    else, strings included: float("2") would convert."""
    try:
        return None if isinstance(value, (str, bytes)) else float(value)
    except (TypeError, ValueError, RuntimeError):
        return None


def number(name, value):
    """value as a float, else an ArgumentError naming the argument. Traceable by torch.compile
    with dynamic shapes, where the value may be symbolic (finite_number's test is not)."""
    result = _as_float(value)
    if result is None:
        _fail(f"{name} must be a number, got {value!r}")
    return result


def finite_number(name, value):
    """value as a float that float32 holds finitely, as the kernels take it, else an ArgumentError
    naming the argument: None, NaN or 1e39 would fail only at the first call of a layer, with a
    message about the op."""
    result = _as_float(value)
    if result is None or not _is_finite_float32(result):
        _fail(f"{name} must be a finite number, got {value!r}")
    return result


def _require(condition, message):
    """torch._check(condition, message), also where dynamo traces this code (DCNv3_pytorch under
    torch.compile): dynamo cannot turn a message closure into a graph, and the graph break it
    takes instead cannot resume with a Dcnv3Attrs (a frozen dataclass) live, so compiling
    failed. A concrete condition branches in Python; a symbolic one traced by dynamo is checked
    without its message (the runtime assert says which condition failed)."""
    if isinstance(condition, bool):
        if not condition:
            _fail(message())
    elif torch.compiler.is_dynamo_compiling():
        torch._check(condition)
    else:
        torch._check(condition, message)


def _sizes(t):
    """t's sizes: as Python ints under torch.jit.trace, which gives them as 0-dim tensors that
    neither the checks nor the fallback's padding can branch on (the trace then holds them as
    constants, as torch warns)."""
    if torch.jit.is_tracing():
        return tuple(int(size) for size in t.shape)
    return t.shape


def dtype_name(dtype):
    return str(dtype).removeprefix("torch.")


def _dims(sizes):
    """C++ DimsToString: [1, 2, 3]."""
    return "[" + ", ".join(str(s) for s in sizes) + "]"


class ArgumentError(RuntimeError, ValueError):
    """A bad argument: a RuntimeError, as the C++ checks raise, and a ValueError, as InternImage's
    pure-PyTorch dcnv3_core_pytorch raises for its own argument check."""


def _fail(message):
    raise ArgumentError(message)


def validate_attrs(attrs):
    """dcnv3::ValidateAttrs for a Dcnv3Attrs: raises RuntimeError naming the first bad attribute."""
    for name, low, high in _INT_ATTR_RANGES:
        value = getattr(attrs, name)
        if value < low:
            _fail(f"{name} must be >= {low}, got {value}")
        if value > high:
            _fail(f"{name} must be <= {high} (InternImage's op takes it as int), got {value}")
    # The kernels take offset_scale as float32 (as InternImage's op does); so does this test.
    if not _is_finite_float32(attrs.offset_scale):
        _fail(f"offset_scale must be finite, got {_float32_text(attrs.offset_scale)}")
    kernel_h, kernel_w, remove_center = attrs.kernel_h, attrs.kernel_w, attrs.remove_center
    if remove_center not in (0, 1):
        _fail(f"remove_center must be 0 or 1, got {remove_center}")
    if remove_center and (kernel_h != kernel_w or kernel_h % 2 == 0):
        _fail(f"remove_center=1 needs a square kernel of odd size, got kernel_h={kernel_h}, kernel_w={kernel_w}")
    if remove_center and kernel_h == 1:
        _fail("remove_center=1 with a 1x1 kernel leaves no sampling point; use kernel_h = kernel_w >= 3")
    if attrs.group * attrs.points * 2 > INT64_MAX:
        _fail(f"group*P*2 = {attrs.group}*{attrs.points}*2 exceeds int64: group or kernel_h*kernel_w is too large")


def _check_like_input(name, t, input):
    if t is None:
        _fail(f"{name} must be a tensor, got None")
    if t.dtype != input.dtype:
        _fail(f"{name} must have the same dtype as input ({dtype_name(input.dtype)}), got {dtype_name(t.dtype)}")
    if t.device != input.device:
        _fail(f"{name} must be on the same device as input ({input.device}), got {t.device}")


def _check_shape(name, t, want, last_desc):
    def message():
        return f"{name} must have shape [N, H_out, W_out, {last_desc}] = {_dims(want)}, got {_dims(t.shape)}"

    if t.dim() != 4:
        _fail(message())
    for got, expected in zip(_sizes(t), want):
        _require(got == expected, message)


def check_dcnv3_args(input, offset, mask, grad_output, attrs):
    """dcnv3::CheckDcnv3Args: validates one call and returns its Problem.

    grad_output is None for the forward op; attrs is a Dcnv3Attrs. Raises RuntimeError with the C++
    messages.
    """
    if input is None:
        _fail("input must be a tensor, got None")
    if input.dtype not in SUPPORTED_DTYPES:
        _fail(f"input dtype must be float32, float64, float16 or bfloat16, got {dtype_name(input.dtype)}")
    _check_like_input("offset", offset, input)
    _check_like_input("mask", mask, input)
    if grad_output is not None:
        _check_like_input("grad_output", grad_output, input)

    validate_attrs(attrs)
    if input.dim() != 4:
        _fail(f"input must be 4-D [N, H, W, group*group_channels], got {_dims(input.shape)}")
    n, h, w, c = _sizes(input)
    group, group_channels, pad_h, pad_w = attrs.group, attrs.group_channels, attrs.pad_h, attrs.pad_w
    channels = attrs.channels
    _require(
        c == channels,
        lambda: (
            f"input channels (last dim) must equal group*group_channels = {group}*{group_channels} = {channels}, "
            f"got {c}"
        ),
    )
    span_h, span_w = attrs.kernel_span
    # Python ints do not wrap: compare with int64's limit where the C++ checks for overflow.
    _require(
        h + 2 * pad_h <= INT64_MAX,
        lambda: f"input H + 2*pad_h = {h} + 2*{pad_h} exceeds int64: the input height is too large for pad_h",
    )
    _require(
        w + 2 * pad_w <= INT64_MAX,
        lambda: f"input W + 2*pad_w = {w} + 2*{pad_w} exceeds int64: the input width is too large for pad_w",
    )
    _require(
        (h + 2 * pad_h >= span_h) & (w + 2 * pad_w >= span_w),
        lambda: (
            f"output size must be >= 1: input H, W = {h}, {w} with pad_h, pad_w = {pad_h}, {pad_w} "
            f"is smaller than the dilated kernel {span_h}x{span_w}"
        ),
    )
    h_out, w_out = attrs.output_size(h, w)
    points = attrs.points
    out_dims = (n, h_out, w_out, c)
    out_elements = 1
    for size in out_dims:  # zero sizes count as 1: strides must fit too
        out_elements = out_elements * torch.sym_max(size, 1)
    _require(
        out_elements <= INT64_MAX,
        lambda: (
            f"output shape [N, H_out, W_out, group*group_channels] = {_dims(out_dims)} is too large: its sizes "
            f"multiply to more than int64 holds"
        ),
    )
    _check_shape("offset", offset, (n, h_out, w_out, group * points * 2), "group*P*2")
    _check_shape("mask", mask, (n, h_out, w_out, group * points), "group*P")
    if grad_output is not None:
        _check_shape("grad_output", grad_output, (n, h_out, w_out, c), "group*group_channels")
    # InternImage clamps the step to the batch, then requires it to divide the batch: always true
    # for a batch up to the step. Spelled so, an exported batch bounded by the step needs no guard.
    _require(
        (n <= attrs.im2col_step) | (n % attrs.im2col_step == 0),
        lambda: f"im2col_step must divide the batch size: im2col_step={attrs.im2col_step}, batch={n}",
    )
    return Problem(n, h, w, h_out, w_out, c, points)


def check_dw_conv_args(input, weight, bias, norm_weight, norm_bias, grad_output, eps):
    """dcnv3::CheckDwConvArgs (npu::dcnv3_dw_conv; grad_output None for the forward op): raises
    RuntimeError with the C++ messages."""
    if input is None:
        _fail("input must be a tensor, got None")
    if input.dtype not in SUPPORTED_DTYPES:
        _fail(f"input dtype must be float32, float64, float16 or bfloat16, got {dtype_name(input.dtype)}")
    if input.dim() != 4:
        _fail(f"input must be [N, H, W, C] (4-D), got {_dims(input.shape)}")
    params = {"weight": weight, "bias": bias, "norm_weight": norm_weight, "norm_bias": norm_bias}
    for name, t in params.items():
        _check_like_input(name, t, input)
    channels = input.shape[3]
    k = weight.shape[2] if weight.dim() == 4 else 0
    if not (weight.dim() == 4 and tuple(weight.shape) == (channels, 1, k, k) and k % 2 == 1):
        _fail(
            f"weight must be [C, 1, k, k] with C = {channels} (input's channels) and k odd, got {_dims(weight.shape)}"
        )
    for name in ("bias", "norm_weight", "norm_bias"):
        if tuple(params[name].shape) != (channels,):
            _fail(f"{name} must be [C] with C = {channels} (input's channels), got {_dims(params[name].shape)}")
    if grad_output is not None:
        _check_like_input("grad_output", grad_output, input)
        if grad_output.shape != input.shape:
            _fail(f"grad_output must have input's shape {_dims(input.shape)}, got {_dims(grad_output.shape)}")
    if input.dtype == torch.float64:
        if not (math.isfinite(eps) and eps >= 0):
            _fail(f"eps must be finite and >= 0, got {eps:g}")
    elif not (eps >= 0 and _is_finite_float32(eps)):
        _fail(
            f"eps must be finite and >= 0 in float32 (the accumulation type for {dtype_name(input.dtype)} input;"
            f" at most about 3.40282e+38), got {eps:g}"
        )
