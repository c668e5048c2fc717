"""Restorer.from_config's checkpoint errors name every missing file, the option that fixes it (checkpoints=[...] in
Python, --ckpt on the command line) and where the paths came from (the argument, a released model's config,
$A2SB_CHECKPOINTS)."""
import pytest

from inference import released
from inference.engine import Restorer

TWO = "configs/ensemble_2split_sampling.yaml"
ONE = "configs/ensemble_1split_sampling.yaml"


@pytest.fixture
def no_environment(monkeypatch):
    monkeypatch.delenv("A2SB_CHECKPOINTS", raising=False)


def error_of(call):
    with pytest.raises((ValueError, OSError)) as caught:
        call()
    return str(caught.value)


def assert_says(message, *words):
    assert "\n" not in message
    for word in words:
        assert word in message, message


def test_every_missing_file_of_the_argument_is_named(tmp_path, no_environment):
    gone = [str(tmp_path / "low.ckpt"), str(tmp_path / "high.ckpt")]
    message = error_of(lambda: Restorer.from_config(TWO, checkpoints=gone))
    assert_says(message, *gone, "not found", "(from the checkpoints argument)", "checkpoints=[...]", "--ckpt")


def test_missing_files_from_the_environment_say_so(tmp_path, monkeypatch):
    gone = [str(tmp_path / "low.ckpt"), str(tmp_path / "high.ckpt")]
    monkeypatch.setenv("A2SB_CHECKPOINTS", ",".join(gone))
    message = error_of(lambda: Restorer.from_config(TWO))
    assert_says(message, *gone, "(from $A2SB_CHECKPOINTS)", "checkpoints=[...]", "--ckpt")


def test_a_folder_is_named_with_its_source(tmp_path, no_environment):
    message = error_of(lambda: Restorer.from_config(ONE, checkpoints=[tmp_path]))
    assert_says(message, str(tmp_path), "is a directory", "(from the checkpoints argument)", "checkpoints=[...]")


def test_a_count_that_does_not_fit_the_cut_points_names_both_sources(model, no_environment):
    message = error_of(lambda: Restorer.from_config(ONE, checkpoints=model[1]))
    assert_says(message, f"t_cutoffs of {ONE}", "need 1 checkpoint(s)", "got 2 from the checkpoints argument",
                "checkpoints=[...]", "--ckpt", "t_cutoffs=[...]", "--t-cutoffs")
    message = error_of(lambda: Restorer.from_config(ONE, checkpoints=model[1][:1], t_cutoffs=[0.3, 0.6]))
    assert_says(message, "(the t_cutoffs argument) need 3 checkpoint(s)")


def test_released_files_not_fetchable_are_all_named_with_the_model(tmp_path, monkeypatch, no_environment):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    names = released.model_files("twosplit")
    message = error_of(lambda: Restorer.from_config("twosplit"))
    assert_says(message, *names, "model 'twosplit', the checkpoint_files of", "HF_HUB_OFFLINE",
                *(f"--ckpt /path/to/{name}" for name in names), "Python: checkpoints=['/path/to/")
    with pytest.raises(released.HubUnavailableError, match=r"\(named by --model twosplit\)"):
        released.resolve_checkpoints(names, "--model twosplit")
