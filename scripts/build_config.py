#!/usr/bin/env python3
"""Build configuration for the CANN operator package, shared by scripts/build.sh and the tests.

One place for three decisions build.sh must not make in shell:
  * which SoC names we build for and the compute unit (CANN's short SoC name) each maps to;
  * which files a CANN toolkit must provide before a build can start (and where each comes from);
  * the CMake user preset that carries build.sh's arguments into CMake.

CMakePresets.json holds the defaults; build.sh writes CMakeUserPresets.json with a preset that
inherits them, so the preset files stay the single source of build configuration.

Usage (build.sh calls these; each prints its result on stdout, errors on stderr, exit code 2):
  build_config.py supported-socs
  build_config.py compute-units SOC[,SOC...]
  build_config.py check-cann PATH
  build_config.py preset --soc SOC[,SOC...] --vendor NAME --cann PATH --build-type TYPE
  build_config.py preset-name
"""

import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOC_TABLE_HEADER = os.path.join(ROOT, "op_host", "dcnv3_soc_table.h")
SOC_ROW = re.compile(r'X\("([^"]+)", "([^"]+)", (\d+), (\d+), (\d+)\)')


def read_soc_table(path=SOC_TABLE_HEADER):
    """The package's SoC table (op_host/dcnv3_soc_table.h, also compiled into the adapter and the
    simulator) as {SoC: {compute_unit, vector_core_num, ub_bytes, clock_mhz}}."""
    with open(path, encoding="utf-8") as f:
        rows = SOC_ROW.findall(f.read())
    if not rows:
        raise ConfigError(f"no SoC rows found in {path}")
    return {
        name: {"compute_unit": unit, "vector_core_num": int(cores), "ub_bytes": int(ub), "clock_mhz": int(mhz)}
        for name, unit, cores, ub, mhz in rows
    }


class ConfigError(ValueError):
    """An argument that cannot be built; the message says what was expected."""


# SoC (as `npu-smi info` and ATC's --soc_version spell it) -> compute unit passed to
# ASCEND_COMPUTE_UNIT; the kernels target the dav-c220 vector core of Atlas A2 (910B) and Atlas A3
# (910_93) parts.
SOC_TO_COMPUTE_UNIT = {name: row["compute_unit"] for name, row in read_soc_table().items()}

# Name of the user preset build.sh writes; it inherits "default" from CMakePresets.json.
USER_PRESET = "dcnv3"

# What a CANN toolkit install must contain for the operator build, relative to its root
# (e.g. /usr/local/Ascend/ascend-toolkit/latest), and what each file is.
CANN_REQUIRED_FILES = (
    ("toolkit/tools/opbuild/op_build", "op_build, which generates the aclnn API and op proto from op_host"),
    ("compiler/ccec_compiler/bin/ccec", "ccec, the AscendC kernel compiler"),
    (
        "tools/op_project_templates/ascendc/customize/cmake/util/ascendc_compile_kernel.py",
        "the kernel build scripts of the msOpGen project template",
    ),
    ("include/register/op_def_registry.h", "the operator registration headers"),
    ("compiler/version.info", "the compiler version file"),
)

CANN_HOW_TO_GET = (
    "Install the CANN toolkit 8.x for your architecture (Ascend-cann-toolkit_<version>_linux-<arch>.run "
    "--install, from https://www.hiascend.com/developer/download/community/result?module=cann), then "
    "pass its root with --cann PATH or run `source <install dir>/ascend-toolkit/set_env.sh` "
    "(sets ASCEND_HOME_PATH). See COMPILE_GUIDE.md, section 'Prerequisites'."
)

VENDOR_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")
BUILD_TYPES = ("Release", "Debug")


def supported_socs_text():
    by_unit = {}
    for soc, unit in SOC_TO_COMPUTE_UNIT.items():
        by_unit.setdefault(unit, []).append(soc)
    return "; ".join(f"{unit}: {', '.join(socs)}" for unit, socs in by_unit.items())


def compute_units(socs):
    """Maps SoC names (case-insensitive) to the sorted list of distinct compute units."""
    canonical = {soc.lower(): soc for soc in SOC_TO_COMPUTE_UNIT}
    units = set()
    for soc in socs:
        name = canonical.get(soc.strip().lower())
        if name is None:
            raise ConfigError(f"unsupported SoC '{soc}'; supported SoCs are {supported_socs_text()}")
        units.add(SOC_TO_COMPUTE_UNIT[name])
    if not units:
        raise ConfigError(f"no SoC given; supported SoCs are {supported_socs_text()}")
    return sorted(units)


def split_socs(text):
    return [s for s in text.split(",") if s.strip()]


def missing_cann_files(cann_root):
    """Returns (relative path, description) of each required file absent under cann_root."""
    return [(rel, what) for rel, what in CANN_REQUIRED_FILES if not os.path.isfile(os.path.join(cann_root, rel))]


def check_vendor(vendor):
    if not VENDOR_PATTERN.match(vendor):
        raise ConfigError(
            f"vendor name must match [A-Za-z0-9_]+ (it becomes a directory under opp/vendors/), got '{vendor}'"
        )


def user_preset(socs, vendor, cann_root, build_type):
    """The CMakeUserPresets.json document for one build."""
    units = compute_units(socs)
    check_vendor(vendor)
    if build_type not in BUILD_TYPES:
        raise ConfigError(f"build type must be one of {', '.join(BUILD_TYPES)}, got '{build_type}'")
    return {
        "version": 1,
        "cmakeMinimumRequired": {"major": 3, "minor": 19, "patch": 0},
        "configurePresets": [
            {
                "name": USER_PRESET,
                "displayName": "scripts/build.sh",
                "description": "Written by scripts/build.sh from its arguments; inherits CMakePresets.json",
                "inherits": "default",
                "cacheVariables": {
                    "ASCEND_COMPUTE_UNIT": {"type": "STRING", "value": ";".join(units)},
                    "vendor_name": {"type": "STRING", "value": vendor},
                    "ASCEND_CANN_PACKAGE_PATH": {"type": "PATH", "value": os.path.abspath(cann_root)},
                    "CMAKE_BUILD_TYPE": {"type": "STRING", "value": build_type},
                },
            }
        ],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("supported-socs", help="print the supported SoCs by compute unit")
    p = sub.add_parser("compute-units", help="print the compute units of comma-separated SoCs")
    p.add_argument("socs")
    p = sub.add_parser("check-cann", help="list the files a CANN toolkit at PATH lacks")
    p.add_argument("path")
    sub.add_parser("preset-name", help="print the name of the preset that `preset` writes")
    p = sub.add_parser("preset", help="print CMakeUserPresets.json for these arguments")
    p.add_argument("--soc", required=True)
    p.add_argument("--vendor", required=True)
    p.add_argument("--cann", required=True)
    p.add_argument("--build-type", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "supported-socs":
            print(supported_socs_text())
        elif args.command == "preset-name":
            print(USER_PRESET)
        elif args.command == "compute-units":
            print(";".join(compute_units(split_socs(args.socs))))
        elif args.command == "check-cann":
            missing = missing_cann_files(args.path)
            if missing:
                lines = [f"CANN toolkit not usable at {args.path}: missing"]
                lines += [f"  {os.path.join(args.path, rel)}  ({what})" for rel, what in missing]
                lines.append(CANN_HOW_TO_GET)
                raise ConfigError("\n".join(lines))
        else:
            doc = user_preset(split_socs(args.soc), args.vendor, args.cann, args.build_type)
            print(json.dumps(doc, indent=2))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
