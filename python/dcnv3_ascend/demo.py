"""A short tour of torch.ops.npu.dcnv3 on CPU:  python -m dcnv3_ascend.demo

Runs one InternImage-T stage-1 DCNv3 layer (56x56, 64 channels, 4 groups, 3x3) forward and
backward with the compiled CPU kernel, checks it against the grid_sample fallback (outputs and
all three gradients), and times both. Takes a few seconds.
"""

import argparse

import torch

from . import HAS_EXTENSION, dcnv3
from .attrs import Dcnv3Attrs
from .bench import median_ms
from .fallback import dcnv3_fallback


def _kernel(input, offset, mask, attrs):
    return dcnv3(input, offset, mask, *attrs.args())


def _forward_backward(op, leaves, attrs, grad_output):
    for t in leaves:
        t.grad = None
    out = op(*leaves, attrs)
    out.backward(grad_output)
    return out.detach(), [t.grad for t in leaves]


def main(argv=None):
    # No options, but a parser all the same: --help explains instead of running the demo, and
    # an unknown option is refused instead of ignored.
    parser = argparse.ArgumentParser(
        prog="python -m dcnv3_ascend.demo",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    torch.manual_seed(0)
    attrs = Dcnv3Attrs(group=4, group_channels=16, offset_scale=1.0)
    batch, height, width = 2, 56, 56
    h_out, w_out = attrs.output_size(height, width)
    # NHWC: the layer's value projection, and the offset/mask its linear layers predict.
    input = torch.randn(batch, height, width, attrs.channels)
    offset = torch.randn(batch, h_out, w_out, attrs.group * attrs.points * 2) * 2
    mask = torch.randn(batch, h_out, w_out, attrs.group, attrs.points).softmax(-1).flatten(3)
    grad_output = torch.randn(batch, h_out, w_out, attrs.channels)
    leaves = [t.clone().requires_grad_() for t in (input, offset, mask)]

    print(
        f"dcnv3_ascend demo: compiled extension {'loaded' if HAS_EXTENSION else 'MISSING (fallback in use)'}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"input {list(input.shape)}, offset {list(offset.shape)}, mask {list(mask.shape)}, {attrs}")

    out, grads = _forward_backward(_kernel, leaves, attrs, grad_output)
    want, want_grads = _forward_backward(dcnv3_fallback, leaves, attrs, grad_output)
    print(f"output {list(out.shape)}; max |kernel - grid_sample fallback|:")
    for name, got, ref in zip(("output", "grad_input", "grad_offset", "grad_mask"), (out, *grads), (want, *want_grads)):
        print(f"  {name:12} {(got - ref).abs().max().item():.2e}   (max |value| {ref.abs().max().item():.2e})")

    timings = {}
    for name, op in (("cpu kernel", _kernel), ("grid_sample", dcnv3_fallback)):
        with torch.no_grad():
            forward = median_ms(lambda: op(input, offset, mask, attrs), repeats=5, warmup=1)
        both = median_ms(lambda: _forward_backward(op, leaves, attrs, grad_output), repeats=5, warmup=1)
        timings[name] = (forward, both)
        print(f"{name:12} forward {forward:8.2f} ms   forward+backward {both:8.2f} ms")
    (kf, kb), (ff, fb) = timings["cpu kernel"], timings["grid_sample"]
    print(f"speed-up over grid_sample: forward {ff / kf:.1f}x, forward+backward {fb / kb:.1f}x")


if __name__ == "__main__":
    main()
