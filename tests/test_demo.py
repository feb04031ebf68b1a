"""The demo's command line: --help and unknown options answer without running the demo."""

import pytest

from dcnv3_ascend import demo


@pytest.fixture
def not_run(monkeypatch):
    """The demo's first step replaced by a failure: the tests must end before it."""
    monkeypatch.setattr(demo.torch, "manual_seed", lambda seed: pytest.fail("the demo ran"))


def test_help_describes_the_demo_and_exits(not_run, capsys):
    with pytest.raises(SystemExit) as exit_info:
        demo.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m dcnv3_ascend.demo [-h]")
    assert "Runs one InternImage-T stage-1 DCNv3 layer" in out


def test_unknown_option_is_a_usage_error(not_run, capsys):
    with pytest.raises(SystemExit) as exit_info:
        demo.main(["--bogus-flag"])
    assert exit_info.value.code == 2
    assert "error: unrecognized arguments: --bogus-flag" in capsys.readouterr().err
