"""Whole-model benchmark: an InternImage backbone with DCNv3 against the same backbone with
InternImage's own DCNv3_pytorch (bench_internimage.py: what users run without the CUDA op) and
with this package's DCNv3_pytorch (the grid_sample port of fallback.py, whose core is about 1.3x
faster than InternImage's), same weights, same run; `python -m dcnv3_ascend.bench` prints it
after the layer table.

For each core op it times inference (torch.inference_mode) and a training step (forward, backward
of the sum of the stage outputs) of the whole backbone, and the DCNv3 core alone: what the
modules do differently, from the mask logits, offsets and projected input to the sampled features
(mask softmax, sampling op, their autograd nodes and copies), run on every layer's own inputs
(captured from one forward pass) and summed over the layers. The core's share of the whole model
says how much of the time the op still decides. The rest is the same layers for every core op but
one: DCNv3 runs each dw_conv branch (depthwise conv, LayerNorm, GELU) as one op,
npu::dcnv3_dw_conv (and its backward op), where the other two run the three layers. The last
column is the median page faults of a whole-model call (see bench.page_faults): the
grid_sample modules' large temporaries can make every layer's allocations fault, which then
belongs to their model time, not their core's.
"""

import statistics
import time

import torch
from torch import nn

from .bench import faults_since, format_faults, median_faults, page_faults
from .bench_internimage import InternImageDCNv3Pytorch
from .models import InternImageBackbone
from .shapes import layer_cases

# InternImage's classification configs (channels, depths, groups) of the variants timed here.
VARIANTS = {
    "T": dict(channels=64, depths=(4, 4, 18, 4), groups=(4, 8, 16, 32)),
    "S": dict(channels=80, depths=(4, 4, 21, 4), groups=(5, 10, 20, 40)),
    "B": dict(channels=112, depths=(4, 4, 21, 4), groups=(7, 14, 28, 56)),
}
# {row name: core op of the backbone}; speed-ups are against BASELINE_CORE and PORT_CORE.
CORE_OPS = {"DCNv3": "DCNv3", "DCNv3_pytorch": "DCNv3_pytorch", "InternImage": InternImageDCNv3Pytorch}
BASELINE_CORE = "InternImage"
PORT_CORE = "DCNv3_pytorch"


# Std of the offset and mask Linear weights, times 1/sqrt(channels): offsets of std ~1.1 px (as
# the layer table's, uniform in +-2 px) and mask logits of std ~1.1 throughout InternImage-T.
SAMPLING_WEIGHT_STD = 1.75


def _spread_sampling(model):
    """Gives the offset and mask layers weights of a trained model's scale. InternImage starts them
    at zero, so that an initialised model samples every point exactly on a pixel with uniform
    masks: the kernel's cheapest inputs (1.3x faster forward at 64x64-C128-G8), which no trained
    checkpoint gives it."""
    for layer in dcnv3_layers(model):
        for linear in (layer.offset, layer.mask):
            nn.init.normal_(linear.weight, std=SAMPLING_WEIGHT_STD / layer.channels**0.5)


def build_models(variant, seed=0):
    """{core op name: backbone}, all holding the weights of the first (offsets and masks spread
    as a trained model's, see _spread_sampling)."""
    torch.manual_seed(seed)
    models = {name: InternImageBackbone(core_op, **VARIANTS[variant]) for name, core_op in CORE_OPS.items()}
    _spread_sampling(models["DCNv3"])
    state = models["DCNv3"].state_dict()
    for model in models.values():
        model.load_state_dict(state)
    return models


def dcnv3_layers(model):
    return [m for m in model.modules() if hasattr(m, "_sample")]


def capture_core_inputs(model, image):
    """[(layer, (x, offset, mask_logits))] for every DCNv3 layer, from one forward pass."""
    captured = []
    for layer in dcnv3_layers(model):

        def recording(x, offset, mask_logits, layer=layer, sample=layer._sample):
            captured.append((layer, tuple(t.detach().clone() for t in (x, offset, mask_logits))))
            return sample(x, offset, mask_logits)

        layer._sample = recording
    try:
        with torch.no_grad():
            model(image)
    finally:
        for layer in dcnv3_layers(model):
            del layer._sample  # back to the class's method
    return captured


def captured_bytes(variant, batch, size=224):
    """The least memory measure_model takes: the float32 core inputs (x, offset, mask logits) that
    capture_core_inputs keeps of every DCNv3 layer, for the backbones of all CORE_OPS at once."""
    cases = [case for case in layer_cases(size, batch) if case.name.split("-")[0] == variant]
    return len(CORE_OPS) * sum(4 * case.elements(grad_output=False) * case.layers for case in cases)


def _inference(model, image):
    with torch.inference_mode():
        model(image)


def _train_step(model, image):
    model.zero_grad(set_to_none=True)
    sum(feature.sum() for feature in model(image)).backward()


def _core_inference(captured):
    with torch.inference_mode():
        for layer, tensors in captured:
            layer._sample(*tensors)


def _core_train_step(captured):
    for layer, tensors in captured:
        leaves = [t.requires_grad_() for t in tensors]
        out = layer._sample(*leaves)
        out.backward(torch.ones_like(out))
        for leaf in leaves:
            leaf.grad = None


def measure_model(variant="T", batch=1, size=224, repeats=5, warmup=1):
    """One dict per (pass, core op): median ms of the whole model and of the DCNv3 core, and
    speed-ups against BASELINE_CORE and PORT_CORE; the core ops are timed in turn within each
    repeat, so that load changes hit them alike."""
    models = build_models(variant)
    image = torch.randn(batch, 3, size, size)
    rows = []
    for pass_name, whole, core in (
        ("inference", _inference, _core_inference),
        ("train step", _train_step, _core_train_step),
    ):
        for model in models.values():
            model.train(pass_name == "train step")
        captured = {name: capture_core_inputs(model, image) for name, model in models.items()}
        # [model ms], [core ms], [page faults of the model call] per core op.
        times = {name: ([], [], []) for name in models}
        for i in range(warmup + repeats):
            for name, model in models.items():
                faults_before = page_faults()
                start = time.perf_counter()
                whole(model, image)
                middle = time.perf_counter()
                faults = faults_since(faults_before)
                core(captured[name])
                end = time.perf_counter()
                if i >= warmup:
                    times[name][0].append((middle - start) * 1e3)
                    times[name][1].append((end - middle) * 1e3)
                    times[name][2].append(faults)
        medians = {
            name: (statistics.median(t[0]), statistics.median(t[1]), median_faults(t[2])) for name, t in times.items()
        }
        base_total, base_core, _ = medians[BASELINE_CORE]
        port_total = medians[PORT_CORE][0]
        for name, (total, core_ms, model_faults) in medians.items():
            rows.append(
                dict(
                    variant=variant,
                    batch=batch,
                    size=size,
                    pass_name=pass_name,
                    core_op=name,
                    total_ms=total,
                    core_ms=core_ms,
                    rest_ms=total - core_ms,
                    core_share=core_ms / total,
                    speedup=base_total / total,
                    port_speedup=port_total / total,
                    core_speedup=base_core / core_ms,
                    model_faults=model_faults,
                )
            )
    return rows


def format_model_table(rows):
    header = (
        f"{'pass':10} {'core op':13} {'model ms':>9} {'DCNv3 core ms':>13} {'core share':>10} "
        f"{'rest ms':>8} {'model vs InternImage':>20} {'core vs InternImage':>19} {'model vs DCNv3_pytorch':>22} "
        f"{'model faults':>12}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['pass_name']:10} {r['core_op']:13} {r['total_ms']:9.1f} {r['core_ms']:13.1f} "
            f"{r['core_share']:10.0%} {r['rest_ms']:8.1f} {r['speedup']:19.2f}x {r['core_speedup']:18.2f}x "
            f"{r['port_speedup']:21.2f}x {format_faults(r['model_faults']):>12}"
        )
    return "\n".join(lines)
