"""inference/A2SB_inpaint_api.py end to end with tiny random-initialised experts."""
import numpy as np
import pytest
import soundfile as sf

from inference import A2SB_inpaint_api

SR = 44100
# A gap changes the frames whose window touches it plus the ISTFT overlap: 2048 + a few hops on each side.
REACH = 4096


def run(argv, capsys):
    code = A2SB_inpaint_api.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def outside(n, start_s, end_s):
    """Sample flags of everything farther than REACH from the gap."""
    keep = np.ones(n, dtype=bool)
    keep[max(0, int(start_s * SR) - REACH):int(end_s * SR) + REACH] = False
    return keep


def test_given_gap_with_the_shortcut(tmp_path, music, model, capsys):
    config, checkpoints = model
    source = music(2.0)
    source[int(0.8 * SR):int(1.0 * SR)] = 0.0
    sf.write(tmp_path / "in.wav", source, SR, subtype="PCM_16")
    out = tmp_path / "out.wav"
    code, printed, err = run(["-f", tmp_path / "in.wav", "-o", out, "--gaps", "0.8-1.0", "--mode", "shortcut",
                              "-n", 2, "--config", config, "--ckpt", checkpoints[0], "--ckpt", checkpoints[1],
                              "--quiet"], capsys)
    assert code == 0, err
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (SR, 1, "PCM_16", len(source))
    restored, _ = sf.read(out, dtype="int16")
    original, _ = sf.read(tmp_path / "in.wav", dtype="int16")
    keep = outside(len(source), 0.8, 1.0)
    assert np.array_equal(restored[keep], original[keep])  # the shortcut pastes back only the gap's reach
    gap = slice(int(0.8 * SR), int(1.0 * SR))
    assert np.abs(restored[gap].astype(float)).mean() > 10  # something was generated where the input was 0


def test_detected_gap_in_full_mode_keeps_stereo_float(tmp_path, music, model, capsys, monkeypatch):
    config, checkpoints = model
    monkeypatch.setenv("A2SB_CHECKPOINTS", ",".join(checkpoints))
    source = np.stack([music(2.0, seed=1), music(2.0, seed=2)])
    source[:, int(1.2 * SR):int(1.35 * SR)] = 0.0
    sf.write(tmp_path / "in.wav", source.T, SR, subtype="FLOAT")
    out = tmp_path / "out.wav"
    code, printed, err = run(["-f", tmp_path / "in.wav", "-o", out, "--detect-gaps", "--mode", "full", "-n", 2,
                              "--config", config, "--quiet"], capsys)
    assert code == 0, err
    assert "detected 1 gap(s): 1.200-1.350 s" in printed
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (SR, 2, "FLOAT", source.shape[1])
    restored, _ = sf.read(out, dtype="float32")
    keep = outside(source.shape[1], 1.2, 1.35)
    assert np.abs(restored[keep] - source.T[keep]).max() < 1e-4
    assert np.abs(restored[int(1.2 * SR):int(1.35 * SR)]).mean() > 1e-3


def test_no_gap_found_copies_the_input(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("A2SB_CHECKPOINTS", raising=False)
    noise = (0.1 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)
    sf.write(tmp_path / "in.wav", noise, SR, subtype="PCM_24")
    out = tmp_path / "out.wav"
    code, printed, err = run(["-f", tmp_path / "in.wav", "-o", out, "--detect-gaps"], capsys)
    assert code == 0, err
    assert "nothing to do" in printed
    assert sf.info(out).subtype == "PCM_24"
    assert np.array_equal(sf.read(out, dtype="int32")[0], sf.read(tmp_path / "in.wav", dtype="int32")[0])


def test_shortcut_refused_when_the_gap_is_longer_than_a_window(tmp_path, music, model, capsys):
    config, checkpoints = model
    sf.write(tmp_path / "in.wav", music(2.0), SR, subtype="PCM_16")
    code, _, err = run(["-f", tmp_path / "in.wav", "-o", tmp_path / "out.wav", "--gaps", "0.2-1.5", "--mode",
                        "shortcut", "-n", 2, "--config", config, "--ckpt", checkpoints[0], "--ckpt", checkpoints[1]],
                       capsys)
    assert code == 1 and err.startswith("error: ") and "mode" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.wav").exists()


def test_help_lists_the_inpainting_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        A2SB_inpaint_api.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--gaps", "--detect-gaps", "--min-gap-ms", "--threshold-db", "--mode", "-n", "--ckpt"):
        assert option in text
    assert "inpainting_steps" in text  # the default -n comes from the sampling config
