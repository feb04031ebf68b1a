"""DCNv3 modules, drop-in for InternImage's ops_dcnv3.modules (classification flavour).

Constructor arguments, attribute names, parameter names, initialisation and state_dict keys
match InternImage's `DCNv3` and `DCNv3_pytorch`, so checkpoints load unchanged in either
direction and into either class. Both take and return NHWC tensors [N, H, W, channels].

  DCNv3          samples with torch.ops.npu.dcnv3 (NPU kernel, C++ CPU kernel, or the registered
                 fallback when the extension is not built). On CPU it calls
                 torch.ops.npu.dcnv3_softmax_mask instead, which computes the mask softmax inside
                 the kernel (same result, one op instead of two, no [N, H, W, G, P] temporaries);
                 traced or exported, it keeps softmax + npu::dcnv3, the graph ONNX export knows.
                 There it also runs its dw_conv branch (depthwise conv, LayerNorm, exact GELU)
                 as torch.ops.npu.dcnv3_dw_conv, one pass over the NHWC input instead of three
                 kernels and two layout changes (and one backward op instead of three),
                 unless a layer of the branch has hooks, which the op would skip.
  DCNv3_pytorch  samples with the pure-PyTorch grid_sample fallback.
"""

import inspect
import operator
import warnings

import torch
from torch import nn
from torch.nn.init import constant_, xavier_uniform_

from . import _checks
from ._checks import MAX_GEOMETRY_ATTR

# The layer helpers are importable from here, as from InternImage's modules.dcnv3.
from ._layers import (  # noqa: F401
    CenterFeatureScaleModule,
    build_act_layer,
    build_norm_layer,
    softmax_over_points,
    to_channels_first,
    to_channels_last,
)
from .attrs import Dcnv3Attrs
from .functions import DCNv3Function, dcnv3_core_pytorch

# InternImage's modules always pass this step; the kernels clamp it to the batch (see _im2col_step).
IM2COL_STEP = 256


def _is_power_of_2(n):
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"_is_power_of_2 expects a non-negative int, got {n!r} ({type(n).__name__})")
    return n != 0 and (n & (n - 1)) == 0


def _int_at_least(name, value, smallest):
    """value as an int, else a ValueError naming the argument (the layer sizes its parameters
    and the op's attributes from it). At most 2^31-1, as the op's attributes: a larger value
    would otherwise fail inside torch's allocator or the op's schema ("Expected a value of type
    'int' ... but instead found type 'int'") instead of naming the argument."""
    try:
        number = operator.index(value)
    except TypeError:
        number = None
    if number is None or number < smallest:
        raise ValueError(f"{name} must be an integer >= {smallest}, got {value!r}")
    if number > MAX_GEOMETRY_ATTR:
        raise ValueError(f"{name} must be <= {MAX_GEOMETRY_ATTR} (InternImage's op takes it as int), got {value!r}")
    return number


class _DCNv3Base(nn.Module):
    """Everything of the DCNv3 block except the sampling op, which subclasses provide in
    `_sample(x, offset, mask)`.

    Structure (InternImage): x -> input_proj -> deformable sampling -> [centre feature scale]
    -> output_proj, where offsets and masks come from a depthwise conv + norm + act of the input
    followed by two Linear layers; masks are softmax-normalised over the points of each group.
    """

    def __init__(
        self,
        channels=64,
        kernel_size=3,
        dw_kernel_size=None,
        stride=1,
        pad=1,
        dilation=1,
        group=4,
        offset_scale=1.0,
        act_layer="GELU",
        norm_layer="LN",
        center_feature_scale=False,
        remove_center=False,
    ):
        super().__init__()
        channels = _int_at_least("channels", channels, 1)
        group = _int_at_least("group", group, 1)
        kernel_size = _int_at_least("kernel_size", kernel_size, 1)
        stride = _int_at_least("stride", stride, 1)
        pad = _int_at_least("pad", pad, 0)
        dilation = _int_at_least("dilation", dilation, 1)
        if dw_kernel_size is not None and _int_at_least("dw_kernel_size", dw_kernel_size, 1) % 2 == 0:
            raise ValueError(
                f"dw_kernel_size must be odd (the depthwise conv keeps the image size), got {dw_kernel_size}"
            )
        if channels % group != 0:
            raise ValueError(f"channels must be divisible by group, got channels={channels} and group={group}")
        if remove_center not in (0, 1):  # True and False are 1 and 0
            raise ValueError(f"remove_center must be a bool (or 0 or 1), got {remove_center!r}")
        if remove_center and kernel_size % 2 == 0:
            raise ValueError(f"remove_center needs an odd kernel_size, got kernel_size={kernel_size}")
        if remove_center and kernel_size == 1:
            # As the op refuses it: the layer would have offset and mask layers of no outputs.
            raise ValueError("remove_center with kernel_size=1 leaves no sampling point; use kernel_size >= 3")
        group_channels = channels // group
        dw_kernel_size = dw_kernel_size if dw_kernel_size is not None else kernel_size
        if not _is_power_of_2(group_channels):
            warnings.warn(
                f"DCNv3: channels per group (channels // group = {group_channels}) is not a power of 2; "
                "InternImage's CUDA kernel is most efficient when it is.",
                stacklevel=2,
            )

        self.offset_scale = _checks.finite_number("offset_scale", offset_scale)
        self.channels = channels
        self.kernel_size = kernel_size
        self.dw_kernel_size = dw_kernel_size
        self.stride = stride
        self.dilation = dilation
        self.pad = pad
        self.group = group
        self.group_channels = group_channels
        self.center_feature_scale = center_feature_scale
        self.remove_center = int(remove_center)
        points = kernel_size * kernel_size - self.remove_center

        self.dw_conv = nn.Sequential(
            nn.Conv2d(
                channels,
                channels,
                kernel_size=dw_kernel_size,
                stride=1,
                padding=(dw_kernel_size - 1) // 2,
                groups=channels,
            ),
            build_norm_layer(channels, norm_layer, "channels_first", "channels_last"),
            build_act_layer(act_layer),
        )
        self.offset = nn.Linear(channels, group * points * 2)
        self.mask = nn.Linear(channels, group * points)
        self.input_proj = nn.Linear(channels, channels)
        self.output_proj = nn.Linear(channels, channels)
        self._reset_parameters()

        if center_feature_scale:
            self.center_feature_scale_proj_weight = nn.Parameter(torch.zeros(group, channels))
            self.center_feature_scale_proj_bias = nn.Parameter(torch.zeros(group))
            self.center_feature_scale_module = CenterFeatureScaleModule()

    def __prepare_scriptable__(self):
        # torch.jit.script calls this on every module it compiles (also a model's submodules).
        # The forward chooses between ops in Python (traced or not, device, hooks, autocast),
        # which TorchScript cannot compile: it failed deep inside torch.fx.Proxy with "import
        # statements aren't supported". InternImage's layers cannot be scripted either.
        raise RuntimeError(
            f"torch.jit.script cannot compile {type(self).__name__}: its forward picks the op in Python "
            "(traced or not, device, hooks). Use torch.jit.trace, torch.export or torch.compile instead."
        )

    def _reset_parameters(self):
        # Zero offsets and uniform masks at start: the block begins as a regular sampling grid.
        for layer in (self.offset, self.mask):
            constant_(layer.weight.data, 0.0)
            constant_(layer.bias.data, 0.0)
        for layer in (self.input_proj, self.output_proj):
            xavier_uniform_(layer.weight.data)
            constant_(layer.bias.data, 0.0)

    def _sample(self, x, offset, mask_logits):
        """The sampled features [N, H, W, channels] for the mask's logits (before the softmax)."""
        raise NotImplementedError

    def _dw_features(self, input):
        """The input of the offset and mask layers: N, H, W, C -> N, C, H, W -> (depthwise conv,
        norm, act) -> N, H, W, C."""
        return self.dw_conv(input.permute(0, 3, 1, 2))

    def _softmax_mask(self, mask_logits, dtype):
        """N, H, W, G*P -> N, H, W, G, P (softmax over each group's points) -> N, H, W, G*P."""
        return softmax_over_points(mask_logits, self.group).type(dtype)

    def forward(self, input):
        """input [N, H, W, channels] -> output [N, H, W, channels]."""
        # An NCHW input would otherwise fail in input_proj with a message about matrix shapes.
        # Not while traced: fx has no shape, and TorchScript would record the check as a constant.
        traced = isinstance(input, torch.fx.Proxy) or torch.jit.is_tracing()
        if not traced:
            self._check_input(input)
            self._check_sizes_agree(input.shape[1], input.shape[2])
        x = self.input_proj(input)
        x_proj = x

        x1 = self._dw_features(input)
        x = self._sample(x, self.offset(x1), self.mask(x1))
        if self.center_feature_scale:
            # N, H, W, G -> N, H, W, G*group_channels (each group's gate repeated over its channels)
            scale = self.center_feature_scale_module(
                x1, self.center_feature_scale_proj_weight, self.center_feature_scale_proj_bias
            )
            # dim=3, not -1: torch's TorchScript ONNX symbolic of repeat_interleave turns a negative
            # dim positive in place, and the traced graph shares that constant with the reshapes'
            # -1, whose targets would then read 3 (a model that onnxruntime cannot run).
            scale = scale.repeat_interleave(self.group_channels, dim=3)
            x = x * (1 - scale) + x_proj * scale
        return self.output_proj(x)

    def _check_input(self, input):
        """Names what is wrong with the input, where torch said "'list' object has no attribute
        'dim'", "mat1 and mat2 must have the same dtype, but got Double and Float" or "Tensor on
        device cpu is not on the expected device meta!" (from input_proj, for an input whose
        device or dtype is not the layer's; under autocast, the layers cast it themselves)."""
        if not isinstance(input, torch.Tensor):
            raise ValueError(f"input must be a torch.Tensor [N, H, W, channels], got {type(input).__name__}")
        if input.dim() != 4 or input.shape[-1] != self.channels:
            raise ValueError(
                f"input must be [N, H, W, channels] (NHWC) with channels = {self.channels}, got {list(input.shape)}"
            )
        weight = getattr(self.input_proj, "weight", None)
        if not (isinstance(weight, torch.Tensor) and weight.is_floating_point()):
            return  # a replaced input_proj (e.g. dynamically quantized): its own rules apply
        if input.device != weight.device:
            raise ValueError(f"input must be on the layer's device ({weight.device}), got {input.device}")
        if input.dtype != weight.dtype and not torch.is_autocast_enabled(input.device.type):
            raise ValueError(
                f"input dtype must be the layer's parameters' ({_checks.dtype_name(weight.dtype)}), got "
                f"{_checks.dtype_name(input.dtype)}: convert the input, or the layer with .to(dtype)"
            )

    def _check_sizes_agree(self, height, width):
        """The op samples an output of its own size from x, with one offset and mask per output
        position, and those come from the dw_conv branch at that branch's size: with a stride or
        padding that changes the size, the two differ, which the op would report as an offset of
        the wrong shape (an argument the layer's user never passed). Named here instead."""
        attrs = Dcnv3Attrs(*self._attrs())
        sampled = list(attrs.output_size(height, width))
        # the dw_conv: stride 1, padding (dw_kernel_size - 1) // 2, as InternImage builds it
        k, half = self.dw_kernel_size, (self.dw_kernel_size - 1) // 2
        branch = list(Dcnv3Attrs(kernel_h=k, kernel_w=k, pad_h=half, pad_w=half).output_size(height, width))
        if min(sampled) < 1:
            # As the op says it, for both layers (DCNv3_pytorch's depthwise conv failed first, with
            # a message about its own padded size).
            span = attrs.kernel_span[0]
            raise ValueError(
                f"input H, W = {height}, {width} with pad={self.pad} is smaller than the dilated kernel {span}x{span} "
                f"of {type(self).__name__}(kernel_size={self.kernel_size}, dilation={self.dilation}): the output "
                f"would be {sampled[0]}x{sampled[1]}"
            )
        if sampled != branch:
            raise ValueError(
                f"{type(self).__name__} with kernel_size={self.kernel_size}, stride={self.stride}, pad={self.pad}, "
                f"dilation={self.dilation} samples a {sampled[0]}x{sampled[1]} output from a {height}x{width} "
                f"input, but its offsets and masks (one per output position) come from the dw_conv branch at "
                f"{branch[0]}x{branch[1]}: the layer needs settings that keep the two sizes equal, e.g. stride=1 "
                f"and pad = dilation*(kernel_size-1)/2"
            )

    def _attrs(self):
        """The 11 attributes before im2col_step, in op order."""
        k, s, p, d = self.kernel_size, self.stride, self.pad, self.dilation
        return (k, k, s, s, p, p, d, d, self.group, self.group_channels, self.offset_scale)


def _recorded(x):
    """Whether x is being traced (TorchScript, ONNX's TorchScript exporter, torch.fx) or exported
    (torch.export, ONNX's dynamo exporter): the graph then records what the layer calls, with
    its constants."""
    if isinstance(x, torch.fx.Proxy):  # torch.fx.symbolic_trace: no device to branch on
        return True
    # torch.compiler.is_exporting appeared in torch 2.5; this package builds against 2.4 too.
    exporting = getattr(torch.compiler, "is_exporting", lambda: False)
    return torch.jit.is_tracing() or exporting()


def _fuses_softmax(x):
    """Whether DCNv3 samples x with npu::dcnv3_softmax_mask: on CPU, which has its kernel,
    unless traced or exported (_recorded), where the graph keeps softmax + npu::dcnv3."""
    return not _recorded(x) and x.device.type == "cpu"


def _im2col_step(x):
    """The im2col_step DCNv3 passes for x: InternImage's IM2COL_STEP, except for a batch above it
    that it does not divide (300 images), which InternImage's op refuses (the step, clamped to the
    batch, must divide it) although the step only sizes the CUDA kernel's chunks of work and the
    result does not depend on it; the whole batch as one step is then as valid. Traced or exported
    graphs keep IM2COL_STEP: the value is recorded as a constant, and one taken from the batch
    would tie the graph to the batch it was traced with."""
    batch = x.shape[0]
    if _recorded(x) or batch <= IM2COL_STEP or batch % IM2COL_STEP == 0:
        return IM2COL_STEP
    return batch


def _calls_forward_alone(modules):
    """Whether calling these modules would run nothing but their class's forward: no hooks on them
    (forward and backward hooks and pre-hooks, e.g. torch.nn.utils.prune's pre-hook that
    recomputes the weight) nor on all modules, and no forward replaced on an instance. A fused op
    in their place would silently skip such code."""
    # torch's private registries of the hooks on every module (nn.Module._call_impl reads them).
    hooked_globally = any(
        getattr(nn.modules.module, registry, None)
        for registry in (
            "_global_forward_hooks",
            "_global_forward_pre_hooks",
            "_global_backward_hooks",
            "_global_backward_pre_hooks",
        )
    )
    return not hooked_globally and not any(
        m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or m._backward_pre_hooks or "forward" in vars(m)
        for m in modules
    )


def _dw_conv_op_layers(input, dw_conv):
    """(conv, norm) of a dw_conv branch that DCNv3 runs as npu::dcnv3_dw_conv, else None: where
    it fuses the softmax, and when the branch is the one the op computes: InternImage's depthwise
    conv (odd square kernel, zero padding that keeps the size), LayerNorm and exact GELU, none of
    them hooked, outside autocast. act_layer='ReLU', a swapped layer, a hook or autocast keeps the
    layers."""
    if not _fuses_softmax(input) or len(dw_conv) != 3 or not isinstance(dw_conv[1], nn.Sequential):
        return None
    # Under autocast each layer runs in the dtype autocast picks for it; the op has one dtype.
    if torch.is_autocast_enabled("cpu"):
        return None
    conv, norm_layers, act = dw_conv
    if len(norm_layers) != 2 or type(norm_layers[0]) is not to_channels_last:
        return None
    norm = norm_layers[1]
    if not (type(conv) is nn.Conv2d and type(norm) is nn.LayerNorm and type(act) is nn.GELU):
        return None
    if not _calls_forward_alone((dw_conv, conv, norm_layers, norm_layers[0], norm, act)):
        return None
    k = conv.kernel_size[0]
    channels = conv.out_channels
    # The op takes k and the padding from the weight; Conv2d takes them from its attributes, which
    # a weight assigned later no longer has to match (the layers would then change the size).
    same_size_depthwise = (
        conv.kernel_size == (k, k)
        and conv.weight.shape[-2:] == (k, k)
        and k % 2 == 1
        and conv.padding == ((k - 1) // 2,) * 2
        and conv.padding_mode == "zeros"
        and conv.stride == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == conv.in_channels == channels
        and conv.bias is not None
    )
    exact = act.approximate == "none" and norm.elementwise_affine and norm.normalized_shape == (channels,)
    return (conv, norm) if same_size_depthwise and exact and norm.bias is not None else None


class DCNv3(_DCNv3Base):
    """InternImage's DCNv3 block over torch.ops.npu.dcnv3.

    use_dcn_v4_op: InternImage's detection and segmentation backbones pass it to every layer; with
    it set, their DCNv3 samples through DCNv4's kernel, which takes the same locations, point order,
    borders and (softmax-normalised) masks as DCNv3's op. This layer therefore samples with its own
    op either way and keeps the flag as an attribute only.
    """

    def __init__(self, *args, use_dcn_v4_op=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.use_dcn_v4_op = use_dcn_v4_op

    # What inspect.signature, help() and the IDEs that ask it show: InternImage's arguments (the
    # base class's, written once there) and the keyword use_dcn_v4_op, not *args and **kwargs.
    __init__.__signature__ = inspect.signature(_DCNv3Base.__init__).replace(
        parameters=[
            *inspect.signature(_DCNv3Base.__init__).parameters.values(),
            inspect.Parameter("use_dcn_v4_op", inspect.Parameter.KEYWORD_ONLY, default=False),
        ]
    )

    def _dw_features(self, input):
        layers = _dw_conv_op_layers(input, self.dw_conv)
        if layers is None:
            return super()._dw_features(input)
        conv, norm = layers
        return torch.ops.npu.dcnv3_dw_conv(input, conv.weight, conv.bias, norm.weight, norm.bias, norm.eps)

    def _sample(self, x, offset, mask_logits):
        attrs = (*self._attrs(), _im2col_step(x), self.remove_center)
        if _fuses_softmax(x):
            return torch.ops.npu.dcnv3_softmax_mask(x, offset, mask_logits.type(x.dtype), *attrs)
        return DCNv3Function.apply(x, offset, self._softmax_mask(mask_logits, x.dtype), *attrs)


class DCNv3_pytorch(_DCNv3Base):  # noqa: N801 (InternImage's name)
    """InternImage's DCNv3 block over the pure-PyTorch grid_sample fallback."""

    def _sample(self, x, offset, mask_logits):
        return dcnv3_core_pytorch(
            x, offset, self._softmax_mask(mask_logits, x.dtype), *self._attrs(), self.remove_center
        )
