"""An InternImage backbone (stem, four stages of DCNv3 blocks, downsampling between stages).

The structure, constructor arguments and state_dict keys follow InternImage's detection /
segmentation backbone (`patch_embed.*`, `levels.<i>.blocks.<j>.dcn.*`, `levels.<i>.norm.0.*`,
`levels.<i>.downsample.*`), so its backbone checkpoints load. forward() returns the features of
the stages in `out_indices` as NCHW tensors; with channels=64 and a 224x224 image these are
64x56x56, 128x28x28, 256x14x14 and 512x7x7.

The core op is picked by name from dcnv3_ascend.modules ('DCNv3' runs torch.ops.npu.dcnv3,
'DCNv3_pytorch' the grid_sample fallback) or passed as a class. The InternImage-H/G extras
(clip projector, level-2 post norms, res_post_norm) are not included.
"""

import torch
import torch.utils.checkpoint as checkpoint
from torch import nn

from .. import _checks
from .. import modules as dcnv3_modules
from .._layers import build_act_layer, build_norm_layer


class DropPath(nn.Module):
    """Stochastic depth: in training, zeroes the residual branch of a whole sample with
    probability drop_prob and rescales the kept ones by 1/(1 - drop_prob)."""

    def __init__(self, drop_prob=0.0):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        return x * x.new_empty(shape).bernoulli_(keep).div_(keep)


class StemLayer(nn.Module):
    """Two stride-2 3x3 convs (in_chans -> out_chans/2 -> out_chans): NCHW image -> NHWC / 4."""

    def __init__(self, in_chans=3, out_chans=96, act_layer="GELU", norm_layer="BN"):
        super().__init__()
        self.conv1 = nn.Conv2d(in_chans, out_chans // 2, kernel_size=3, stride=2, padding=1)
        self.norm1 = build_norm_layer(out_chans // 2, norm_layer, "channels_first", "channels_first")
        self.act = build_act_layer(act_layer)
        self.conv2 = nn.Conv2d(out_chans // 2, out_chans, kernel_size=3, stride=2, padding=1)
        self.norm2 = build_norm_layer(out_chans, norm_layer, "channels_first", "channels_last")

    def forward(self, x):
        return self.norm2(self.conv2(self.act(self.norm1(self.conv1(x)))))


class DownsampleLayer(nn.Module):
    """Stride-2 3x3 conv doubling the channels: NHWC [N, H, W, C] -> [N, H/2, W/2, 2C].

    The conv's weight is held channels_last, the layout of the NHWC input it reads: with a
    contiguous weight, torch's CPU conv converts it on every call (InternImage-T, one thread:
    1.13/1.31/2.21 ms -> 1.09/1.15/1.72 ms for the three layers, same result bit for bit). The
    backbone is the same for every core op, so this speeds up DCNv3 and DCNv3_pytorch alike.
    load_state_dict copies into the weight and keeps the layout; state_dict and checkpoints hold
    the same keys, shapes and values as with a contiguous weight (the strides differ)."""

    def __init__(self, channels, norm_layer="LN"):
        super().__init__()
        self.conv = nn.Conv2d(channels, 2 * channels, kernel_size=3, stride=2, padding=1, bias=False)
        self.conv.weight.data = self.conv.weight.data.contiguous(memory_format=torch.channels_last)
        self.norm = build_norm_layer(2 * channels, norm_layer, "channels_first", "channels_last")

    def forward(self, x):
        return self.norm(self.conv(x.permute(0, 3, 1, 2)))


class MLPLayer(nn.Module):
    """Linear -> act -> dropout -> Linear -> dropout, on the channels (last) axis."""

    def __init__(self, in_features, hidden_features=None, out_features=None, act_layer="GELU", drop=0.0):
        super().__init__()
        out_features = out_features or in_features
        hidden_features = hidden_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = build_act_layer(act_layer)
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class InternImageLayer(nn.Module):
    """One block: x + DropPath(DCNv3(LN(x))), then x + DropPath(MLP(LN(x))).

    post_norm moves each LayerNorm after its branch; layer_scale multiplies each branch by a
    learned per-channel gamma (initialised to layer_scale); with_cp recomputes the block in
    backward (activation checkpointing).
    """

    def __init__(
        self,
        core_op,
        channels,
        groups,
        mlp_ratio=4.0,
        drop=0.0,
        drop_path=0.0,
        act_layer="GELU",
        norm_layer="LN",
        post_norm=False,
        layer_scale=None,
        offset_scale=1.0,
        with_cp=False,
        dw_kernel_size=None,
        center_feature_scale=False,
        remove_center=False,
    ):
        super().__init__()
        self.channels = channels
        self.groups = groups
        self.mlp_ratio = mlp_ratio
        self.with_cp = with_cp
        self.post_norm = post_norm
        self.norm1 = build_norm_layer(channels, "LN")
        self.dcn = core_op(
            channels=channels,
            kernel_size=3,
            stride=1,
            pad=1,
            dilation=1,
            group=groups,
            offset_scale=offset_scale,
            act_layer=act_layer,
            norm_layer=norm_layer,
            dw_kernel_size=dw_kernel_size,
            center_feature_scale=center_feature_scale,
            remove_center=remove_center,
        )
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = build_norm_layer(channels, "LN")
        self.mlp = MLPLayer(channels, int(channels * mlp_ratio), act_layer=act_layer, drop=drop)
        self.layer_scale = layer_scale is not None
        if self.layer_scale:
            self.gamma1 = nn.Parameter(layer_scale * torch.ones(channels))
            self.gamma2 = nn.Parameter(layer_scale * torch.ones(channels))

    def _branch(self, x, norm, op, gamma):
        y = norm(op(x)) if self.post_norm else op(norm(x))
        return self.drop_path(y if gamma is None else gamma * y)

    def _inner_forward(self, x):
        gamma1, gamma2 = (self.gamma1, self.gamma2) if self.layer_scale else (None, None)
        x = x + self._branch(x, self.norm1, self.dcn, gamma1)
        return x + self._branch(x, self.norm2, self.mlp, gamma2)

    def forward(self, x):
        if self.with_cp and x.requires_grad:
            return checkpoint.checkpoint(self._inner_forward, x, use_reentrant=False)
        return self._inner_forward(x)


class InternImageBlock(nn.Module):
    """One stage: `depth` InternImageLayers, a LayerNorm (unless post_norm), and an optional
    DownsampleLayer. forward returns (downsampled output, stage features before downsampling)."""

    def __init__(
        self,
        core_op,
        channels,
        depth,
        groups,
        downsample=True,
        mlp_ratio=4.0,
        drop=0.0,
        drop_path=0.0,
        act_layer="GELU",
        norm_layer="LN",
        post_norm=False,
        offset_scale=1.0,
        layer_scale=None,
        with_cp=False,
        dw_kernel_size=None,
        center_feature_scale=False,
        remove_center=False,
    ):
        super().__init__()
        self.channels = channels
        self.depth = depth
        self.post_norm = post_norm
        self.center_feature_scale = center_feature_scale
        self.blocks = nn.ModuleList(
            [
                InternImageLayer(
                    core_op,
                    channels,
                    groups,
                    mlp_ratio=mlp_ratio,
                    drop=drop,
                    drop_path=drop_path[i] if isinstance(drop_path, list) else drop_path,
                    act_layer=act_layer,
                    norm_layer=norm_layer,
                    post_norm=post_norm,
                    layer_scale=layer_scale,
                    offset_scale=offset_scale,
                    with_cp=with_cp,
                    dw_kernel_size=dw_kernel_size,
                    center_feature_scale=center_feature_scale,
                    remove_center=remove_center,
                )
                for i in range(depth)
            ]
        )
        if not post_norm or center_feature_scale:
            self.norm = build_norm_layer(channels, "LN")
        self.downsample = DownsampleLayer(channels, norm_layer=norm_layer) if downsample else None

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        if not self.post_norm or self.center_feature_scale:
            x = self.norm(x)
        features = x
        if self.downsample is not None:
            x = self.downsample(x)
        return x, features


class InternImageBackbone(nn.Module):
    """InternImage as a feature extractor: NCHW image [N, 3, H, W] -> list of NCHW features.

    Defaults are InternImage-T's stage layout (channels 64, groups 4/8/16/32) with depths
    [2, 2, 4, 2] instead of T's [4, 4, 18, 4]. drop_path_rate grows linearly over the blocks.
    """

    def __init__(
        self,
        core_op="DCNv3",
        channels=64,
        depths=(2, 2, 4, 2),
        groups=(4, 8, 16, 32),
        mlp_ratio=4.0,
        drop_rate=0.0,
        drop_path_rate=0.0,
        act_layer="GELU",
        norm_layer="LN",
        layer_scale=None,
        offset_scale=1.0,
        post_norm=False,
        with_cp=False,
        dw_kernel_size=None,
        center_feature_scale=False,
        remove_center=False,
        out_indices=(0, 1, 2, 3),
    ):
        super().__init__()
        if len(groups) != len(depths):
            raise ValueError(f"groups must give one value per stage ({len(depths)}), got {list(groups)}")
        _check_backbone_args(core_op, depths, out_indices, mlp_ratio, drop_rate, drop_path_rate, layer_scale)
        self.core_op = getattr(dcnv3_modules, core_op) if isinstance(core_op, str) else core_op
        self.num_levels = len(depths)
        self.depths = list(depths)
        self.channels = channels
        self.out_indices = tuple(out_indices)

        self.patch_embed = StemLayer(3, channels, act_layer=act_layer, norm_layer=norm_layer)
        self.pos_drop = nn.Dropout(p=drop_rate)
        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.levels = nn.ModuleList()
        for i, depth in enumerate(depths):
            first = sum(depths[:i])
            self.levels.append(
                InternImageBlock(
                    self.core_op,
                    channels * 2**i,
                    depth,
                    groups[i],
                    downsample=i < self.num_levels - 1,
                    mlp_ratio=mlp_ratio,
                    drop=drop_rate,
                    drop_path=rates[first : first + depth],
                    act_layer=act_layer,
                    norm_layer=norm_layer,
                    post_norm=post_norm,
                    offset_scale=offset_scale,
                    layer_scale=layer_scale,
                    with_cp=with_cp,
                    dw_kernel_size=dw_kernel_size,
                    center_feature_scale=center_feature_scale,
                    remove_center=remove_center,
                )
            )
        self.apply(self._init_weights)
        self.apply(self._init_deform_weights)

    @staticmethod
    def _init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)

    def _init_deform_weights(self, m):
        # The generic Linear init above must not touch the DCNv3 offset/mask layers.
        if isinstance(m, self.core_op):
            m._reset_parameters()

    def forward(self, x):
        # torch.fx / TorchScript tracing has no shape to check
        if isinstance(x, torch.Tensor) and not torch.jit.is_tracing():
            if x.dim() != 4 or x.shape[1] != 3:
                raise ValueError(f"input must be an NCHW image [N, 3, H, W], got {list(x.shape)}")
        x = self.pos_drop(self.patch_embed(x))
        outputs = []
        for index, level in enumerate(self.levels):
            x, features = level(x)
            if index in self.out_indices:
                outputs.append(features.permute(0, 3, 1, 2).contiguous())
        return outputs


def _non_negative_integer(name, value):
    if _checks.integer(name, value) < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")


def _check_backbone_args(core_op, depths, out_indices, mlp_ratio, drop_rate, drop_path_rate, layer_scale):
    """Names a bad constructor argument, where it failed with an AttributeError (core_op='bogus'),
    an IndexError (a negative depth) or a TypeError (layer_scale='x'), or was taken silently: a
    NaN drop_rate, a drop_path_rate of 1 or more (DropPath divides by 1 - rate)."""
    if isinstance(core_op, str) and core_op not in ("DCNv3", "DCNv3_pytorch"):
        raise ValueError(f"core_op must be 'DCNv3', 'DCNv3_pytorch' or a module class, got {core_op!r}")
    for i, depth in enumerate(depths):
        _non_negative_integer(f"depths[{i}]", depth)
    # Entries past the last stage are allowed: the default (0, 1, 2, 3) serves fewer stages too.
    for index in out_indices:
        _non_negative_integer("out_indices entry", index)
    if _checks.finite_number("mlp_ratio", mlp_ratio) <= 0:
        raise ValueError(f"mlp_ratio must be > 0, got {mlp_ratio!r}")
    if not 0 <= _checks.finite_number("drop_rate", drop_rate) <= 1:
        raise ValueError(f"drop_rate must be in [0, 1], got {drop_rate!r}")
    if not 0 <= _checks.finite_number("drop_path_rate", drop_path_rate) < 1:
        raise ValueError(f"drop_path_rate must be in [0, 1), got {drop_path_rate!r}")
    if layer_scale is not None:
        _checks.finite_number("layer_scale", layer_scale)
