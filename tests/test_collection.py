"""Folder in, folder out (inference/collection.py) with the tiny model, and the provenance records
(inference/provenance.py) that make a resumed run keep only outputs made with its own settings."""
import csv
import json
import os

import numpy as np
import pytest
import soundfile as sf
import soxr
from helpers import assert_one_line_error, run_tool, write_corrupt
from test_band_edge import bass_heavy

from corrupt.waveform import band_limit
from inference import A2SB_inpaint_api, A2SB_upsample_api, provenance

SR = 44100


def model_args(model, *more):
    config, checkpoints = model
    return ["--config", config, "--ckpt", ",".join(checkpoints), "--device", "cpu", "--quiet", *more]


def report(folder):
    with open(folder / "report.csv") as file:
        return {row["file"]: row for row in csv.DictReader(file)}


@pytest.fixture
def album(tmp_path, music):
    """Nested folders: band-limited mono 44.1 kHz PCM_16 and stereo 48 kHz FLAC PCM_24, a 22.05 kHz FLOAT file
    (cut at its own Nyquist), one full-band file, one without a clear edge, one that is not audio."""
    root = tmp_path / "album"
    (root / "disc1").mkdir(parents=True)
    (root / "disc2" / "live").mkdir(parents=True)
    sf.write(root / "disc1" / "low.wav", band_limit(music(2.0)[None], 4000)[0], SR, subtype="PCM_16")
    stereo = band_limit(np.stack([music(2.0, seed=1), music(2.0, seed=2)]), 6000)
    sf.write(root / "disc2" / "live" / "stereo.flac", soxr.resample(stereo.T, SR, 48000), 48000, subtype="PCM_24")
    sf.write(root / "disc2" / "old.wav", soxr.resample(music(2.0, seed=3), SR, 22050), 22050, subtype="FLOAT")
    sf.write(root / "full.wav", music(2.0, seed=4), SR, subtype="PCM_16")
    faded = bass_heavy(4.0, 0, quiet_db=200)
    sf.write(root / "faded.wav", 0.9 * faded / np.abs(faded).max(), SR, subtype="PCM_16")
    write_corrupt(root / "broken.wav")
    return root


@pytest.mark.slow
def test_a_folder_is_restored_resumed_and_checked_against_its_settings(tmp_path, album, model, capsys):
    out = tmp_path / "restored"
    code, printed, err = run_tool(A2SB_upsample_api.main, ["-f", album, "-o", out, "-n", 2,
                                                           *model_args(model)], capsys)
    assert code == 1, err  # the broken file failed; all the others were judged on their own
    summary = printed.strip().splitlines()[-1]
    assert summary.startswith("restored 3, skipped 0 already done, skipped 1 full band, refused 1, failed 1 "
                              "(of 6 files, 12.0 s of audio, in ")
    assert summary.endswith(f"report: {out / 'report.csv'}")
    assert "refused: faded.wav: no clear band edge found" in err and "failed: broken.wav: " in err
    rows = report(out)
    assert {name: row["status"] for name, row in rows.items()} == {
        "broken.wav": "failed", "disc1/low.wav": "restored", "disc2/live/stereo.flac": "restored",
        "disc2/old.wav": "restored", "faded.wav": "refused", "full.wav": "full_band"}
    assert rows["disc2/old.wav"]["restored"] == "above 11025 Hz"
    assert rows["disc2/live/stereo.flac"]["duration_s"] == "2.00"
    formats = {name: (info.samplerate, info.channels, info.subtype) for name, info in
               ((name, sf.info(out / name)) for name in ("disc1/low.wav", "disc2/live/stereo.flac", "disc2/old.wav"))}
    assert formats == {"disc1/low.wav": (SR, 1, "PCM_16"), "disc2/live/stereo.flac": (SR, 2, "PCM_24"),
                       "disc2/old.wav": (SR, 1, "FLOAT")}
    assert not (out / "full.wav").exists() and not (out / "faded.wav").exists()
    record = json.loads((out / "disc1" / "low.wav.json").read_text())
    assert record["settings"]["steps"] == 2 and record["settings"]["task"]["cutoff_hz"] == "detect"
    assert 3700 < record["facts"]["result"]["cutoff_hz"] < 4100
    assert [w["sha256"] for w in record["settings"]["weights"]] == [provenance.file_sha256(p) for p in model[1]]

    code, printed, err = run_tool(A2SB_upsample_api.main, ["-f", album, "-o", out, "-n", 2,
                                                           *model_args(model)], capsys)
    assert printed.strip().splitlines()[-1].startswith("restored 0, skipped 3 already done")
    assert "device:" not in printed  # nothing left to restore: no model was loaded

    code, printed, err = run_tool(A2SB_upsample_api.main, ["-f", album, "-o", out, "-n", 3,
                                                           *model_args(model)], capsys)
    assert_one_line_error(code, err, "3 output(s) were made with other settings", "steps 2 -> 3", "--redo-changed")


@pytest.mark.slow
def test_redo_changed_and_shards(tmp_path, music, model, capsys):
    root = tmp_path / "in"
    root.mkdir()
    for i in range(3):
        sf.write(root / f"{i}.wav", band_limit(music(1.0, seed=i)[None], 4000)[0], SR, subtype="PCM_16")
    out = tmp_path / "out"
    code, printed, _ = run_tool(A2SB_upsample_api.main, ["-f", root, "-o", out, "-n", 2, "--shard", "1/2",
                                                         "--cutoff", 4000, *model_args(model)], capsys)
    assert code == 0 and not (out / "report.csv").exists()
    with open(out / "report_shard1of2.csv") as file:
        assert [row["file"] for row in csv.DictReader(file)] == ["2.wav"]
    (root / "2.wav").write_bytes((root / "0.wav").read_bytes())  # the input changed since
    code, printed, err = run_tool(A2SB_upsample_api.main, ["-f", root, "-o", out, "-n", 2, "--cutoff", 4000,
                                                           *model_args(model)], capsys)
    assert_one_line_error(code, err, "2.wav", "the input file changed", "--redo-changed")
    code, printed, err = run_tool(A2SB_upsample_api.main, ["-f", root, "-o", out, "-n", 2, "--cutoff", 4000,
                                                           "--redo-changed", *model_args(model)], capsys)
    assert code == 0, err
    assert printed.strip().splitlines()[-1].startswith("restored 3, skipped 0 already done")


@pytest.mark.slow
def test_inpainting_a_folder_detects_gaps_per_file(tmp_path, music, model, capsys):
    root = tmp_path / "in"
    root.mkdir()
    holed = music(2.0)
    holed[int(0.8 * SR):int(0.9 * SR)] = 0.0
    sf.write(root / "holed.wav", holed, SR, subtype="PCM_16")
    sf.write(root / "whole.wav", music(2.0, seed=1), SR, subtype="PCM_16")
    out = root / "restored"  # inside the input folder: its files are never taken as inputs
    argv = ["-f", root, "-o", out, "--detect-gaps", "-n", 2, *model_args(model)]
    code, printed, err = run_tool(A2SB_inpaint_api.main, argv, capsys)
    assert code == 0, err
    assert printed.strip().splitlines()[-1].startswith("restored 1, skipped 0 already done, skipped 1 no gaps")
    rows = report(out)
    assert rows["holed.wav"]["restored"].startswith("0.8") and rows["whole.wav"]["status"] == "no_gaps"
    code, printed, _ = run_tool(A2SB_inpaint_api.main, argv, capsys)
    assert printed.strip().splitlines()[-1].startswith("restored 0, skipped 1 already done")


def test_differences_say_what_changed():
    old = {"steps": 5, "seed": 0, "weights": [{"sha256": "a"}], "input_sha256": "x", "config_sha256": "c"}
    new = {**old, "steps": 3, "weights": [{"sha256": "b"}], "input_sha256": "y"}
    assert provenance.differences(old, old) == []
    assert provenance.differences(old, new) == ["the input file changed", "steps 5 -> 3", "other model weights"]
    assert provenance.differences(None, new) == [provenance.NO_RECORD]


def test_folder_mode_checks_before_any_model(tmp_path, capsys, model):
    (tmp_path / "empty").mkdir()
    code, _, err = run_tool(A2SB_upsample_api.main, ["-f", tmp_path / "empty", "-o", tmp_path / "out",
                                                     *model_args(model)], capsys)
    assert_one_line_error(code, err, "no audio files")
    code, _, err = run_tool(A2SB_upsample_api.main, ["-f", tmp_path, "-o", tmp_path, *model_args(model)], capsys)
    assert_one_line_error(code, err, "the output folder is the input folder")
    assert os.path.isdir(tmp_path / "empty")
