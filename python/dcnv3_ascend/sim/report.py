"""Data movement of the simulated DCNv3 kernels on InternImage's layer shapes.

    python -m dcnv3_ascend.sim.report [--dtype float32|float16|bfloat16] [--soc Ascend910B3]
                                      [--offset-px 2.0] [--rows N]

For every DCNv3 layer shape of InternImage-T and -B (224x224 input, batch 1, 3x3 kernel, pad 1,
group_channels 16, offsets uniform in +-offset_px pixels) it runs the forward and backward kernels
in the simulator and prints:
  GM traffic   bytes the kernels moved between GM and UB, and its ratio to the op's minimum
               (every input read once, every output written once; the fp32 workspace of the
               half-type backward is extra traffic, not part of the minimum)
  DMA/pg, DMA/pt  DMA instructions per output pixel-group (one position x one group) and per
               sampled point (pixel-group x P taps)
  UB peak      largest unified-buffer use of any core
  imbalance    max / mean over cores of DMA count and of vector instruction count

--rows N simulates a slice of every layer taller than N: the input cropped to its first N rows
(full width, all channels), so N output rows. Tile shape, window and DMAs per point are those of
the full layer; the slice has fewer tiles and relatively more border rows. Sliced layers are
marked "slice".
"""
import argparse
import dataclasses
import time

import torch

from ..shapes import INTERNIMAGE_MODELS, layer_cases, make_grad_output, make_inputs
from . import SOCS, dcnv3_backward, dcnv3_forward

REPORTED_MODELS = ("T", "B")
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _nbytes(*tensors):
    return sum(t.numel() * t.element_size() for t in tensors)


def _imbalance(per_core, key):
    values = per_core[key]
    mean = sum(values) / len(values)
    return max(values) / mean if mean else 1.0


def _row(direction, stats, minimum, pixel_groups, points):
    moved = stats["gm_read_bytes"] + stats["gm_write_bytes"]
    return (f"  {direction:3s} GM {moved / 1e6:8.3f} MB = {moved / minimum:5.2f} x min | "
            f"DMA/pg {stats['dma_count'] / pixel_groups:6.3f}  DMA/pt {stats['dma_count'] / points:6.3f} | "
            f"UB peak {stats['ub_peak_bytes'] / 1024:6.1f} KiB | imbalance DMA {_imbalance(stats['per_core'], 'dma_count'):4.2f}"
            f"  vec {_imbalance(stats['per_core'], 'vector_instr_count'):4.2f}")


def report(dtype=torch.float32, soc="Ascend910B3", offset_px=2.0, rows=None, out=print):
    out(f"DCNv3 kernels in the AscendC simulator: {soc} ({SOCS[soc][0]} vector cores, {SOCS[soc][1]} B UB), "
        f"dtype {str(dtype).replace('torch.', '')}, offsets uniform in +-{offset_px} px, batch 1")
    totals = {"fwd": [0, 0], "bwd": [0, 0]}
    for model in (m for m in INTERNIMAGE_MODELS if m.name in REPORTED_MODELS):
        out(f"InternImage-{model.name}")
        for case in layer_cases(models=[model]):
            full_height = case.height
            case = dataclasses.replace(case, offset_range=offset_px, height=min(full_height, rows or full_height))
            inp, off, msk = make_inputs(case, dtype)
            gout = make_grad_output(case, dtype)
            attrs = case.attrs
            ho = off.shape[1]
            pixel_groups = ho * case.width * attrs.group
            points = pixel_groups * attrs.points
            start = time.perf_counter()
            out_t, fstats = dcnv3_forward(inp, off, msk, *attrs.args(), soc=soc)
            (gi, go, gm), bstats = dcnv3_backward(inp, off, msk, gout, *attrs.args(), soc=soc)
            seconds = time.perf_counter() - start
            label = f"slice: {ho} of {full_height} rows" if case.height != full_height else "full layer"
            out(f" {case.name}: {full_height}x{case.width}x{attrs.channels}, G={attrs.group}, "
                f"{attrs.kernel_h}x{attrs.kernel_w}, group_channels {attrs.group_channels} ({label}, {points} points, "
                f"simulated in {seconds:.1f} s)")
            fmin = _nbytes(inp, off, msk, out_t)
            bmin = _nbytes(inp, off, msk, gout, gi, go, gm)
            out(_row("fwd", fstats, fmin, pixel_groups, points))
            out(_row("bwd", bstats, bmin, pixel_groups, points))
            for key, stats in (("fwd", fstats), ("bwd", bstats)):
                totals[key][0] += stats["dma_count"]
                totals[key][1] += points
    for key, (dmas, points) in totals.items():
        out(f"all layers {key}: {dmas / points:.3f} DMAs per sampled point")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    parser.add_argument("--soc", choices=sorted(SOCS), default="Ascend910B3")
    parser.add_argument("--offset-px", type=float, default=2.0, help="offsets uniform in +- this many pixels")
    parser.add_argument("--rows", type=int, default=None, help="simulate only this many output rows per layer")
    args = parser.parse_args(argv)
    report(DTYPES[args.dtype], args.soc, args.offset_px, args.rows)


if __name__ == "__main__":
    main()
