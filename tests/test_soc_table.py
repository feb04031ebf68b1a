"""SoC facts live in one table, op_host/dcnv3_soc_table.h: the build configuration, the simulator
and the NPU adapter read it, and no other source file keeps its own copy of a core count, a UB
size or the list of SoC names."""

import os
import re
import sys
from pathlib import Path

from dcnv3_ascend import sim  # built by setup.py; a missing build must fail, not skip

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build_config  # noqa: E402

TABLE = build_config.read_soc_table()
TABLE_FILE = ROOT / "op_host" / "dcnv3_soc_table.h"
SOURCE_SUFFIXES = {".py", ".h", ".cpp", ".cc", ".cmake", ".txt", ".sh", ".json", ".ini", ".in"}
SKIP_DIRS = {".git", "build", "build_out", "tests", "__pycache__", ".eggs"}


def source_files():
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        for name in filenames:
            path = Path(dirpath) / name
            if path.suffix in SOURCE_SUFFIXES and path != TABLE_FILE:
                yield path


def test_table_rows_are_the_platform_config_values():
    # CANN 8.1.RC1 platform_config/<SoC>.ini: vector_core_cnt, ub_size, cube_freq.
    assert TABLE["Ascend910B3"] == dict(compute_unit="ascend910b", vector_core_num=40, ub_bytes=196608, clock_mhz=1800)
    assert TABLE["Ascend910B1"] == dict(compute_unit="ascend910b", vector_core_num=48, ub_bytes=196608, clock_mhz=1850)
    assert TABLE["Ascend910_9362"] == dict(
        compute_unit="ascend910_93", vector_core_num=40, ub_bytes=196608, clock_mhz=1500
    )
    assert "Ascend910B" not in TABLE  # CANN maps the bare name to the first-generation ascend910
    assert len(TABLE) == 12


def test_build_config_maps_exactly_the_table():
    assert build_config.SOC_TO_COMPUTE_UNIT == {name: row["compute_unit"] for name, row in TABLE.items()}


def test_simulator_compiles_in_the_same_table():
    rows = {name: {k: v for k, v in row.items() if k != "name"} for name, row in sim.SOC_TABLE.items()}
    debug = rows.pop("Ascend910B3-8core")
    assert rows == TABLE
    assert debug == dict(TABLE["Ascend910B3"], vector_core_num=8)
    assert sim.SOCS == {name: (row["vector_core_num"], row["ub_bytes"]) for name, row in sim.SOC_TABLE.items()}


def test_adapter_takes_its_ub_size_from_the_table():
    adapter = (ROOT / "python" / "csrc" / "npu" / "dcnv3_npu.cpp").read_text()
    assert '#include "dcnv3_soc_table.h"' in adapter
    assert re.search(r"kUnifiedBufferBytes\s*=\s*MinUbBytesOfTable\(\)", adapter)


def test_no_source_file_keeps_a_copy():
    ub_sizes = {str(row["ub_bytes"]) for row in TABLE.values()}
    copies = []
    for path in source_files():
        text = path.read_text(errors="replace")
        for ub in ub_sizes:
            if re.search(rf"\b{ub}\b", text):
                copies.append(f"{path.relative_to(ROOT)}: UB size {ub}")
        names = {name for name in TABLE if re.search(rf'"{re.escape(name)}"', text)}
        if len(names) > 2:  # a default SoC or two is a choice; more is a list of SoCs
            copies.append(f"{path.relative_to(ROOT)}: SoC names {sorted(names)}")
    assert not copies, "SoC facts outside op_host/dcnv3_soc_table.h:\n" + "\n".join(copies)
