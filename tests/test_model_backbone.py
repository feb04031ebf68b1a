"""The InternImage backbone with DCNv3 (torch.ops.npu.dcnv3) against the same backbone with
DCNv3_pytorch (the grid_sample fallback), sharing weights, at 224x224."""

import re

import pytest
import torch

from dcnv3_ascend.models import InternImageBackbone
from dcnv3_ascend.modules import DCNv3, DCNv3_pytorch

IMAGE = 224


def features_and_grads(model, image, weights):
    model.zero_grad()
    features = model(image)
    sum((f * w).sum() for f, w in zip(features, weights)).backward()
    return [f.detach() for f in features], {name: p.grad for name, p in model.named_parameters()}


def relative_error(got, expected):
    return ((got - expected).norm() / expected.norm().clamp_min(1e-30)).item()


@pytest.mark.parametrize("groups", [(4, 4, 4, 4), (4, 8, 16, 32)], ids=["groups4", "groups4-32"])
@pytest.mark.parametrize("state", ["init", "trained"])
def test_op_and_fallback_backbones_agree(groups, state):
    torch.manual_seed(0)
    op_model = InternImageBackbone("DCNv3", channels=64, depths=(2, 2, 4, 2), groups=groups)
    if state == "trained":
        # Offsets of about a pixel and non-uniform masks, as after training (the init gives 0 / uniform).
        gen = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for name, p in op_model.named_parameters():
                if ".dcn.offset." in name or ".dcn.mask." in name:
                    p.add_(torch.randn(p.shape, generator=gen) * 0.1)
    ref_model = InternImageBackbone("DCNv3_pytorch", channels=64, depths=(2, 2, 4, 2), groups=groups)
    ref_model.load_state_dict(op_model.state_dict())
    assert isinstance(op_model.levels[2].blocks[0].dcn, DCNv3)
    assert isinstance(ref_model.levels[2].blocks[0].dcn, DCNv3_pytorch)

    gen = torch.Generator().manual_seed(2)
    image = torch.randn(1, 3, IMAGE, IMAGE, generator=gen)
    shapes = [(1, 64, 56, 56), (1, 128, 28, 28), (1, 256, 14, 14), (1, 512, 7, 7)]
    weights = [torch.randn(shape, generator=gen) for shape in shapes]
    op_features, op_grads = features_and_grads(op_model, image, weights)
    ref_features, ref_grads = features_and_grads(ref_model, image, weights)

    assert [tuple(f.shape) for f in op_features] == shapes
    for level, (got, expected) in enumerate(zip(op_features, ref_features)):
        assert relative_error(got, expected) < 1e-5, f"level {level}"
    assert op_grads.keys() == ref_grads.keys()
    # At init every offset is 0, so every point sits exactly on a pixel, where the bilinear
    # offset gradient is one-sided: both implementations must take the same side, so gradients
    # agree to float32 accuracy. With general offsets, the two float32 computations of a
    # location can differ by an ulp, and a point within an ulp of a pixel (a few in 10^5 points
    # of this model) may take the other side: a real but tiny difference, hence the looser bound.
    bound = 1e-4 if state == "init" else 2e-2
    worst = max((relative_error(op_grads[name], ref_grads[name]), name) for name in ref_grads)
    assert worst[0] < bound, worst


def test_state_dict_uses_internimage_backbone_keys():
    model = InternImageBackbone("DCNv3_pytorch", channels=16, depths=(1, 1, 1, 1), groups=(1, 2, 4, 8), layer_scale=1.0)
    keys = set(model.state_dict())
    # A sample of InternImage's own keys for this configuration (stem and norms built with 'LN').
    for key in [
        "patch_embed.conv1.weight",
        "patch_embed.norm1.1.weight",
        "patch_embed.conv2.bias",
        "patch_embed.norm2.1.bias",
        "levels.0.blocks.0.norm1.0.weight",
        "levels.0.blocks.0.dcn.dw_conv.0.weight",
        "levels.0.blocks.0.dcn.dw_conv.1.1.weight",
        "levels.0.blocks.0.dcn.offset.weight",
        "levels.0.blocks.0.dcn.mask.bias",
        "levels.0.blocks.0.dcn.input_proj.weight",
        "levels.0.blocks.0.dcn.output_proj.bias",
        "levels.0.blocks.0.gamma1",
        "levels.0.blocks.0.gamma2",
        "levels.0.blocks.0.norm2.0.bias",
        "levels.0.blocks.0.mlp.fc1.weight",
        "levels.0.blocks.0.mlp.fc2.bias",
        "levels.0.norm.0.weight",
        "levels.0.downsample.conv.weight",
        "levels.0.downsample.norm.1.weight",
        "levels.3.norm.0.bias",
    ]:
        assert key in keys, key
    assert not any(k.startswith("levels.3.downsample") for k in keys)
    assert "levels.0.downsample.conv.bias" not in keys
    assert model.state_dict()["levels.2.blocks.0.dcn.offset.weight"].shape == (4 * 9 * 2, 64)


def test_init_resets_deform_layers_and_truncates_linear_weights():
    model = InternImageBackbone("DCNv3_pytorch", channels=16, depths=(1, 1, 1, 1), groups=(1, 2, 4, 8))
    dcn = model.levels[1].blocks[0].dcn
    assert dcn.offset.weight.abs().sum() == 0 and dcn.mask.weight.abs().sum() == 0
    fc1 = model.levels[1].blocks[0].mlp.fc1.weight
    assert fc1.abs().max() <= 2.0 and 0.01 < fc1.std() < 0.03  # trunc_normal_(std=0.02)


def test_drop_path_and_checkpointing_options():
    torch.manual_seed(0)
    plain = InternImageBackbone("DCNv3_pytorch", channels=16, depths=(1, 1, 1, 1), groups=(1, 2, 4, 8))
    variant = InternImageBackbone(
        "DCNv3_pytorch", channels=16, depths=(1, 1, 1, 1), groups=(1, 2, 4, 8), drop_path_rate=0.5, with_cp=True
    )
    variant.load_state_dict(plain.state_dict())
    image = torch.randn(2, 3, 32, 32, requires_grad=True)
    # In eval mode drop path is the identity, and checkpointing never changes values.
    plain.eval()
    variant.eval()
    for got, expected in zip(variant(image), plain(image)):
        torch.testing.assert_close(got, expected)
    # In training, a dropped residual branch changes the output.
    variant.train()
    torch.manual_seed(3)
    outs = [variant(image)[-1] for _ in range(4)]
    assert any(not torch.equal(outs[0], o) for o in outs[1:])
    # (A plain sum of the LayerNorm-ed last level would have zero gradient: weight it.)
    (outs[0] * torch.randn(outs[0].shape)).sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_downsample_weight_is_channels_last_and_checkpoints_are_unchanged(tmp_path):
    """DownsampleLayer holds its conv weight channels_last (no layout conversion per call): same
    state_dict keys, shapes and values as a contiguous weight, a contiguous checkpoint loads into
    it and keeps the layout, and the features and gradients are bit for bit those of a model with
    contiguous weights."""
    torch.manual_seed(0)
    model = InternImageBackbone("DCNv3", channels=16, depths=(1, 1, 1, 1), groups=(1, 2, 4, 8))
    contiguous = InternImageBackbone("DCNv3", channels=16, depths=(1, 1, 1, 1), groups=(1, 2, 4, 8))
    downsampled = [level.downsample.conv.weight for level in model.levels[:-1]]
    assert downsampled and all(w.is_contiguous(memory_format=torch.channels_last) for w in downsampled)
    state = {name: t.contiguous() for name, t in model.state_dict().items()}
    torch.save(state, tmp_path / "checkpoint.pth")
    contiguous.load_state_dict(torch.load(tmp_path / "checkpoint.pth"))
    for level in contiguous.levels[:-1]:
        assert level.downsample.conv.weight.is_contiguous(memory_format=torch.channels_last)
        level.downsample.conv.weight.data = level.downsample.conv.weight.data.contiguous()
    got, expected = model.state_dict(), contiguous.state_dict()
    assert list(got) == list(expected)
    assert all(got[k].shape == expected[k].shape and torch.equal(got[k], expected[k]) for k in got)
    image = torch.randn(2, 3, 64, 64)
    weights = [torch.randn_like(f) for f in model(image)]
    features, grads = features_and_grads(model, image, weights)
    features_c, grads_c = features_and_grads(contiguous, image, weights)
    assert all(torch.equal(f, g) for f, g in zip(features, features_c))
    assert all(torch.equal(grads[name], grads_c[name]) for name in grads)


SMALL = dict(channels=16, depths=(1, 1, 1, 1), groups=(1, 2, 4, 8))


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(core_op="bogus"), r"^core_op must be 'DCNv3', 'DCNv3_pytorch' or a module class, got 'bogus'$"),
        (dict(depths=(1, -1, 1, 1)), r"^depths\[1\] must be an integer >= 0, got -1$"),
        (dict(depths=(1, 1.5, 1, 1)), r"^depths\[1\] must be an integer, got 1\.5$"),
        (dict(out_indices=(0, -1)), r"^out_indices entry must be an integer >= 0, got -1$"),
        (dict(drop_rate=float("nan")), r"^drop_rate must be a finite number, got nan$"),
        (dict(drop_path_rate=1.0), r"^drop_path_rate must be in \[0, 1\), got 1\.0$"),
        (dict(mlp_ratio=0), r"^mlp_ratio must be > 0, got 0$"),
        (dict(layer_scale="x"), r"^layer_scale must be a finite number, got 'x'$"),
    ],
    ids=lambda c: next(iter(c)) if isinstance(c, dict) else None,
)
def test_bad_constructor_arguments_are_named(change, message):
    """They failed with AttributeError, IndexError or TypeError, or were taken silently (a negative
    out_indices entry matched no stage; drop_path_rate=1 divides by 0)."""
    with pytest.raises(ValueError, match=message):
        InternImageBackbone(**{**SMALL, **change})


def test_input_that_is_not_an_nchw_image_is_named():
    backbone = InternImageBackbone(**SMALL)
    for shape in [(1, 32, 32, 3), (3, 32, 32), (1, 1, 32, 32)]:
        with pytest.raises(
            ValueError, match=rf"^input must be an NCHW image \[N, 3, H, W\], got {re.escape(str(list(shape)))}"
        ):
            backbone(torch.randn(shape))
    assert [f.shape[1] for f in backbone(torch.randn(1, 3, 32, 32))] == [16, 32, 64, 128]
