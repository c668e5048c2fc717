"""audiokit/cli.run_main, the one error handler of main.py, the tools and the scripts."""
import pytest

from audiokit.cli import run_main
from datasets.segments import TooManyFailedFilesError


def fail_with(error):
    def body(*args):
        raise error
    return body


@pytest.mark.parametrize("error", [TooManyFailedFilesError("m.csv: 3 of 3 files failed to decode"),
                                   ValueError("a.wav: not audio"), FileNotFoundError("b.ckpt: not found")])
def test_user_errors_end_as_one_line(capsys, monkeypatch, error):
    monkeypatch.delenv("A2SB_DEBUG", raising=False)
    assert run_main(fail_with(error)) == 1
    assert capsys.readouterr().err == f"error: {error}\n"


def test_debug_switch_shows_the_traceback(monkeypatch):
    monkeypatch.setenv("A2SB_DEBUG", "1")
    with pytest.raises(TooManyFailedFilesError):
        run_main(fail_with(TooManyFailedFilesError("m.csv")))


def test_interrupt_and_status(capsys, monkeypatch):
    monkeypatch.delenv("A2SB_DEBUG", raising=False)
    assert run_main(fail_with(KeyboardInterrupt())) == 130
    assert capsys.readouterr().err == "error: interrupted\n"
    assert run_main(lambda a, b: None, 1, 2) == 0
    assert run_main(lambda: 3) == 3


def test_a_bug_is_not_hidden():
    with pytest.raises(ZeroDivisionError):
        run_main(lambda: 1 / 0)
