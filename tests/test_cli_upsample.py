"""inference/A2SB_upsample_api.py end to end with tiny random-initialised experts (the `model` fixture)."""
import os
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest
import soundfile as sf
import soxr
import torch

from helpers import band_energy, kept_band_error
from corrupt.waveform import band_limit
from inference import A2SB_upsample_api
from inference.engine import check_cutoff
SR = 44100
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(argv, capsys):
    code = A2SB_upsample_api.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_restores_with_given_cutoff_and_keeps_the_low_band(tmp_path, music, model, capsys):
    config, checkpoints = model
    source = band_limit(music(2.0)[None], 4000)[0]
    sf.write(tmp_path / "in.wav", source, SR, subtype="PCM_24")
    out, png = tmp_path / "out.wav", tmp_path / "out.png"
    code, printed, err = run(["-f", tmp_path / "in.wav", "-o", out, "-n", 2, "--cutoff", 4000, "--config", config,
                              "--ckpt", checkpoints[0], "--ckpt", checkpoints[1], "--device", "cpu", "--plot",
                              "--quiet"], capsys)
    assert code == 0, err
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (SR, 1, "PCM_24", len(source))
    assert png.stat().st_size > 1000
    restored, _ = sf.read(out, dtype="float32")
    assert kept_band_error(restored, source, 3500) < 1e-3
    # the random network regenerates something above the cutoff, where the input was empty
    assert band_energy(restored, 5000, 20000) > 100 * band_energy(source, 5000, 20000)


def test_detects_the_cutoff_resamples_and_keeps_stereo_float(tmp_path, music, model, capsys, monkeypatch):
    config, checkpoints = model
    monkeypatch.setenv("A2SB_CHECKPOINTS", ",".join(checkpoints))
    stereo = band_limit(np.stack([music(2.0, seed=1), music(2.0, seed=2)]), 6000)
    native = soxr.resample(stereo.T, SR, 48000)  # the file is at 48 kHz
    sf.write(tmp_path / "in.wav", native, 48000, subtype="FLOAT")
    out = tmp_path / "out.wav"
    code, printed, err = run(["-f", tmp_path / "in.wav", "-o", out, "-n", 2, "--config", config, "--quiet", "--plot"],
                             capsys)
    assert code == 0, err
    detected = float(printed.split("detected cutoff:")[1].split("Hz")[0])
    assert 5500 < detected < 6100
    assert float(printed.split("confidence")[1].split()[0]) >= 0.9
    # the picture gets the input's average spectrum beside the spectrograms: wider than the plain one
    picture = matplotlib.image.imread(tmp_path / "out.png")
    assert picture.shape[1] > 1000
    info = sf.info(out)
    expected_frames = len(soxr.resample(native, 48000, SR))
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (SR, 2, "FLOAT", expected_frames)
    restored, _ = sf.read(out, dtype="float32")
    reference = soxr.resample(native, 48000, SR)
    for channel in range(2):
        assert kept_band_error(restored[:, channel], reference[:, channel], 5000) < 1e-3


def test_full_band_input_is_copied_through(tmp_path, music, capsys, monkeypatch):
    # no checkpoints anywhere: the models must not even be loaded
    monkeypatch.delenv("A2SB_CHECKPOINTS", raising=False)
    source = music(2.0)
    sf.write(tmp_path / "in.wav", source, SR, subtype="PCM_16")
    out = tmp_path / "out.wav"
    code, printed, err = run(["-f", tmp_path / "in.wav", "-o", out], capsys)
    assert code == 0, err
    assert "nothing to do" in printed
    copied, _ = sf.read(out, dtype="int16")
    original, _ = sf.read(tmp_path / "in.wav", dtype="int16")
    assert sf.info(out).subtype == "PCM_16" and np.array_equal(copied, original)


def test_overwrite(tmp_path, music, capsys):
    sf.write(tmp_path / "in.wav", music(2.0), SR, subtype="PCM_16")
    out = tmp_path / "out.wav"
    out.write_bytes(b"old")
    code, _, err = run(["-f", tmp_path / "in.wav", "-o", out], capsys)
    assert code == 1 and "--overwrite" in err and out.read_bytes() == b"old"
    code, _, err = run(["-f", tmp_path / "in.wav", "-o", out, "--overwrite", "--subtype", "pcm_24"], capsys)
    assert code == 0, err
    info = sf.info(out)
    assert (info.frames, info.subtype) == (SR * 2, "PCM_24")


def test_model_and_sampling_options_reach_the_engine(tmp_path, music, capsys, monkeypatch):
    calls = {}

    class FakeRestorer:
        @classmethod
        def from_config(cls, config_path, checkpoints=None, device=None, **overrides):
            calls["from_config"] = (config_path, checkpoints, device, overrides)
            return cls()

        def bandwidth_extension(self, audio, cutoff_hz, **options):
            calls["bandwidth_extension"] = (audio.shape, cutoff_hz, options)
            return audio

    monkeypatch.setattr("inference.cli_common.Restorer", FakeRestorer)
    monkeypatch.chdir(tmp_path)  # the files are checked (and hashed for OUT.json) before the engine sees them
    for name in ("a.ckpt", "b.ckpt", "c.ckpt"):
        (tmp_path / name).write_bytes(name.encode())
    (tmp_path / "c.yaml").write_text("network: {}\nt_cutoffs: [0.3, 0.6]\n")
    sf.write(tmp_path / "in.wav", band_limit(music(1.0)[None], 4000)[0], SR, subtype="PCM_16")
    code, _, err = run(["-f", tmp_path / "in.wav", "-o", tmp_path / "out.wav", "--cutoff", 5000, "-n", 7,
                        "--config", "c.yaml", "--ckpt", "a.ckpt", "--checkpoints", "b.ckpt,c.ckpt",
                        "--device", "cpu", "--t-cutoffs", "0.3,0.6", "--window-batch", 3, "--bf16", "--seed", 11,
                        "--ode", "--quiet"], capsys)
    assert code == 0, err
    assert calls["from_config"] == ("c.yaml", ["a.ckpt", "b.ckpt", "c.ckpt"], torch.device("cpu"),
                                    {"t_cutoffs": [0.3, 0.6], "window_batch": 3, "bf16": True})
    assert calls["bandwidth_extension"] == ((1, SR), 5000.0, {"n_steps": 7, "seed": 11, "ode": True,
                                                              "progress": False})


def test_no_clear_edge_is_refused_with_what_was_seen(tmp_path, capsys, monkeypatch):
    """Music that only fades towards high frequencies: no restoration on a guess, and no model is loaded."""
    from test_band_edge import bass_heavy

    monkeypatch.delenv("A2SB_CHECKPOINTS", raising=False)
    faded = bass_heavy(4.0, 0, quiet_db=200)
    sf.write(tmp_path / "in.wav", 0.9 * faded / np.abs(faded).max(), SR, subtype="PCM_16")
    code, printed, err = run(["-f", tmp_path / "in.wav", "-o", tmp_path / "out.wav", "--plot"], capsys)
    assert code == 1 and not (tmp_path / "out.wav").exists() and not (tmp_path / "out.png").exists()
    assert len(err.strip().splitlines()) == 1
    assert "no clear band edge found" in err and "falls gradually from" in err and "pass --cutoff HZ" in err


def test_a_low_rate_file_is_cut_at_its_nyquist(tmp_path, music, model, capsys, monkeypatch):
    cutoffs = []

    class FakeRestorer:
        @classmethod
        def from_config(cls, *args, **kwargs):
            return cls()

        def bandwidth_extension(self, audio, cutoff_hz, **options):
            cutoffs.append(cutoff_hz)
            return audio

    monkeypatch.setattr("inference.cli_common.Restorer", FakeRestorer)
    sf.write(tmp_path / "in.wav", soxr.resample(music(3.0), SR, 8000), 8000, subtype="PCM_16")
    code, printed, err = run(["-f", tmp_path / "in.wav", "-o", tmp_path / "out.wav", "--quiet", "--config", model[0],
                              "--ckpt", ",".join(model[1])], capsys)
    assert code == 0, err
    assert cutoffs == [4000.0] and "detected cutoff: 4000 Hz, confidence 1.00" in printed


def test_an_out_of_range_detected_edge_names_the_option():
    with pytest.raises(ValueError, match=r"detected band edge: cutoff 300 Hz is outside .*; pass --cutoff HZ"):
        check_cutoff(300.0, "in.wav: detected band edge", "; pass --cutoff HZ")


def test_force_on_full_band_input_needs_a_cutoff(tmp_path, music, capsys):
    sf.write(tmp_path / "in.wav", music(2.0), SR, subtype="PCM_16")
    code, _, err = run(["-f", tmp_path / "in.wav", "-o", tmp_path / "out.wav", "--force"], capsys)
    assert code == 1 and "--cutoff" in err and not (tmp_path / "out.wav").exists()


def test_script_runs_from_the_repo_root_and_explains_its_options():
    result = subprocess.run([sys.executable, "inference/A2SB_upsample_api.py", "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for option in ("--cutoff", "--config", "--ckpt", "--t-cutoffs", "--device", "--bf16", "--window-batch",
                   "--seed", "--ode", "--overwrite", "--plot", "--subtype", "--force", "-n"):
        assert option in result.stdout
