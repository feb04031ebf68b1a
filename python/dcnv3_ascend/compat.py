"""Run InternImage's unmodified model code on this package.

InternImage's models do `from ops_dcnv3 import modules as opsm` and its ops package does
`import DCNv3` (the compiled CUDA extension). After

    import dcnv3_ascend.compat
    dcnv3_ascend.compat.install_ops_dcnv3()

these imports resolve, through sys.modules, to this package:

    ops_dcnv3                        package with .modules and .functions
    ops_dcnv3.modules                DCNv3, DCNv3_pytorch          (dcnv3_ascend.modules)
    ops_dcnv3.modules.dcnv3          dcnv3_ascend.modules itself (also build_norm_layer, ...)
    ops_dcnv3.functions              DCNv3Function, dcnv3_core_pytorch
    ops_dcnv3.functions.dcnv3_func   dcnv3_ascend.functions itself
    DCNv3                            dcnv3_forward / dcnv3_backward with the extension's
                                     signatures, over torch.ops.npu.dcnv3 / dcnv3_backward

Call it before the first import of InternImage code: modules that already hold a reference to
a real ops_dcnv3 would keep it, so installing over an already imported ops_dcnv3 or DCNv3 is
refused with an error. Calling it again is harmless. InternImage checkpoints load unchanged,
since the modules keep InternImage's parameter names.
"""

import importlib.machinery
import sys
import types

import torch

from . import _checks, functions, modules

# Marks the module objects this file created, so a second install recognises its own work.
_SHIM_MARKER = "__dcnv3_ascend_shim__"


# InternImage's DCNv3.dcnv3_forward takes DCNv3Function's arguments in the same order
# (remove_center is optional there too, as in extension version 1.0).
dcnv3_forward = functions.DCNv3Function.apply


def dcnv3_backward(
    input,
    offset,
    mask,
    kernel_h,
    kernel_w,
    stride_h,
    stride_w,
    pad_h,
    pad_w,
    dilation_h,
    dilation_w,
    group,
    group_channels,
    offset_scale,
    grad_output,
    im2col_step,
    remove_center=0,
):
    """InternImage's DCNv3.dcnv3_backward: grad_output comes after the attributes there, and the
    result is a list [grad_input, grad_offset, grad_mask]."""
    # Checked as DCNv3Function checks them (the schema would truncate a float tensor).
    args = _checks.attr_args(locals())  # first: its parameters are all it holds
    return list(torch.ops.npu.dcnv3_backward(input, offset, mask, grad_output, *args))


def _shim_module(name, package, **attributes):
    """A module made here. It has a spec, as an imported one does: importlib.util.find_spec(name)
    returns it (and raises without one)."""
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=package)
    if package:
        module.__path__ = []  # so that `import name.sub` looks sub up in sys.modules
    module.__dict__.update(attributes)
    setattr(module, _SHIM_MARKER, True)
    return module


def _shim_modules():
    """The sys.modules entries install_ops_dcnv3 adds, by name."""
    modules_pkg = _shim_module(
        "ops_dcnv3.modules", True, DCNv3=modules.DCNv3, DCNv3_pytorch=modules.DCNv3_pytorch, dcnv3=modules
    )
    functions_pkg = _shim_module(
        "ops_dcnv3.functions",
        True,
        DCNv3Function=functions.DCNv3Function,
        dcnv3_core_pytorch=functions.dcnv3_core_pytorch,
        dcnv3_func=functions,
    )
    extension = _shim_module(
        "DCNv3",
        False,
        __doc__="InternImage's compiled DCNv3 extension, served by dcnv3_ascend",
        dcnv3_forward=dcnv3_forward,
        dcnv3_backward=dcnv3_backward,
    )
    return {
        "ops_dcnv3": _shim_module("ops_dcnv3", True, modules=modules_pkg, functions=functions_pkg),
        "ops_dcnv3.modules": modules_pkg,
        "ops_dcnv3.modules.dcnv3": modules,
        "ops_dcnv3.functions": functions_pkg,
        "ops_dcnv3.functions.dcnv3_func": functions,
        "DCNv3": extension,
    }


def install_ops_dcnv3():
    """Makes `ops_dcnv3` (and its submodules) and `DCNv3` importable as this package. Idempotent."""
    for name in ("ops_dcnv3", "DCNv3"):
        existing = sys.modules.get(name)
        if existing is not None and not getattr(existing, _SHIM_MARKER, False):
            raise RuntimeError(
                f"install_ops_dcnv3: module {name!r} is already imported from "
                f"{getattr(existing, '__file__', existing)!r}; call install_ops_dcnv3() before "
                "importing InternImage code"
            )
    if getattr(sys.modules.get("ops_dcnv3"), _SHIM_MARKER, False):
        return
    sys.modules.update(_shim_modules())
