"""Released checkpoints by name (through a pre-filled Hugging Face cache, offline: no network) and device choice."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from helpers import TINY_NETWORK, assert_one_line_error, band_energy, run_tool, tiny_model

from corrupt.waveform import band_limit
from inference import A2SB_inpaint_api, A2SB_upsample_api, released
from inference.device import resolve_device
from inference.engine import Restorer

SR = 44100
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def run(tool, argv, capsys):
    return run_tool(tool.main, argv, capsys)


def fill_cache(cache, checkpoints):
    """Puts tiny checkpoints into a Hub cache under the released names, in the layout hf_hub_download reads."""
    repo = cache / f"models--{released.HUB_REPO.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    folder = repo / "snapshots" / COMMIT / released.HUB_FOLDER
    folder.mkdir(parents=True)
    names = released.model_files("twosplit") + released.model_files("onesplit")
    sources = [checkpoints[0], checkpoints[1], checkpoints[0]]
    for name, source in zip(names, sources):
        (folder / name).write_bytes(open(source, "rb").read())
    return folder


@pytest.fixture
def offline_cache(tmp_path, monkeypatch, model):
    cache = tmp_path / "hub"
    folder = fill_cache(cache, model[1])
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("A2SB_CHECKPOINTS", raising=False)
    return folder


@pytest.fixture
def band_limited(tmp_path, music):
    path = tmp_path / "in.wav"
    sf.write(path, band_limit(music(1.0)[None], 4000)[0], SR, subtype="PCM_16")
    return path


def single_expert_config(tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump({"network": TINY_NETWORK, "t_cutoffs": [], "window_frames": 64,
                                    "hop_frames": 64, "window_batch": 4}))
    return path


def test_released_names_resolve_through_the_offline_cache(tmp_path, offline_cache, model, band_limited, capsys):
    config, _ = model
    names = released.model_files("twosplit")
    out = tmp_path / "out.wav"
    code, printed, err = run(A2SB_upsample_api, ["-f", band_limited, "-o", out, "--cutoff", 4000, "-n", 2,
                                                 "--config", config, "--ckpt", ",".join(names), "--quiet"], capsys)
    assert code == 0, err
    restored, _ = sf.read(out, dtype="float32")
    assert band_energy(restored, 5000, 20000) > 0  # the cached experts regenerated the high band

    out = tmp_path / "one.wav"
    code, printed, err = run(A2SB_upsample_api, ["-f", band_limited, "-o", out, "--cutoff", 4000, "-n", 2,
                                                 "--model", "onesplit", "--config", single_expert_config(tmp_path),
                                                 "--quiet"], capsys)
    assert code == 0, err
    assert out.exists()


def test_from_config_takes_a_model_name(offline_cache, music):
    restorer = Restorer.from_config("onesplit", device="cpu", network=TINY_NETWORK, window_frames=64, hop_frames=64)
    assert restorer.ensemble.t_cutoffs == [] and len(restorer.ensemble.experts) == 1
    audio = band_limit(music(1.0)[None], 4000)[0]
    wide = restorer.bandwidth_extension(audio, 4000, n_steps=2, progress=False)
    assert wide.shape == audio.shape and np.isfinite(wide).all()


def test_the_model_picks_its_sampling_config(offline_cache, band_limited, tmp_path, capsys):
    # The released config wants the 565 M-parameter UNet: the tiny cached weights cannot fit it, and the
    # message names the cached file and the released config.
    code, printed, err = run(A2SB_upsample_api, ["-f", band_limited, "-o", tmp_path / "out.wav", "--cutoff", 4000,
                                                 "--model", "twosplit", "--device", "cpu", "--quiet"], capsys)
    assert_one_line_error(code, err, str(offline_cache / "A2SB_twosplit_0.0_0.5_release.ckpt"), "do not fit")
    assert "ensemble_2split_sampling.yaml" in printed


def test_offline_without_the_file_says_what_to_place_where(tmp_path, monkeypatch, band_limited, model, capsys):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _, err = run(A2SB_upsample_api, ["-f", band_limited, "-o", tmp_path / "out.wav", "--cutoff", 4000,
                                           "--config", single_expert_config(tmp_path), "--ckpt",
                                           "A2SB_onesplit_0.0_1.0_release.ckpt", "--device", "cpu"], capsys)
    assert_one_line_error(code, err, "A2SB_onesplit_0.0_1.0_release.ckpt", "offline", released.MODEL_CARD,
                          "--ckpt /path/to/A2SB_onesplit_0.0_1.0_release.ckpt")


@pytest.mark.parametrize("offline", [True, False])
def test_unreachable_hub_is_one_fast_line_naming_every_file(tmp_path, band_limited, offline):
    """--model twosplit with an empty cache: offline, or with the Hub at a closed port (no network). One line that
    names both files, the --ckpt to pass and HF_HUB_OFFLINE, with no retry chatter (the next test times the Hub
    question without the imports of a new process, which take many seconds on a busy machine)."""
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "empty"), "HF_ENDPOINT": "http://127.0.0.1:9"}
    env.pop("A2SB_CHECKPOINTS", None)
    env.pop("HF_HUB_OFFLINE", None)
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    done = subprocess.run([sys.executable, os.path.join(ROOT, "inference", "A2SB_upsample_api.py"), "-f",
                           str(band_limited), "-o", str(tmp_path / "out.wav"), "--cutoff", "4000", "--model",
                           "twosplit", "--device", "cpu"], env=env, capture_output=True, text=True, timeout=60)
    names = released.model_files("twosplit")
    assert_one_line_error(done.returncode, done.stderr, *names, *(f"--ckpt /path/to/{name}" for name in names),
                          "HF_HUB_OFFLINE")


@pytest.mark.parametrize("offline", ["1", ""])
def test_the_hub_question_itself_takes_under_5_seconds(tmp_path, monkeypatch, offline):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", offline)
    released.resolve_checkpoints(["x.ckpt"])  # imports huggingface_hub outside the timing
    started = time.monotonic()
    with pytest.raises(released.HubUnavailableError, match="HF_HUB_OFFLINE"):
        released.resolve_checkpoints(released.model_files("twosplit"))
    assert time.monotonic() - started < 5


def test_unknown_names_are_local_paths(tmp_path, band_limited, model, capsys):
    code, _, err = run(A2SB_upsample_api, ["-f", band_limited, "-o", tmp_path / "out.wav", "--cutoff", 4000,
                                           "--config", model[0], "--ckpt", "mine.ckpt,other.ckpt",
                                           "--device", "cpu"], capsys)
    assert_one_line_error(code, err, "mine.ckpt", "not found")


def test_a_folder_as_checkpoint_is_a_directory(tmp_path, band_limited, model, capsys):
    code, _, err = run(A2SB_upsample_api, ["-f", band_limited, "-o", tmp_path / "out.wav", "--cutoff", 4000,
                                           "--config", model[0], "--ckpt", f"{tmp_path},{model[1][1]}",
                                           "--device", "cpu"], capsys)
    assert_one_line_error(code, err, str(tmp_path), "is a directory")


@pytest.mark.parametrize("device, words", [("foo", ["--device foo", "not a torch device"]),
                                           ("cuda", ["--device cuda", "CUDA is not available"]),
                                           ("mps", ["--device mps", "not available"])])
def test_unusable_device_is_one_line_before_any_weights(tmp_path, band_limited, model, capsys, monkeypatch,
                                                        device, words):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    truncated = tmp_path / "cut.ckpt"
    truncated.write_bytes(open(model[1][0], "rb").read()[:1000])  # would fail to load if it were read
    code, _, err = run(A2SB_upsample_api, ["-f", band_limited, "-o", tmp_path / "out.wav", "--cutoff", 4000,
                                           "--config", model[0], "--ckpt", f"{truncated},{truncated}",
                                           "--device", device], capsys)
    assert_one_line_error(code, err, *words)


def test_default_device_is_the_best_available_and_printed(tmp_path, band_limited, model, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device(None) == torch.device("mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    code, printed, err = run(A2SB_upsample_api, ["-f", band_limited, "-o", tmp_path / "out.wav", "--cutoff", 4000,
                                                 "-n", 2, "--config", model[0], "--ckpt", ",".join(model[1]),
                                                 "--quiet"], capsys)
    assert code == 0, err
    assert "device: cpu (the best available" in printed


def test_steps_default_to_the_config(tmp_path, band_limited, capsys, monkeypatch):
    config, checkpoints = tiny_model(str(tmp_path))
    settings = yaml.safe_load(open(config))
    yaml.safe_dump({**settings, "bandwidth_steps": 3}, open(config, "w"))
    used = []
    original = Restorer._steps
    monkeypatch.setattr(Restorer, "_steps", staticmethod(lambda n, default: used.append(original(n, default))
                                                         or used[-1]))
    code, _, err = run(A2SB_upsample_api, ["-f", band_limited, "-o", tmp_path / "out.wav", "--cutoff", 4000,
                                           "--config", config, "--ckpt", ",".join(checkpoints), "--quiet"], capsys)
    assert code == 0, err
    assert used == [3]


def test_shortcut_refusal_names_the_command_line_option(tmp_path, music, model, capsys):
    path = tmp_path / "in.wav"
    sf.write(path, music(4.0), SR, subtype="PCM_16")
    code, _, err = run(A2SB_inpaint_api, ["-f", path, "-o", tmp_path / "out.wav", "--gaps", "1.0-2.0", "--mode",
                                          "shortcut", "-n", 2, "--config", model[0], "--ckpt", ",".join(model[1]),
                                          "--device", "cpu"], capsys)
    assert_one_line_error(code, err, "--mode full")
