"""The 13 DCNv3 attributes are listed once per language, and the output-size formula exists once.

Python lists them in python/dcnv3_ascend/attrs.py (Dcnv3Attrs), C++ in op_host/dcnv3_attr_list.h
(DCNV3_ATTRS); everything else takes a Dcnv3Attrs / dcnv3::Attrs or expands the X-macro. The
13 positional arguments stay only at the edges listed in EDGES. A "list" is six or more of the
names in schema order, each within a short distance of the previous one, as parameters,
arguments, fields, strings or enumerators (kKernelH ...). A name given a value (`name=value`,
`"name": value`, `("name", value)`) with any value but the name itself is one case's attribute,
not part of a list.
"""

import dataclasses
import re
import subprocess
from pathlib import Path

import pytest

import dcnv3_ascend
from dcnv3_ascend.attrs import Dcnv3Attrs

ROOT = Path(__file__).resolve().parents[1]
NAMES = [f.name for f in dataclasses.fields(Dcnv3Attrs)]
SOURCE_SUFFIXES = {".py", ".h", ".hpp", ".cpp", ".cc"}
RUN_LENGTH = 6  # names in order that make a list
MAX_GAP = 120  # characters between two names of one list

# Files allowed to spell the attributes out, and why.
EDGES = {
    "python/dcnv3_ascend/attrs.py": "the Python list (Dcnv3Attrs)",
    "op_host/dcnv3_attr_list.h": "the C++ list (DCNV3_ATTRS)",
    "python/dcnv3_ascend/functions.py": "InternImage's DCNv3Function / dcnv3_core_pytorch signatures",
    "python/dcnv3_ascend/compat.py": "InternImage's DCNv3 extension signatures",
    "op_kernel/dcnv3_tiles.h": "kernels read TilingData fields by name; CANN builds them apart from op_host",
    "python/dcnv3_ascend/verify.py": "its report table, with a column per attribute (h/w paired)",
}


def _enumerator(name):
    """kKernelH for kernel_h, as the contract's AttrIndex spells it."""
    return "k" + "".join(part.capitalize() for part in name.split("_"))


SPELLINGS = {spelling: index for index, name in enumerate(NAMES) for spelling in (name, _enumerator(name))}
WORD = re.compile(r"\b(" + "|".join(sorted(SPELLINGS, key=len, reverse=True)) + r")\b")
# What follows a name given a value: `=` (not `==`) after a bare name; `=`, `:` or `,` after a
# quoted one, where a following quoted name continues a list instead.
ASSIGNED = re.compile(r"\s*=(?!=)\s*([\w.]*)")
QUOTED_ASSIGNED = re.compile(r"""["']\s*[=:,]\s*(["']?[\w.]*)""")


def source_files():
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    names = sorted(set(filter(None, listed.decode().split("\0"))))
    return [n for n in names if Path(n).suffix in SOURCE_SUFFIXES and (ROOT / n).is_file()]


def attribute_lists(text):
    """(line, length) of each run of >= RUN_LENGTH attribute names in schema order in `text`."""
    hits, position = [], 0
    while match := WORD.search(text, position):
        position = match.end()
        quoted = match.start() > 0 and text[match.start() - 1] in "\"'"
        assigned = (QUOTED_ASSIGNED if quoted else ASSIGNED).match(text, match.end())
        if assigned and not assigned.group(1).startswith(("'", '"')):
            if assigned.group(1).rsplit(".", 1)[-1] != match.group(1):
                continue
            position = assigned.end()  # `name=name` forwards one attribute: one entry
        index = SPELLINGS[match.group(1)]
        if hits and hits[-1][0] == index and match.start() - hits[-1][2] <= MAX_GAP:
            hits[-1] = (index, hits[-1][1], position)  # one entry spelled twice: X(kKernelH, kernel_h, ...)
        else:
            hits.append((index, match.start(), position))
    runs, start = [], 0
    for i in range(1, len(hits) + 1):
        if i < len(hits) and hits[i][0] == hits[i - 1][0] + 1 and hits[i][1] - hits[i - 1][2] <= MAX_GAP:
            continue
        if i - start >= RUN_LENGTH:
            runs.append((text.count("\n", 0, hits[start][1]) + 1, i - start))
        start = i
    return runs


def test_the_detector_finds_lists_and_ignores_values():
    def_list = "def f(input, " + ", ".join(NAMES[:7]) + "):\n"
    assert attribute_lists(def_list) == [(1, 7)]
    assert attribute_lists("x = 1\n" + def_list.replace(", ", ",\n        ")) == [(3, 7)]
    forwarded = "g(" + ", ".join(f"{n}={n}" for n in NAMES) + ")"
    assert attribute_lists(forwarded) == [(1, 13)]
    strings = "(" + ", ".join(f'"{n}"' for n in NAMES[2:9]) + ")"
    assert attribute_lists(strings) == [(1, 7)]
    assert attribute_lists("{" + ", ".join(f"'{n}': {n}" for n in NAMES) + "}") == [(1, 13)]
    enum = "enum { " + ", ".join(_enumerator(n) for n in NAMES) + " };"
    assert attribute_lists(enum) == [(1, 13)]
    members = "\n".join(f"  a.{n} = {n};" for n in NAMES)
    assert attribute_lists(members) == [(1, 13)]
    x_macro = " ".join(f"X({_enumerator(n)}, {n}, Int)" for n in NAMES)
    assert attribute_lists(x_macro) == [(1, 13)]
    # One case's values, five names in order, or names far apart are not lists.
    assert attribute_lists("Dcnv3Attrs(" + ", ".join(f"{n}=3" for n in NAMES) + ")") == []
    assert attribute_lists("[" + ", ".join(f'("{n}", 2**31)' for n in NAMES) + "]") == []
    assert attribute_lists("{" + ", ".join(f'"{n}": k[{i}]' for i, n in enumerate(NAMES)) + "}") == []
    assert attribute_lists(", ".join(NAMES[:5])) == []
    assert attribute_lists((" " * (MAX_GAP + 1)).join(NAMES)) == []


def test_attributes_are_listed_only_at_the_edges():
    found = {}
    for name in source_files():
        runs = attribute_lists((ROOT / name).read_text(errors="replace"))
        if runs:
            found[name] = runs
    outside = {name: runs for name, runs in found.items() if name not in EDGES}
    assert not outside, (
        "the DCNv3 attributes are typed out again (file: [(line, names in order)]); take a Dcnv3Attrs "
        f"(Python) or expand DCNV3_ATTRS (C++) instead: {outside}"
    )
    stale = sorted(set(EDGES) - set(found))
    assert not stale, f"EDGES lists files that no longer spell the attributes out: {stale}"


# The output-size formula, (size + 2*pad - span) / stride + 1, and the dilated kernel extent,
# dilation * (kernel - 1) + 1, however the operands are named.
OUTPUT_SIZE = re.compile(r"/\s*[\w.>-]*stride[\w.]*\s*\+\s*1\b")
KERNEL_SPAN = re.compile(r"\*\s*\(\s*[\w.>\[\]-]*k(ernel)?[\w.\[\]]*\s*-\s*1\s*\)\s*\+\s*1\b")


def formula_sites(pattern, names):
    return [
        f"{name}:{text.count(chr(10), 0, m.start()) + 1}"
        for name in names
        for text in [(ROOT / name).read_text(errors="replace")]
        for m in pattern.finditer(text)
    ]


@pytest.mark.parametrize("pattern", [OUTPUT_SIZE, KERNEL_SPAN], ids=["output_size", "kernel_span"])
def test_output_size_formula_exists_once_per_language(pattern):
    """Once in Python (attrs.py; tests keep their own references) and once in C++ (the contract)."""
    files = source_files()
    python = [n for n in files if n.endswith(".py") and not n.startswith("tests/")]
    cpp = [n for n in files if not n.endswith(".py")]
    assert [site.split(":")[0] for site in formula_sites(pattern, python)] == ["python/dcnv3_ascend/attrs.py"], (
        formula_sites(pattern, python)
    )
    assert [site.split(":")[0] for site in formula_sites(pattern, cpp)] == ["op_host/dcnv3_contract.h"], formula_sites(
        pattern, cpp
    )


# The offset of the window's centre from its first tap, dilation * (kernel - 1) >> 1 (or // 2).
KERNEL_HALF = re.compile(r"\*\s*\(\s*[\w.>\[\]-]*k(ernel)?[\w.\[\]]*\s*-\s*1\s*\)\s*\)?\s*(>>\s*1|//\s*2)")


def test_kernel_half_is_derived_from_the_span_in_python():
    """Python code takes Dcnv3Attrs.kernel_half, which attrs.py derives from kernel_span; no
    package file types the formula (tests keep their own references)."""
    python = [n for n in source_files() if n.endswith(".py") and not n.startswith("tests/")]
    assert formula_sites(KERNEL_HALF, python) == []
    # kernel_h 5 / dilation 1 and kernel_w 4 / dilation 3: (5 - 1) // 2 and 3 * 3 // 2.
    assert Dcnv3Attrs(kernel_h=5, kernel_w=4, dilation_w=3).kernel_half == (2, 4)
    assert Dcnv3Attrs(kernel_h=1, kernel_w=2).kernel_half == (0, 0)


def test_documented_defaults_are_the_dataclass_defaults():
    """dcnv3_ascend.dcnv3's docstring spells the defaults out for users; they are Dcnv3Attrs's."""
    documented = dict(re.findall(r"(\w+)=([\d.]+)", dcnv3_ascend.dcnv3.__doc__))
    assert {name: float(value) for name, value in documented.items()} == dataclasses.asdict(Dcnv3Attrs())
