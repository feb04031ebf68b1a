"""Imports of the packages only some tools need, with an error that says what to install.

The runtime dependencies (torch, numpy) are all that `import dcnv3_ascend`, the op, the modules
and `python -m dcnv3_ascend.verify` / `bench` need. Plots need matplotlib, ONNX export needs onnx
(and onnxscript for torch's dynamo exporter); `pip install "dcnv3-ascend[tools]"` (or
`pip install -r requirements-test.txt` in a checkout) installs them all.
"""

import importlib


def require(module, needed_for):
    """Imports and returns `module`; ImportError naming the package to install otherwise."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module.split(".")[0]:
            raise  # the package is there but broken: show the real error
        raise ModuleNotFoundError(
            f"{needed_for} needs the '{error.name}' package, which is not installed: pip install {error.name}",
            name=error.name,
        ) from error
