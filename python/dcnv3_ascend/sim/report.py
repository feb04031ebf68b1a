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
import time

import torch

from . import SOCS, dcnv3_backward, dcnv3_forward

# (name, group per stage, channels of stage 1); channels double per stage, resolution halves.
MODELS = [("InternImage-T", [4, 8, 16, 32], 64), ("InternImage-B", [7, 14, 28, 56], 112)]
RESOLUTIONS = [56, 28, 14, 7]
GROUP_CHANNELS = 16
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _attrs(group):
    return dict(kernel_h=3, kernel_w=3, stride_h=1, stride_w=1, pad_h=1, pad_w=1, dilation_h=1, dilation_w=1,
                group=group, group_channels=GROUP_CHANNELS, offset_scale=1.0, im2col_step=64, remove_center=0)


def _layer_inputs(height, width, group, dtype, offset_px, seed):
    gen = torch.Generator().manual_seed(seed)
    channels, points = group * GROUP_CHANNELS, 9
    f32 = dict(generator=gen, dtype=torch.float32)
    tensors = (torch.randn(1, height, width, channels, **f32),
               (torch.rand(1, height, width, group * points * 2, **f32) * 2 - 1) * offset_px,
               torch.rand(1, height, width, group * points, **f32),
               torch.randn(1, height, width, channels, **f32))
    return [t.to(dtype) for t in tensors]


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
        f"dtype {str(dtype).replace('torch.', '')}, offsets uniform in +-{offset_px} px, batch 1, 3x3, group_channels {GROUP_CHANNELS}")
    totals = {"fwd": [0, 0], "bwd": [0, 0]}
    for model, groups, channels in MODELS:
        out(f"{model}")
        for stage, (group, res) in enumerate(zip(groups, RESOLUTIONS)):
            assert group * GROUP_CHANNELS == channels << stage
            height = res if rows is None else min(res, rows)
            inp, off, msk, gout = _layer_inputs(height, res, group, dtype, offset_px, seed=stage)
            ho = off.shape[1]
            pixel_groups = ho * res * group
            points = pixel_groups * 9
            attrs = _attrs(group)
            start = time.perf_counter()
            out_t, fstats = dcnv3_forward(inp, off, msk, **attrs, soc=soc)
            (gi, go, gm), bstats = dcnv3_backward(inp, off, msk, gout, **attrs, soc=soc)
            seconds = time.perf_counter() - start
            label = f"slice: {ho} of {res} rows" if height != res else "full layer"
            out(f" stage {stage + 1}: {res}x{res}x{group * GROUP_CHANNELS}, G={group} ({label}, {points} points, simulated in "
                f"{seconds:.1f} s)")
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
