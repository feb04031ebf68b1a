"""The whole-model benchmark's plumbing (bench_model.py): the DCNv3 core it times is each layer's
own _sample on that layer's inputs, and capturing them leaves the model as it was."""

import torch

from dcnv3_ascend.bench_model import build_models, capture_core_inputs, dcnv3_layers, format_model_table
from dcnv3_ascend.models import InternImageBackbone


def test_capture_core_inputs_records_every_layer_and_restores_it():
    torch.manual_seed(0)
    model = InternImageBackbone("DCNv3", channels=16, depths=(1, 2), groups=(1, 2)).eval()
    image = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        want = model(image)
    captured = capture_core_inputs(model, image)
    assert [layer for layer, _ in captured] == dcnv3_layers(model) and len(captured) == 3
    _layer, (x, offset, mask_logits) = captured[1]
    assert x.shape == (1, 4, 4, 32) and offset.shape == (1, 4, 4, 2 * 9 * 2) and mask_logits.shape == (1, 4, 4, 18)
    assert all("_sample" not in vars(layer) for layer in dcnv3_layers(model))
    with torch.no_grad():
        for got, w in zip(model(image), want):
            assert torch.equal(got, w)


def test_model_table_has_one_line_per_row():
    row = dict(
        pass_name="inference",
        core_op="DCNv3",
        total_ms=100.0,
        core_ms=10.0,
        core_share=0.1,
        rest_ms=90.0,
        speedup=2.0,
        core_speedup=8.0,
        port_speedup=1.75,
        model_faults=0,
    )
    lines = format_model_table([row, dict(row, core_op="InternImage", model_faults=15018.5)]).splitlines()
    assert len(lines) == 4 and "10%" in lines[2]
    assert [word for word in lines[2].split() if word.endswith("x")] == ["2.00x", "8.00x", "1.75x"]
    assert lines[0].split()[-2:] == ["model", "faults"]
    assert [line.split()[-1] for line in lines[2:]] == ["0", "15018.5"]
    assert format_model_table([dict(row, model_faults=None)]).splitlines()[2].split()[-1] == "-"


def test_models_sample_off_the_pixel_grid_with_shared_weights():
    # InternImage's zero init would put every point on a pixel (offsets 0) with uniform masks.
    models = build_models("T")
    states = [model.state_dict() for model in models.values()]
    assert list(models) == ["DCNv3", "DCNv3_pytorch", "InternImage"]
    for state in states[1:]:
        assert state.keys() == states[0].keys()
        assert all(torch.equal(state[key], states[0][key]) for key in state)
    _layer, (_x, offset, mask_logits) = capture_core_inputs(models["DCNv3"].eval(), torch.randn(1, 3, 64, 64))[0]
    # About a pixel, as the layer table's offsets (uniform in +-2 px: std 1.15).
    assert 0.8 < offset.std().item() < 1.5 and 0.8 < mask_logits.std().item() < 1.5
    assert (offset.frac() != 0).float().mean().item() > 0.99
