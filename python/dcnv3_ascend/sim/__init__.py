"""Runs the project's AscendC DCNv3 kernels (op_kernel/*.cpp, compiled unchanged) in the CPU simulator.

dcnv3_forward / dcnv3_backward take torch tensors (float32, float16 or bfloat16, NHWC as in
InternImage) and the attributes as one dcnv3_ascend.attrs.Dcnv3Attrs; they return torch tensors
and the launch statistics: a dict with block_dim, tiling_key,
gm_read_bytes, gm_write_bytes, dma_count (split by pipe: mte2_dma_count, mte3_dma_count; of the
latter atomic_dma_count moving atomic_write_bytes), gm_scalar_access_count, ub_scalar_access_count,
vector_instr_count, vector_repeat_count (256-byte repeats), pipe_barrier_v_count,
pipe_barrier_all_count (explicit PipeBarriers only), ub_peak_bytes (totals; ub_peak_bytes is the
maximum over cores) and per_core, a dict of per-core lists. cost_model.estimate turns them into a
per-pipe time estimate.
plan_forward / plan_backward return the host tiling plan as a dict. SOCS maps SoC names to
(vector_core_num, ub_bytes); SOC_TABLE maps them to the whole row of the package's SoC table
(op_host/dcnv3_soc_table.h): compute_unit, vector_core_num, ub_bytes, clock_mhz.

A kernel that breaks a hardware rule raises SimulatorError with the rule, the core and the values;
bad arguments raise ValueError naming the argument. Both entry points and the plans run the host's
own checks first (dcnv3::PlanTiling, as the TilingFunc and the NPU adapter do), so a problem the
kernels cannot take fails with the host's message.
"""

import torch

from ..attrs import ATTRIBUTE_IS_FLOAT, Dcnv3Attrs
from . import _sim
from ._sim import SimulatorError

__all__ = ["SOCS", "SOC_TABLE", "SimulatorError", "dcnv3_backward", "dcnv3_forward", "plan_backward", "plan_forward"]

SOCS = dict(_sim.socs())
SOC_TABLE = {row["name"]: row for row in _sim.soc_table()}

_DTYPE_NAMES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}


def _dtype_name(tensors):
    """The common dtype of `tensors` ({name: tensor}) as the simulator spells it."""
    first_name, first = next(iter(tensors.items()))
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        # Their bytes are what the kernels read (reshape, view or contiguous failed on them, naming
        # no argument).
        if t.is_nested or t.layout != torch.strided:
            kind = "a nested tensor" if t.is_nested else "a tensor"
            raise ValueError(
                f"{name} must be a dense (strided) tensor for the simulator, got {kind} with layout {t.layout}"
            )
        if t.dtype not in _DTYPE_NAMES:
            raise ValueError(
                f"{name} has dtype {t.dtype}; Ascend kernels take float32, float16 or bfloat16 "
                "(float64 is not an Ascend dtype)"
            )
        if t.dtype != first.dtype:
            raise ValueError(f"{name} has dtype {t.dtype} but {first_name} has {first.dtype}; all must match")
        if t.device.type != "cpu":
            raise ValueError(f"{name} must be on the CPU for the simulator, got device {t.device}")
    return _DTYPE_NAMES[first.dtype]


def _raw(t):
    """The tensor's bytes as a contiguous numpy uint8 array, plus its shape."""
    t = t.detach().contiguous()
    return t.reshape(-1).view(torch.uint8).numpy(), list(t.shape)


def _to_tensor(raw, shape, dtype):
    if raw.size == 0:  # numpy gives empty arrays a zero stride, which torch cannot reinterpret
        return torch.empty(shape, dtype=dtype)
    return torch.from_numpy(raw).view(dtype).reshape(shape)


def _attrs(attrs):
    """A Dcnv3Attrs as the harness takes it, {name: value}, typed as Dcnv3Attrs.args() types them."""
    if not isinstance(attrs, Dcnv3Attrs):
        raise ValueError(f"attrs must be a dcnv3_ascend.attrs.Dcnv3Attrs, got {type(attrs).__name__}")
    for name, is_float in ATTRIBUTE_IS_FLOAT.items():
        v = getattr(attrs, name)
        # args() takes remove_center as a bool too (InternImage's modules pass one).
        bool_ok = name == "remove_center"
        if (isinstance(v, bool) and not bool_ok) or not isinstance(v, (int, float) if is_float else int):
            raise ValueError(f"{name} must be {'a float' if is_float else 'an int'}, got {v!r}")
    return dict(zip(ATTRIBUTE_IS_FLOAT, attrs.args()))


def _check_soc(soc):
    if soc not in SOCS:
        raise ValueError(f"soc must be one of {sorted(SOCS)}, got {soc!r}")


def dcnv3_forward(input, offset, mask, attrs, soc="Ascend910B3"):
    """Runs op_kernel/dcnv3.cpp for a Dcnv3Attrs. Returns (output [N, H_out, W_out, group*group_channels], stats)."""
    dtype = _dtype_name({"input": input, "offset": offset, "mask": mask})
    attrs = _attrs(attrs)
    _check_soc(soc)
    raw_out, out_shape, stats = _sim.dcnv3_forward(*_raw(input), *_raw(offset), *_raw(mask), attrs, dtype, soc)
    return _to_tensor(raw_out, out_shape, input.dtype), stats


def dcnv3_backward(input, offset, mask, grad_output, attrs, soc="Ascend910B3"):
    """Runs op_kernel/dcnv3_grad.cpp for a Dcnv3Attrs. Returns ((grad_input, grad_offset, grad_mask), stats)."""
    dtype = _dtype_name({"input": input, "offset": offset, "mask": mask, "grad_output": grad_output})
    attrs = _attrs(attrs)
    _check_soc(soc)
    (gi, go, gm), stats = _sim.dcnv3_backward(
        *_raw(input), *_raw(offset), *_raw(mask), *_raw(grad_output), attrs, dtype, soc
    )
    # The kernel accumulates grad_input in float32 (op_host/dcnv3_grad_outputs.h); like the torch
    # adapter (python/csrc/npu/dcnv3_npu.cpp), return it in the input dtype.
    grad_input = _to_tensor(gi, list(input.shape), torch.float32).to(input.dtype)
    grads = (grad_input, _to_tensor(go, list(offset.shape), input.dtype), _to_tensor(gm, list(mask.shape), input.dtype))
    return grads, stats


def _plan(input, offset, mask, grad_output, attrs, soc):
    tensors = {"input": input, "offset": offset, "mask": mask}
    if grad_output is not None:
        tensors["grad_output"] = grad_output
    dtype = _dtype_name(tensors)
    attrs = _attrs(attrs)
    _check_soc(soc)
    grad_shape = None if grad_output is None else list(grad_output.shape)
    return _sim.plan(
        grad_output is not None, list(input.shape), list(offset.shape), list(mask.shape), grad_shape, attrs, dtype, soc
    )


def plan_forward(input, offset, mask, attrs, soc="Ascend910B3"):
    """The forward tiling plan for a Dcnv3Attrs: {block_dim, tiling_key, workspace_bytes, tiling: {field: value}}."""
    return _plan(input, offset, mask, None, attrs, soc)


def plan_backward(input, offset, mask, grad_output, attrs, soc="Ascend910B3"):
    """The backward tiling plan, same form as plan_forward."""
    return _plan(input, offset, mask, grad_output, attrs, soc)
