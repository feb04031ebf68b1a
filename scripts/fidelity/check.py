"""Developer-side fidelity check of the AscendC simulator against Huawei's hardware-proven
DrivingSDK kernels (run through scripts/check_simulator_fidelity.sh).

For each kernel of drivingsdk_kernels.KERNELS: extract its op_kernel/op_host sources from a
DrivingSDK checkout or bare git directory into a temporary directory (nothing is copied into this
repository), compile them unchanged against simulator/include (dcnv3_ascend.sim.external), run them
in lenient mode on all the cores their op_host tiling asks for, and compare with the PyTorch
reference. One line per kernel and shape; exit status 1 on any mismatch, on an unexpected rule
violation, or when a known violation is no longer reported.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from drivingsdk_kernels import KERNELS

from dcnv3_ascend.sim import SimulatorError
from dcnv3_ascend.sim.external import build_kernel


def extract(drivingsdk, paths, dest):
    """Copies `paths` (directories inside the DrivingSDK tree) from a checkout or a git directory."""
    src = Path(drivingsdk)
    dest.mkdir(parents=True, exist_ok=True)
    if (src / "kernels").is_dir():
        for p in paths:
            shutil.copytree(src / p, dest / p, dirs_exist_ok=True)
        return
    git_dir = src if (src / "HEAD").is_file() and (src / "objects").is_dir() else src / ".git"
    if not (git_dir / "HEAD").is_file():
        raise SystemExit(f"--drivingsdk {src}: neither a DrivingSDK checkout (kernels/) nor a git directory")
    archive = subprocess.run(
        ["git", f"--git-dir={git_dir}", "archive", "HEAD", *paths], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)


def run_case(kernel, case):
    """(rules reported, max abs error or None, ok, detail)"""
    rules, detail = [], ""
    try:
        result = kernel.run(case.buffers, block_dim=case.block_dim, strict=False)
    except SimulatorError as e:
        rule = str(e).split("]")[0].lstrip("[")
        if rule not in case.expected_rules:
            return [rule], None, False, str(e)[:300]
        rules.append(rule)
        # A known violation stops the launch; rerun without that check to compare the numbers.
        reset(case)
        result = kernel.run(case.buffers, block_dim=case.block_dim, strict=False, check_pipe_hazards=False)
    warned = sorted({w.split("]")[0].lstrip("[") for w in result.warnings})
    missing = [r for r in case.expected_rules if r not in rules]
    err = 0.0
    for name, get in case.outputs.items():
        got = get(case.buffers).double()
        want = case.reference[name]
        if got.shape != want.shape:
            return rules, None, False, f"{name}: shape {tuple(got.shape)} vs reference {tuple(want.shape)}"
        err = max(err, (got - want).abs().nan_to_num(float("inf")).max().item())
    ok = err <= case.atol and not missing
    if missing:
        detail = f"expected {missing} was not reported"
    return rules + [f"warn:{w}" for w in warned], err, ok, detail


def reset(case):
    for b, fresh in zip(case.buffers, case.fresh_buffers):
        if b is not None:
            b[...] = fresh


def report(name, case, compiled, kernel, expect_bug):
    """Runs one case and prints its line; returns True when it is as expected."""
    reset(case)
    t1 = time.time()
    rules, err, ok, detail = run_case(kernel, case)
    verdict = "OK" if ok else "MISMATCH"
    if expect_bug:
        # The unchanged kernel must still compute this case wrongly; if it stopped, the finding is stale.
        verdict, ok = ("KNOWN-BUG", True) if err is not None and not ok else ("BUG-NOT-REPRODUCED", False)
        detail = detail or ""
    note = case.kernel_bug if expect_bug else case.note
    err_text = "n/a" if err is None else f"{err:.2e}"
    print(
        f"{name:26s} {case.label:52s} compiled={compiled:9s} blocks={case.block_dim:<3d} "
        f"rules={','.join(rules) or 'none'} max_err={err_text} (tol {case.atol:.0e}) {verdict} "
        f"[{time.time() - t1:.1f}s]" + (f"  # {note}" if note else "") + (f"\n    {detail}" if detail else ""),
        flush=True,
    )
    return ok


def build(spec, tree, build_dir):
    t0 = time.time()
    kernel = build_kernel(
        tree / spec.kernel,
        spec.entry,
        spec.args,
        build_dir,
        tiling_struct=spec.tiling_struct,
        tiling_headers=[tree / spec.tiling_header],
        defines=spec.defines,
    )
    return kernel, f"yes ({time.time() - t0:.0f}s)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivingsdk", required=True, help="DrivingSDK checkout or (bare) git directory")
    parser.add_argument("--build-dir", help="where compiled kernels are cached (default: a temporary directory)")
    # Choices: a misspelt kernel had run nothing and reported "all kernels match".
    parser.add_argument(
        "--only", action="append", choices=[spec.name for spec in KERNELS], help="run only these kernels (repeatable)"
    )
    args = parser.parse_args(argv)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="dsdk_") as tmp:
        tree = Path(tmp) / "src"
        tree.mkdir()
        build_dir = Path(args.build_dir) if args.build_dir else Path(tmp) / "build"
        for spec in KERNELS:
            if args.only and spec.name not in args.only:
                continue
            extract(args.drivingsdk, spec.sources, tree)
            try:
                kernel, compiled = build(spec, tree, build_dir)
            except RuntimeError as e:
                print(f"{spec.name:26s} {'-':52s} compiled=NO\n{e}")
                failures += 1
                continue
            cases = spec.cases()
            for case in cases:
                case.fresh_buffers = [None if b is None else b.copy() for b in case.buffers]
                failures += not report(spec.name, case, compiled, kernel, bool(case.kernel_bug))
            buggy = [c for c in cases if c.kernel_bug]
            if buggy and spec.fix:
                fixed_tree = Path(tmp) / f"fixed_{spec.name}"
                extract(args.drivingsdk, spec.sources, fixed_tree)
                path, wrong, right = spec.fix
                text = (fixed_tree / path).read_text()
                if text.count(wrong) != 1:
                    print(f"{spec.name}: the line to fix was not found once in {path}; update drivingsdk_kernels.py")
                    failures += 1
                    continue
                (fixed_tree / path).write_text(text.replace(wrong, right))
                kernel, compiled = build(spec, fixed_tree, build_dir)
                for case in buggy:
                    case.note = f"one-line fix: {right}"
                    failures += not report(spec.name + " (fixed copy)", case, compiled, kernel, False)
    print(f"{'all kernels match' if failures == 0 else f'{failures} mismatch(es)'}")
    return 1 if failures else 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
