"""scripts/build.sh and scripts/build_config.py: SoC -> compute unit mapping, argument errors
(each names the argument and lists what is allowed), the missing-CANN report (and nothing left
behind), --help, and the CMake user preset that carries the arguments into CMake."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build_config  # noqa: E402

A2_SOCS = ["Ascend910B1", "Ascend910B2", "Ascend910B2C", "Ascend910B3", "Ascend910B4", "Ascend910B4-1"]
A3_SOCS = ["Ascend910_9391", "Ascend910_9392", "Ascend910_9381", "Ascend910_9382", "Ascend910_9372", "Ascend910_9362"]


@pytest.mark.parametrize("soc", A2_SOCS)
def test_atlas_a2_socs_map_to_ascend910b(soc):
    assert build_config.compute_units([soc]) == ["ascend910b"]
    assert build_config.compute_units([soc.lower()]) == ["ascend910b"]


@pytest.mark.parametrize("soc", A3_SOCS)
def test_atlas_a3_socs_map_to_ascend910_93(soc):
    assert build_config.compute_units([soc]) == ["ascend910_93"]


def test_several_socs_give_each_unit_once():
    assert build_config.compute_units(["Ascend910B3", "Ascend910_9391", "ascend910b1"]) == [
        "ascend910_93",
        "ascend910b",
    ]


@pytest.mark.parametrize("soc", ["Ascend910B", "Ascend910A", "Ascend310P3", "Ascend910B5", ""])
def test_unsupported_soc_lists_the_supported_ones(soc):
    # "Ascend910B" alone is first-generation 910 in CANN's own map, not an Atlas A2 part.
    with pytest.raises(build_config.ConfigError) as error:
        build_config.compute_units([soc] if soc else [])
    for supported in A2_SOCS + A3_SOCS:
        assert supported in str(error.value)


def run_build(repo, *args, env=None):
    environment = {k: v for k, v in os.environ.items() if k not in ("ASCEND_HOME_PATH", "ASCEND_TOOLKIT_HOME")}
    environment.update(env or {})
    return subprocess.run(
        ["bash", str(repo / "scripts" / "build.sh"), *args], capture_output=True, text=True, env=environment, cwd=repo
    )


@pytest.fixture
def repo(tmp_path):
    """A copy of the build files, so what build.sh writes (or does not) can be inspected."""
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("CMakeLists.txt", "CMakePresets.json"):
        shutil.copy(ROOT / name, copy / name)
    for name in ("cmake", "scripts", "op_host"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def left_behind(repo):
    return sorted(p.name for p in repo.iterdir() if p.name in ("build_out", "CMakeUserPresets.json", "build"))


def test_help(repo):
    result = run_build(repo, "--help")
    assert result.returncode == 0
    for option in ("--soc", "--vendor", "--cann", "--build-type", "--jobs", "--clean", "--no-opp", "--help"):
        assert option in result.stdout
    for soc in A2_SOCS + A3_SOCS:
        assert soc in result.stdout


def test_help_without_python_says_so(repo):
    result = run_build(repo, "--help", env={"PYTHON": "no-such-python3"})
    assert result.returncode == 2
    assert "no-such-python3 not found (set PYTHON=/path/to/python3)" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--soc", "Ascend310P3"], "unsupported SoC 'Ascend310P3'; supported SoCs are ascend910b: Ascend910B1"),
        (["--soc"], "--soc needs a value"),
        (["--cann="], "--cann needs a value"),  # empty, it had looked for CANN in the working directory
        (["--soc="], "--soc needs a value"),
        (["--jobs", "0"], "--jobs must be an integer from 1 to 4096, got '0'"),
        # Accepted, 70000 hung make's jobserver after the configure step.
        (["--jobs", "70000"], "--jobs must be an integer from 1 to 4096, got '70000'"),
        (["--jobs=99999999999999999999"], "--jobs must be an integer from 1 to 4096, got '99999999999999999999'"),
        (["--build-type", "Fast"], "build type must be one of Release, Debug, got 'Fast'"),
        (["--vendor", "my-vendor"], "vendor name must match [A-Za-z0-9_]+"),
        (["--frobnicate"], "unknown argument '--frobnicate'"),
        # Ignored, --build-type Debug had built a Release wheel.
        (["--no-opp", "--build-type", "Debug"], "would have no effect: --cann --build-type"),
    ],
)
def test_argument_errors(repo, tmp_path, args, message):
    cann = make_fake_cann(tmp_path / "cann")
    result = run_build(repo, "--cann", str(cann), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert left_behind(repo) == []


def test_missing_cann_says_what_is_missing_and_leaves_nothing(repo, tmp_path):
    missing = tmp_path / "no_cann_here"
    result = run_build(repo, "--cann", str(missing))
    assert result.returncode == 2
    for rel, _ in build_config.CANN_REQUIRED_FILES:
        assert str(missing / rel) in result.stderr
    assert "Install the CANN toolkit" in result.stderr and "COMPILE_GUIDE.md" in result.stderr
    assert left_behind(repo) == []


@pytest.mark.parametrize("variable", ["ASCEND_HOME_PATH", "ASCEND_TOOLKIT_HOME", None])
def test_missing_cann_names_where_its_path_came_from(repo, tmp_path, variable):
    # Without --cann, a stale environment variable was left for the user to guess.
    stale = tmp_path / "stale_cann"
    args, env = (["--cann", str(stale)], {}) if variable is None else ([], {variable: str(stale)})
    result = run_build(repo, *args, env=env)
    assert result.returncode == 2
    assert f"the toolkit path {stale} came from {variable or '--cann'}" in result.stderr


def test_partial_cann_names_only_the_missing_files(repo, tmp_path):
    cann = make_fake_cann(tmp_path / "cann")
    (cann / "compiler" / "ccec_compiler" / "bin" / "ccec").unlink()
    result = run_build(repo, "--cann", str(cann))
    assert result.returncode == 2
    listed = [line.split()[0] for line in result.stderr.splitlines() if line.startswith("  ")]
    assert listed == [str(cann / "compiler/ccec_compiler/bin/ccec")]
    assert left_behind(repo) == []


def test_preset_document():
    doc = build_config.user_preset(["Ascend910B3", "Ascend910_9391"], "acme", "/opt/cann", "Debug")
    (preset,) = doc["configurePresets"]
    assert preset["name"] == build_config.USER_PRESET and preset["inherits"] == "default"
    assert {k: v["value"] for k, v in preset["cacheVariables"].items()} == {
        "ASCEND_COMPUTE_UNIT": "ascend910_93;ascend910b",
        "vendor_name": "acme",
        "ASCEND_CANN_PACKAGE_PATH": "/opt/cann",
        "CMAKE_BUILD_TYPE": "Debug",
    }


def test_cmake_accepts_the_presets(repo):
    (repo / "CMakeUserPresets.json").write_text(
        json.dumps(build_config.user_preset(["Ascend910B1"], "dcnv3", "/opt/cann", "Release"))
    )
    result = subprocess.run(["cmake", "--list-presets"], cwd=repo, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert '"default"' in result.stdout and f'"{build_config.USER_PRESET}"' in result.stdout


def make_fake_cann(root):
    """Just the files build.sh checks, plus an environment script putting no-op opc/bisheng on PATH."""
    for rel, _ in build_config.CANN_REQUIRED_FILES:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("Version=8.1.RC1\n" if rel.endswith("version.info") else "")
    bin_dir = root / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("opc", "bisheng"):
        (bin_dir / tool).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / tool).chmod(0o755)
    (bin_dir / "setenv.bash").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    return root


# Repeated, --soc had kept its last value only.
@pytest.mark.parametrize(
    "socs", [["--soc", "ascend910b4,Ascend910_9382"], ["--soc", "ascend910b4", "--soc=Ascend910_9382"]]
)
def test_arguments_reach_cmake_through_the_user_preset(repo, tmp_path, socs):
    """With a CANN that has the checked files but no real tools, build.sh gets as far as CMake's
    op_build step; the preset it wrote and CMake's cache show every argument arrived."""
    cann = make_fake_cann(tmp_path / "cann")
    result = run_build(
        repo,
        "--cann",
        str(cann),
        *socs,
        "--vendor",
        "acme",
        "--build-type",
        "Debug",
        "--jobs",
        "1",
    )
    assert result.returncode != 0
    assert "compiling op_host for op_build failed" in result.stdout + result.stderr
    preset = json.loads((repo / "CMakeUserPresets.json").read_text())["configurePresets"][0]
    assert preset["cacheVariables"]["ASCEND_COMPUTE_UNIT"]["value"] == "ascend910_93;ascend910b"
    cache = dict(
        line.split("=", 1)
        for line in (repo / "build_out" / "CMakeCache.txt").read_text().splitlines()
        if "=" in line and not line.startswith(("#", "//"))
    )
    assert cache["ASCEND_COMPUTE_UNIT:STRING"] == "ascend910_93;ascend910b"
    assert cache["vendor_name:STRING"] == "acme"
    assert cache["CMAKE_BUILD_TYPE:STRING"] == "Debug"
    assert cache["ASCEND_CANN_PACKAGE_PATH:PATH"] == str(cann)
    assert cache["ENABLE_BINARY_PACKAGE:BOOL"] == "True"  # inherited from CMakePresets.json


def stand_in_cmake(folder):
    """A new folder holding a cmake that reports version 3.28.0 and succeeds at everything."""
    folder.mkdir()
    (folder / "cmake").write_text('#!/bin/sh\n[ "$1" = --version ] && echo "cmake version 3.28.0"\nexit 0\n')
    (folder / "cmake").chmod(0o755)
    return folder


def test_a_build_that_makes_no_package_fails(repo, tmp_path):
    """Every step succeeds (a stand-in cmake) but no .run appears: build.sh must not report one."""
    cann = make_fake_cann(tmp_path / "cann")
    stub = stand_in_cmake(tmp_path / "stub")
    result = run_build(repo, "--cann", str(cann), "--jobs", "1", env={"PATH": f"{stub}:{os.environ['PATH']}"})
    assert result.returncode != 0
    assert "build.sh: package" not in result.stdout


def test_missing_make_is_named_before_anything_is_written(repo, tmp_path):
    """A PATH with every tool but make (and a stand-in cmake): the build's generator needs make."""
    cann = make_fake_cann(tmp_path / "cann")
    tools = stand_in_cmake(tmp_path / "tools")
    for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
        for tool in Path(folder).iterdir():
            if tool.name not in ("make", "gmake") and not (tools / tool.name).exists():
                (tools / tool.name).symlink_to(tool)
    (repo / "build_out").mkdir()
    (repo / "build_out" / "previous.run").write_text("the last good package")
    result = run_build(repo, "--cann", str(cann), "--clean", env={"PATH": str(tools), "PYTHON": sys.executable})
    assert result.returncode == 2
    assert "make not found: the build's generator is Unix Makefiles" in result.stderr
    assert (repo / "build_out" / "previous.run").read_text() == "the last good package"
    assert not (repo / "CMakeUserPresets.json").exists()


def test_a_failed_wheel_check_leaves_no_scratch_install(repo, tmp_path):
    """--no-opp with a stand-in Python whose pip succeeds and whose import check fails."""
    python = tmp_path / "python"
    python.write_text(
        "#!/bin/bash\n"
        'if [ "$1 $2 $3" = "-m pip wheel" ]; then\n'
        "  while [ $# -gt 0 ]; do\n"
        '    [ "$1" = -w ] && mkdir -p "$2" && touch "$2/dcnv3_ascend-0-py3-none-any.whl"\n'
        "    shift\n"
        "  done\n"
        "  exit 0\n"
        "fi\n"
        '[ "$1 $2 $3" = "-m pip install" ] && exit 0\n'
        "exit 1\n"
    )
    python.chmod(0o755)
    temp = tmp_path / "tmp"
    temp.mkdir()
    result = run_build(repo, "--no-opp", env={"PYTHON": str(python), "TMPDIR": str(temp)})
    assert result.returncode != 0
    assert list(temp.iterdir()) == []


def test_a_wheel_of_an_earlier_build_is_replaced(repo, tmp_path):
    """--no-opp with a stand-in Python whose pip wheel makes this build's wheel and whose other
    calls succeed: the wheel an earlier build (another Python) left was installed beside it."""
    python = tmp_path / "python"
    python.write_text(
        "#!/bin/bash\n"
        'if [ "$1 $2 $3" = "-m pip wheel" ]; then\n'
        "  while [ $# -gt 0 ]; do\n"
        '    [ "$1" = -w ] && touch "$2/dcnv3_ascend-0.1-cp311-cp311-linux_x86_64.whl"\n'
        "    shift\n"
        "  done\n"
        "fi\n"
        f'[ "$1 $2 $3" = "-m pip install" ] && echo "$@" >"{tmp_path}/installed"\n'
        "exit 0\n"
    )
    python.chmod(0o755)
    dist = repo / "build_out" / "dist"
    dist.mkdir(parents=True)
    (dist / "dcnv3_ascend-0.1-cp310-cp310-linux_x86_64.whl").write_text("earlier build")
    result = run_build(repo, "--no-opp", env={"PYTHON": str(python)})
    assert result.returncode == 0, result.stderr
    assert [p.name for p in dist.iterdir()] == ["dcnv3_ascend-0.1-cp311-cp311-linux_x86_64.whl"]
    assert "cp310" not in (tmp_path / "installed").read_text()


def test_clean_removes_previous_outputs(repo, tmp_path):
    (repo / "build_out").mkdir()
    (repo / "build_out" / "stale.run").write_text("old")
    (repo / "build" / "sanitize").mkdir(parents=True)
    cann = make_fake_cann(tmp_path / "cann")
    run_build(repo, "--cann", str(cann), "--clean", "--jobs", "1")
    assert not (repo / "build_out" / "stale.run").exists()
    # build/ goes too (sanitize.sh's sanitized builds with it), which --help had not said.
    assert not (repo / "build").exists()
    assert "remove build_out/, build/ (setup.py's and sanitize.sh's build trees)" in run_build(repo, "--help").stdout
