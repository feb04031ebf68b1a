"""Argument checks shared by the command-line tools (bench, verify, sim.report, onnx).

Each tool checks its options before it starts any long work, so a bad value ends in a usage
error (argparse's `parser.error`, exit status 2) that names the option, not in a traceback after
minutes of benchmarking. The `*_type` factories are argparse `type=` callables: argparse puts the
option's name in front of their message ("argument --repeats: must be ...").
"""

import argparse
import math
import os
import tempfile


def int_type(low, high=None, high_is=""):
    """argparse type: an integer from `low` to `high` (no upper bound when None); `high_is` says
    what the bound is, for the message."""
    expected = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"
    if high_is:
        expected += f" ({high_is})"

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {expected}, got {text!r}")
        return value

    return parse


def finite_float_type(low):
    """argparse type: a finite number >= `low` (float() also reads 'nan' and 'inf')."""

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < low:
            raise argparse.ArgumentTypeError(f"must be a finite number >= {low:g}, got {text!r}")
        return value

    return parse


def check_output_file(path):
    """Raises ValueError saying why a file cannot be written at `path`. Checked before a run so
    that its results are not lost to a typo at the end; nothing is left behind."""
    if not path:
        raise ValueError("the file name is empty")
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a directory, not a file name")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise ValueError(f"cannot write {path!r}: the directory {folder!r} does not exist")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise ValueError(f"cannot write {path!r}: permission denied")
    # os.access answers yes to root for every folder, also on a read-only file system or in
    # /proc, where the write would fail only after the run: try it. An anonymous temporary file
    # in the folder, and the file itself opened for appending (neither truncated nor created),
    # leave nothing behind.
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
        if os.path.exists(path):
            with open(path, "ab"):
                pass
    except OSError as error:
        raise ValueError(f"cannot write {path!r}: {error.strerror or error}") from None


def output_file_type(path):
    """argparse type: a path check_output_file accepts."""
    try:
        check_output_file(path)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return path


def parse_names(text, choices, option, allow_all=False):
    """The names of the comma list `text` given for `option`, each one of `choices` (empty items
    are skipped, a repeated name counts once; 'all' means every choice when allow_all).
    ValueError naming the option, the choices and the text otherwise, for the caller's
    parser.error."""
    if allow_all and text == "all":
        return list(choices)
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names or any(name not in choices for name in names):
        expected = ("'all' or " if allow_all else "") + "a comma list of " + ", ".join(choices)
        raise ValueError(f"{option} must be {expected}, got {text!r}")
    # A name given twice would run (and count) the same work twice: "--backend cpu,cpu" reported
    # every case twice and twice the passes.
    return list(dict.fromkeys(names))


def physical_memory_bytes():
    """The machine's memory in bytes; None where the OS does not say (not POSIX)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_fits(needed, what):
    """Raises ValueError when `needed` bytes are more than the machine's memory; `what` (the option
    and what needs the memory) opens the message."""
    memory = physical_memory_bytes()
    if memory is not None and needed > memory:
        raise ValueError(f"{what} needs {needed / 2**30:.3g} GiB, more than this machine's {memory / 2**30:.3g} GiB")


def check_batch_fits(batch, cases):
    """Raises ValueError naming --batch when the tensors of the largest of `cases` (shapes.Case,
    already of that batch) would not fit in the machine's memory: torch then failed after setup
    with an allocator traceback, or with an integer overflow for a batch past int64."""
    if cases:
        largest = max(cases, key=lambda case: case.float64_bytes)
        check_fits(
            largest.float64_bytes,
            f"--batch {batch} is too large: case {largest.name} alone, for its float64 inputs and gradient,",
        )
