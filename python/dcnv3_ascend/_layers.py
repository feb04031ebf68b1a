"""Small layers the DCNv3 modules and the InternImage backbone are built from.

Names, arguments and Sequential layouts follow InternImage's ops_dcnv3.modules.dcnv3, because
state_dict keys are derived from them (e.g. the LayerNorm of a channels_first -> channels_last
norm is entry 1 of its Sequential).
"""

import torch.nn.functional as F
from torch import nn

# Lower-case class names are InternImage's; code importing them from ops_dcnv3 keeps working.


class to_channels_first(nn.Module):  # noqa: N801
    """[N, H, W, C] -> [N, C, H, W] (a view)."""

    def forward(self, x):
        return x.permute(0, 3, 1, 2)


class to_channels_last(nn.Module):  # noqa: N801
    """[N, C, H, W] -> [N, H, W, C] (a view)."""

    def forward(self, x):
        return x.permute(0, 2, 3, 1)


def softmax_over_points(mask_logits, group):
    """The modules' mask: [N, H, W, G*P] logits -> softmax over each group's P points -> [N, H, W,
    G*P]. Sizes spelled out, as a -1 cannot be inferred for an empty batch; reshape, not
    unflatten, which ONNX opset 11 lacks."""
    n_batch, height, width, group_points = mask_logits.shape
    mask = F.softmax(mask_logits.reshape(n_batch, height, width, group, group_points // group), -1)
    return mask.reshape(n_batch, height, width, group_points)


def build_norm_layer(dim, norm_layer, in_format="channels_last", out_format="channels_last", eps=1e-6):
    """'BN' (BatchNorm2d, works channels-first) or 'LN' (LayerNorm, works channels-last), with the
    permutes needed to go from `in_format` to `out_format`."""
    layers = []
    if norm_layer == "BN":
        if in_format == "channels_last":
            layers.append(to_channels_first())
        layers.append(nn.BatchNorm2d(dim))
        if out_format == "channels_last":
            layers.append(to_channels_last())
    elif norm_layer == "LN":
        if in_format == "channels_first":
            layers.append(to_channels_last())
        layers.append(nn.LayerNorm(dim, eps=eps))
        if out_format == "channels_first":
            layers.append(to_channels_first())
    else:
        raise NotImplementedError(f"build_norm_layer: norm_layer must be 'BN' or 'LN', got {norm_layer!r}")
    return nn.Sequential(*layers)


def build_act_layer(act_layer):
    """'ReLU', 'SiLU' (both in place, as InternImage) or 'GELU'."""
    if act_layer == "ReLU":
        return nn.ReLU(inplace=True)
    if act_layer == "SiLU":
        return nn.SiLU(inplace=True)
    if act_layer == "GELU":
        return nn.GELU()
    raise NotImplementedError(f"build_act_layer: act_layer must be 'ReLU', 'SiLU' or 'GELU', got {act_layer!r}")


class CenterFeatureScaleModule(nn.Module):
    """Per-group gate sigmoid(query @ W^T + b) that blends the DCNv3 output with its input
    projection; the parameters live on the owning DCNv3 module (InternImage's key layout)."""

    def forward(self, query, center_feature_scale_proj_weight, center_feature_scale_proj_bias):
        return F.linear(query, weight=center_feature_scale_proj_weight, bias=center_feature_scale_proj_bias).sigmoid()
