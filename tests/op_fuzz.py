"""Seeded fuzz of npu::dcnv3 and npu::dcnv3_backward: the C++ CPU kernel against the fake (meta)
kernel and, for small valid calls, against the float64 reference.

Run as a script (tests/test_op_fuzz.py does, in a subprocess, so that a crash fails a test instead
of killing pytest): `python tests/op_fuzz.py --seed 0 --calls 300`. Each call draws attributes that
include values around 2**31, 2**32, 2**62, 2**63 and 2**64, tensor shapes derived from them (with
empty dimensions where the sizes are huge) and sometimes broken, every dtype, and contiguous or
strided layouts. For every call, both paths must accept it with the same output shapes, or both
reject it with the same exception type and message. Prints the call before running it, so the
last line names the call that crashed; exits 1 with a description on the first disagreement.
"""

import argparse
import collections
import random
import sys

import torch

import dcnv3_ascend  # registers torch.ops.npu.dcnv3
from dcnv3_ascend._checks import ArgumentError
from dcnv3_ascend.attrs import ATTRIBUTE_IS_FLOAT, Dcnv3Attrs
from dcnv3_ascend.reference import dcnv3_reference, dcnv3_reference_backward

INT_ATTRS = tuple(name for name, is_float in ATTRIBUTE_IS_FLOAT.items() if not is_float)
# Values at and beyond the limits of int32, int64 and uint64 (the schema takes int64).
EDGE_INTS = (0, -1, 2**31 - 1, 2**31, 2**32, 2**32 + 1, 2**61, 2**62, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63))
SMALL_INTS = dict(
    kernel_h=(1, 2, 3, 5),
    kernel_w=(1, 2, 3),
    stride_h=(1, 2),
    stride_w=(1, 3),
    pad_h=(0, 1, 2),
    pad_w=(0, 1),
    dilation_h=(1, 2),
    dilation_w=(1, 3),
    group=(1, 2, 3),
    group_channels=(1, 2, 4),
    im2col_step=(1, 2, 64, 256),
    remove_center=(0, 0, 1),
)
# Scales exact in float32, so the kernels' float32 offset_scale equals the reference's.
SCALES = (1.0, 0.5, 2.0, 0.0, -1.5)
EDGE_SCALES = (float("inf"), float("-inf"), float("nan"), 1e300)
DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
LAYOUTS = ("contiguous", "strided", "transposed", "expanded")
# Largest call checked against the float64 reference (sampling points), and largest tensor built.
REFERENCE_POINTS = 300
MAX_ELEMENTS = 4096


def draw_attrs(rng):
    """Small valid-looking attributes, with edge values in some calls: in one call in three, one to
    three attributes at once (overflows need several large factors)."""
    values = {name: rng.choice(SMALL_INTS[name]) for name in INT_ATTRS}
    if rng.random() < 0.35:
        for name in rng.sample(INT_ATTRS, rng.randint(1, 3)):
            values[name] = rng.choice(EDGE_INTS)
        if rng.random() < 0.3:  # a square kernel: kernel_h * kernel_w
            values["kernel_w"] = values["kernel_h"]
    scale = rng.choice(EDGE_SCALES) if rng.random() < 0.05 else rng.choice(SCALES)
    return Dcnv3Attrs(offset_scale=scale, **values)


def _wrap(x):
    """x as int64 arithmetic would leave it (two's complement wrap-around)."""
    return (x + 2**63) % 2**64 - 2**63


def _c_div(a, b):
    """C++ integer division (truncates towards zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def contract_shapes(a, batch, height, width, wrap):
    """[input, offset, mask, grad_output] shapes the contract asks for; with `wrap`, computed in
    wrapping int64 arithmetic, as an unchecked C++ contract would, so that the fuzz builds the
    tensors an overflow bug would accept."""
    w = _wrap if wrap else (lambda x: x)
    points = w(w(a.kernel_h * a.kernel_w) - a.remove_center)
    channels = w(a.group * a.group_channels)

    def out(size, pad, dilation, kernel, stride):
        span = w(w(dilation * (kernel - 1)) + 1)
        if stride == 0:
            return 1
        return w(_c_div(w(w(size + w(2 * pad)) - span), stride) + 1) if wrap else (size + 2 * pad - span) // stride + 1

    h_out = out(height, a.pad_h, a.dilation_h, a.kernel_h, a.stride_h)
    w_out = out(width, a.pad_w, a.dilation_w, a.kernel_w, a.stride_w)
    return [
        [batch, height, width, channels],
        [batch, h_out, w_out, w(w(a.group * points) * 2)],
        [batch, h_out, w_out, w(a.group * points)],
        [batch, h_out, w_out, channels],
    ]


def intended_shapes(rng, attrs):
    """Shapes of input, offset, mask, grad_output as the contract wants them (or as a wrapping
    int64 computation gets them), with batch 0 when they would not fit in memory, then sometimes
    one size broken."""
    batch = rng.choice((0, 1, 2, 3))
    height, width = rng.choice((0, 1, 3, 4, 6)), rng.choice((0, 1, 2, 5))
    if rng.random() < 0.05:
        height = rng.choice((2**31, 2**62, 2**63 - 1))
    shapes = contract_shapes(attrs, batch, height, width, wrap=rng.random() < 0.5)
    if rng.random() < 0.15:
        shape = rng.choice(shapes)
        shape[rng.randrange(4)] += rng.choice((-1, 1))
    if any(_numel(s) > MAX_ELEMENTS for s in shapes):
        for s in shapes:
            s[0] = 0
    return shapes


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def make_tensor(shape, dtype, layout):
    """A tensor of `shape` with `layout`; None when torch cannot represent it (negative or huge sizes)
    or it holds more than MAX_ELEMENTS values."""
    if _numel(shape) > MAX_ELEMENTS:
        return None
    try:
        if layout == "strided" and shape[3] > 0:  # every other channel of a wider tensor
            t = torch.randn(*shape[:3], shape[3] * 2, dtype=torch.float64)[..., ::2]
        elif layout == "transposed":  # H and W swapped in memory
            t = torch.randn(shape[0], shape[2], shape[1], shape[3], dtype=torch.float64).transpose(1, 2)
        elif layout == "expanded" and shape[0] > 1:  # one image broadcast over the batch (stride 0)
            t = torch.randn(1, *shape[1:], dtype=torch.float64).expand(*shape)
        else:
            t = torch.randn(*shape, dtype=torch.float64)
    except (RuntimeError, TypeError, ValueError, OverflowError):
        return None
    return t.to(dtype)


def outcome(fn):
    """('ok', shapes) or ('error', exception type, first line of its message)."""
    try:
        result = fn()
    except (RuntimeError, TypeError, ValueError, IndexError, OverflowError, NotImplementedError) as e:
        # The Python checks' ArgumentError is the RuntimeError the C++ checks raise (and a ValueError).
        kind = "RuntimeError" if isinstance(e, ArgumentError) else type(e).__name__
        return ("error", kind, str(e).splitlines()[0] if str(e) else "")
    results = result if isinstance(result, (tuple, list)) else (result,)
    return ("ok", tuple(tuple(r.shape) for r in results), tuple(r.dtype for r in results))


def to_meta(t):
    return torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="meta")


def check_reference(tensors, attrs, backward, got):
    """For small valid float64 calls: the CPU result against the float64 reference."""
    input, offset, mask = tensors[:3]
    if backward:
        want = dcnv3_reference_backward(*tensors, attrs)
    else:
        want = (dcnv3_reference(input, offset, mask, attrs),)
    for g, w in zip(got, want):
        w = torch.as_tensor(w, dtype=torch.float64)
        scale = max(1.0, float(w.abs().max())) if w.numel() else 1.0
        error = float((g - w).abs().max()) / scale if w.numel() else 0.0
        if not error <= 1e-10:
            return f"differs from the float64 reference by {error:.3g}"
    return None


# Calls that crashed the process or were accepted with wrapped-around sizes before issue 12:
# the issue's call, then attributes with the shapes a wrapping int64 contract derived for them.
# Run first, forward and backward, by every fuzz run.
ISSUE_12_CALL = (
    Dcnv3Attrs(2**32, 2**32, 1, 1, 2**31, 2**31, 1, 1, 1, 4, 1.0, 256, 0),
    [[1, 1, 1, 4], [1, 2, 2, 0], [1, 2, 2, 0], [1, 2, 2, 4]],
)
ISSUE_12_ATTRS = [
    Dcnv3Attrs(group=4, group_channels=2**62),
    Dcnv3Attrs(group=2**61, group_channels=8, kernel_h=1, kernel_w=1, pad_h=0, pad_w=0),
    Dcnv3Attrs(group=2**62, group_channels=4, kernel_h=1, kernel_w=1, pad_h=0, pad_w=0),
    Dcnv3Attrs(pad_h=2**63 - 1, group_channels=4),
    Dcnv3Attrs(dilation_h=2**62, group_channels=4),
    Dcnv3Attrs(kernel_h=1, kernel_w=1, pad_h=0, pad_w=0, remove_center=1, group_channels=4),
]


def issue_12_calls():
    """(attrs, backward, tensors) of the issue 12 calls that torch can build, float32."""
    cases = [ISSUE_12_CALL] + [
        (a, contract_shapes(a, batch, 1, 1, wrap=True)) for a in ISSUE_12_ATTRS for batch in (0, 1)
    ]
    for attrs, shapes in cases:
        tensors = [make_tensor(s, torch.float32, "contiguous") for s in shapes]
        for backward in (False, True):
            if all(t is not None for t in tensors[: 4 if backward else 3]):
                yield attrs, backward, tensors[: 4 if backward else 3]


def draw_call(rng):
    """(attrs, backward, tensors) of one random call; tensors is None when torch cannot build them."""
    attrs = draw_attrs(rng)
    backward = rng.random() < 0.5
    dtype = rng.choice(DTYPES)
    layouts = [rng.choice(LAYOUTS) for _ in range(4)]
    shapes = intended_shapes(rng, attrs)[: 4 if backward else 3]
    tensors = [make_tensor(s, dtype, layout) for s, layout in zip(shapes, layouts)]
    if any(t is None for t in tensors):
        return attrs, backward, None
    if rng.random() < 0.03:  # one tensor of another dtype
        i = rng.randrange(len(tensors))
        tensors[i] = tensors[i].to(rng.choice((torch.float64, torch.int64, torch.float16)))
    return attrs, backward, tensors


def run_call(attrs, backward, tensors, index, counts):
    """Runs one call on both paths: None when they agree, else a description of the disagreement.
    Counts outcomes in `counts`."""
    dtype = tensors[0].dtype
    op = torch.ops.npu.dcnv3_backward if backward else torch.ops.npu.dcnv3
    description = (
        f"call {index}: {'backward' if backward else 'forward'} {attrs} "
        f"shapes={[list(t.shape) for t in tensors]} strides={[t.stride() for t in tensors]} "
        f"dtypes={[str(t.dtype) for t in tensors]}"
    )
    print(description, flush=True)
    cpu_result = []

    def on_cpu():
        out = op(*tensors, *attrs.args())
        cpu_result.extend(out if isinstance(out, (tuple, list)) else (out,))
        return out

    cpu = outcome(on_cpu)
    meta = outcome(lambda: op(*[to_meta(t) for t in tensors], *attrs.args()))
    if cpu != meta:
        return f"{description}\n  cpu:  {cpu}\n  meta: {meta}"
    if cpu[0] == "error":
        counts["rejected"] += 1
        return None
    counts["accepted"] += 1
    n, h, w, c = tensors[0].shape
    want = [tuple(t.shape) for t in tensors[:3]] if backward else [(n, *attrs.output_size(h, w), c)]
    if list(cpu[1]) != want:
        return f"{description}\n  accepted with output shapes {cpu[1]}, the contract says {want}"
    # mask has one value per sampling point.
    if dtype == torch.float64 and all(t.dtype == dtype for t in tensors) and tensors[2].numel() <= REFERENCE_POINTS:
        counts["checked against the reference"] += 1
        error = check_reference(tensors, attrs, backward, cpu_result)
        if error:
            return f"{description}\n  {error}"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    if not dcnv3_ascend.HAS_EXTENSION:
        sys.exit("op_fuzz.py: dcnv3_ascend._C is not built; the fuzz checks the C++ CPU kernel")
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    counts = collections.Counter()

    def calls():
        yield from issue_12_calls()
        while True:
            attrs, backward, tensors = draw_call(rng)
            if tensors is not None:
                yield attrs, backward, tensors

    for index, call in zip(range(args.calls), calls()):
        failure = run_call(*call, index, counts)
        if failure:
            print("DISAGREEMENT " + failure, flush=True)
            sys.exit(1)
    made = args.calls
    print(f"fuzz: {made} calls agree: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())), flush=True)


if __name__ == "__main__":
    main()
