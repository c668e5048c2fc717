"""inference/evaluate.py: metrics against closed forms and ssr_eval, and the results files."""
import csv
import json
import math
import os

import numpy as np
import pytest
import soundfile as sf

from corrupt.waveform import band_limit, periodic_gaps
from inference import evaluate

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


def test_csv_quotes_what_needs_it_and_summaries_group_by_any_keys():
    rows = [{"method": 'a "b", c', "x": 1.0}, {"method": 'a "b", c', "x": None}, {"method": "d", "x": 3.0}]
    text = evaluate.to_csv(rows, ["method", "x"])
    assert list(csv.DictReader(text.splitlines())) == [{"method": 'a "b", c', "x": "1.0"},
                                                       {"method": 'a "b", c', "x": ""}, {"method": "d", "x": "3.0"}]
    assert evaluate.summarize(rows, ("method",), ("x",)) == [{"method": 'a "b", c', "n": 2, "x": 1.0},
                                                              {"method": "d", "n": 1, "x": 3.0}]


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


def _levels_to_magnitudes(levels_db, bins=8):
    """A (bins x frames) magnitude whose every frame has the given band power in dB."""
    return np.tile(np.sqrt(10 ** (np.asarray(levels_db, float) / 10)), (bins, 1))


def test_envelope_scores_follow_closed_forms():
    ref_db = [0, -6, -12, -3, -70, -80, -75, 0, -9]  # frames 4-6 are silent (mean -3.7 dB, 50 dB under)
    ref = _levels_to_magnitudes(ref_db)
    band = slice(0, 8)
    corr, silence = evaluate.envelope_scores(ref, ref, band)
    assert corr == pytest.approx(1.0)
    active = [0, 1, 2, 3, 7, 8]  # within 20 dB of the mean level
    expected = 10 * np.log10(np.mean(10 ** (np.array(ref_db)[[4, 5, 6]] / 10))
                             / np.mean(10 ** (np.array(ref_db)[active] / 10)))
    assert silence == pytest.approx(expected, abs=1e-3)  # EPS (1e-12) is added to every power

    steady = _levels_to_magnitudes([-5] * len(ref_db))
    corr, silence = evaluate.envelope_scores(steady, ref, band)
    assert corr == 0.0 and silence == pytest.approx(0.0, abs=1e-9)

    # below the floor (80 dB under the loudest frame) every level counts alike: -90 and -200 dB are both "off"
    deep = _levels_to_magnitudes([0, -6, -12, -3, -90, -200, -120, 0, -9])
    corr, _ = evaluate.envelope_scores(deep, ref, band)
    floored = np.maximum(ref_db, -80)
    assert corr == pytest.approx(np.corrcoef(floored, [0, -6, -12, -3, -80, -80, -80, 0, -9])[0, 1])

    # silence is judged only where asked (the gap frames of inpainting) and needs three silent frames
    judged = np.zeros(len(ref_db), bool)
    judged[[4, 5]] = True
    assert evaluate.envelope_scores(ref, ref, band, judged=judged)[1] is None
    # an original that does not move gives no envelope to follow
    assert evaluate.envelope_scores(ref, _levels_to_magnitudes([-3] * 9), band) == (None, None)


@pytest.fixture(scope="module")
def bed_and_replication():
    """Music with rests band-limited at 4 kHz, restored by band replication and by a steady noise bed at the
    original's average spectrum above the cutoff (what an undertrained model lays down)."""
    import librosa

    from benchmarks.baselines import band_replication
    from datasets.synthetic import structured_music

    clean = structured_music(4.0, seed=3)
    degraded = band_limit(clean[None], 4000)[0]
    spectrum = librosa.stft(clean, n_fft=2048, hop_length=512)
    mean_magnitude = np.sqrt(np.mean(np.abs(spectrum) ** 2, axis=1, keepdims=True))
    phases = np.exp(2j * np.pi * np.random.default_rng(0).random(spectrum.shape))
    bed = mean_magnitude * phases * (np.fft.rfftfreq(2048, 1 / SR) >= 4000)[:, None]
    noise_bed = degraded + librosa.istft(bed, hop_length=512, length=len(clean)).astype(np.float32)
    task = ("bandwidth", 4000.0)
    return {name: evaluate.score_channel(audio, clean, task, visqol=False)
            for name, audio in (("replication", band_replication(degraded, 4000)), ("bed", noise_bed))}


def test_envelope_metrics_tell_a_noise_bed_from_band_replication(bed_and_replication):
    replication, bed = bed_and_replication["replication"], bed_and_replication["bed"]
    # LSD prefers the bed: it averages over frames, and the bed has the right average level
    assert bed["lsd_band"] < replication["lsd_band"]
    assert replication["env_corr"] > 0.95 and replication["silence_db"] < -50
    assert abs(bed["env_corr"]) < 0.15 and bed["silence_db"] > -3


def test_lsd_splits_at_the_original_band_edge(music):
    original = _with_floor(band_limited := _scale_band(music(3.0, seed=2), 16000, 1e-5))
    assert band_limited.shape == original.shape
    assert evaluate.band_edge_hz(original) == pytest.approx(16000, rel=0.03)
    recon = _scale_band(original, 4000, 0.5)
    scores = evaluate.score_channel(recon, original, ("bandwidth", 4000.0), visqol=False)
    assert scores["lsd_band"] == pytest.approx(HALF_GAIN_LSD, abs=0.03)
    # above the edge both hold the same faint floor, halved: the same ratio, in a band the original never had
    assert scores["lsd_above_edge"] == pytest.approx(HALF_GAIN_LSD, abs=0.1)


def test_visqol_scores_a_copy_above_a_damaged_one(music):
    ref = music(3.0, seed=5)
    copy = evaluate.visqol_score(ref, ref)
    damaged = evaluate.visqol_score(_scale_band(ref, 4000, 0.0), ref)
    assert 4.5 < copy <= 5.0 and 1.0 <= damaged < copy - 0.5
