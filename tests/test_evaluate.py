"""inference/evaluate.py: metrics against closed forms and ssr_eval, and the results files."""
import csv
import json
import math
import os

import numpy as np
import pytest
import soundfile as sf

from inference import evaluate
from inference.cli_common import periodic_gaps

SR = 44100
HALF_GAIN_LSD = math.log10(4.0)  # |log10(ref^2 / (ref / 2)^2)| in every bin and frame


def _write(folder, name, audio):
    os.makedirs(folder, exist_ok=True)
    sf.write(os.path.join(folder, name), audio, SR, subtype="FLOAT")


def _with_floor(audio, seed=1):
    """Adds a faint noise floor so no STFT bin is exactly zero (LSD divides by the reference)."""
    return (audio + 1e-4 * np.random.default_rng(seed).standard_normal(len(audio))).astype(np.float32)


def _scale_band(audio, cutoff_hz, gain):
    spectrum = np.fft.rfft(audio)
    spectrum[np.fft.rfftfreq(len(audio), 1 / SR) >= cutoff_hz] *= gain
    return np.fft.irfft(spectrum, len(audio)).astype(np.float32)


def test_lsd_matches_ssr_eval(music):
    from ssr_eval.metrics import AudioMetrics

    ref = _with_floor(music(1.0, seed=3))
    est = _with_floor(music(1.0, seed=4), seed=2)
    expected = AudioMetrics(SR).evaluation(est, ref, None)["lsd"]
    got = evaluate.lsd(evaluate.magnitude(est), evaluate.magnitude(ref))
    assert got == pytest.approx(expected, rel=1e-4)


def test_frames_centred_in_gaps_are_those_centred_in_a_gap():
    inside = evaluate.frames_centred_in_gaps(300, [(1.0, 1.3)])
    # frame j is centred at j * 441 / 44100 s = j / 100 s
    assert np.flatnonzero(inside).tolist() == list(range(100, 130))


def test_periodic_gaps_are_centred_and_fit_the_file():
    assert np.allclose(periodic_gaps(12.0, 0.3, 5.0), [(2.35, 2.65), (7.35, 7.65)])
    assert np.allclose(periodic_gaps(3.0, 0.5, 1.0), [(0.25, 0.75), (1.25, 1.75), (2.25, 2.75)])
    assert periodic_gaps(0.6, 0.3, 1.0) == []


@pytest.fixture
def exp_dir(tmp_path, music):
    """Two bandwidth items (global and high-band gain 1/2) and one inpainting item (gaps silenced)."""
    root = tmp_path / "exp1"
    bwe = root / "demo" / "cutoff_freq=4000"
    original = _with_floor(music(2.0, seed=0))
    _write(bwe / "a.wav", "original.wav", original)
    _write(bwe / "a.wav", "recon.wav", original / 2)
    _write(bwe / "b.wav", "original.wav", original)
    _write(bwe / "b.wav", "recon.wav", _scale_band(original, 4000, 0.5))
    inp = root / "demo" / "inpaint_0.3_every_1"
    recon = original.copy()
    for start, end in periodic_gaps(2.0, 0.3, 1.0):
        recon[int(start * SR):int(end * SR)] *= 1e-3
    _write(inp / "c.wav", "original.wav", original)
    _write(inp / "c.wav", "recon.wav", recon)
    _write(root / "demo" / "not_a_task" / "d.wav", "original.wav", original)
    return root


def test_scores_follow_closed_forms(exp_dir):
    items = {item.file: item for item in evaluate.find_items(str(exp_dir))}
    assert sorted(items) == ["a.wav", "b.wav", "c.wav"]

    half = evaluate.score_item(items["a.wav"])
    for key in ("lsd", "lsd_low", "lsd_high"):
        assert half[key] == pytest.approx(HALF_GAIN_LSD, abs=1e-3)
    assert half["lsd_gap"] is None

    band = evaluate.score_item(items["b.wav"])
    # unchanged below 4 kHz up to STFT window leakage from the scaled band (measured 0.035)
    assert band["lsd_low"] < 0.06
    assert band["lsd_high"] == pytest.approx(HALF_GAIN_LSD, abs=0.03)

    gaps = evaluate.score_item(items["c.wav"])
    assert gaps["lsd_low"] is None and gaps["lsd_high"] is None
    assert gaps["lsd_gap"] > 2.0  # a 60 dB drop inside the gaps: LSD about 6 there
    assert gaps["lsd"] < 0.5 * gaps["lsd_gap"]  # the gaps are 30 % of the file


def test_main_writes_csv_and_json(exp_dir, capsys):
    assert evaluate.main([str(exp_dir), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "demo" in printed and "cutoff_freq=4000" in printed and "inpaint_0.3_every_1" in printed

    with open(exp_dir / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["task"], r["file"]) for r in rows] == [
        ("cutoff_freq=4000", "a.wav"), ("cutoff_freq=4000", "b.wav"), ("inpaint_0.3_every_1", "c.wav")]
    assert float(rows[0]["lsd"]) == pytest.approx(HALF_GAIN_LSD, abs=1e-3)
    assert rows[0]["lsd_gap"] == "" and rows[2]["lsd_high"] == ""

    results = json.loads((exp_dir / "results.json").read_text())
    assert len(results["files"]) == 3
    summary = {s["task"]: s for s in results["summary"]}
    assert summary["cutoff_freq=4000"]["n"] == 2
    assert summary["cutoff_freq=4000"]["lsd_high"] == pytest.approx(
        np.mean([float(r["lsd_high"]) for r in rows[:2]]), rel=1e-6)
    assert summary["inpaint_0.3_every_1"]["lsd_gap"] == pytest.approx(float(rows[2]["lsd_gap"]), rel=1e-6)
    assert not [name for name in os.listdir(exp_dir) if name.endswith(".tmp")]


def test_empty_experiment_folder_is_one_line_error(tmp_path, capsys):
    assert evaluate.main([str(tmp_path), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "recon.wav" in err[0]
