"""datasets/prepare_manifest.py on a generated folder tree: two albums, loose tracks and bad files."""
import csv
import os

import numpy as np
import soundfile as sf
import soxr

from corrupt.waveform import band_limit
from datasets.manifest import MIN_TRUE_SR, read_manifest, select_files
from datasets.prepare_manifest import UNCERTAIN_TRUE_SR, main
from datasets.synthetic import music_like

SR = 44100


def write(path, audio, sr=SR):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sf.write(path, audio, sr, subtype="PCM_16")


def make_tree(root):
    """album_a: 3 full-band tracks of 4 s; album_b/cd1: 2 tracks of 6 s low-passed at 17 kHz (as by a lossy
    codec) and one at 48 kHz (full band, 5 s); loose/: one 3.5 s track; plus a broken, an empty, a short and
    a silent file."""
    for i in range(3):
        write(f"{root}/album_a/track{i}.wav", music_like(4.0, seed=i))
    for i in range(2):
        write(f"{root}/album_b/cd1/track{i}.flac", band_limit(music_like(6.0, seed=10 + i)[None], 17000)[0])
    write(f"{root}/album_b/cd1/hires.wav", soxr.resample(music_like(5.0, seed=20), SR, 48000), sr=48000)
    write(f"{root}/loose/single.wav", music_like(3.5, seed=30))
    with open(f"{root}/album_a/broken.wav", "wb") as f:
        f.write(b"RIFF not really a wave file" * 10)
    open(f"{root}/loose/empty.mp3", "wb").close()
    write(f"{root}/loose/short.wav", music_like(1.0, seed=40))
    write(f"{root}/loose/silent.wav", np.zeros(SR * 4, dtype=np.float32))
    with open(f"{root}/loose/notes.txt", "w") as f:
        f.write("not audio, not listed")


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def run(argv, capsys):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_rows_paths_groups_and_summary(tmp_path, capsys):
    make_tree(tmp_path / "music")
    out = tmp_path / "meta" / "demo_manifest.csv"
    out.parent.mkdir()
    code, printed, err = run([tmp_path / "music", "-o", out, "--valid", 0.3, "--test", 0.3, "-q"], capsys)
    assert code == 0, err
    header, *rows = read_rows(out)
    assert header == ["split", "file_path", "duration", "true_sampling_rate"]
    by_path = {row[1]: row for row in rows}
    assert sorted(by_path) == ["../music/album_a/track0.wav", "../music/album_a/track1.wav",
                               "../music/album_a/track2.wav", "../music/album_b/cd1/hires.wav",
                               "../music/album_b/cd1/track0.flac", "../music/album_b/cd1/track1.flac",
                               "../music/loose/single.wav"]
    durations = {path: float(row[2]) for path, row in by_path.items()}
    assert durations["../music/album_a/track0.wav"] == 4.0
    assert durations["../music/album_b/cd1/track1.flac"] == 6.0
    assert durations["../music/album_b/cd1/hires.wav"] == 5.0
    rates = {path: int(row[3]) for path, row in by_path.items()}
    assert rates["../music/album_a/track1.wav"] == SR  # full band: the file's own rate
    assert rates["../music/album_b/cd1/hires.wav"] == 48000
    for name in ("track0", "track1"):  # 2 x the band edge (soxr is 4.5 dB down near 16.1 kHz)
        assert 31500 < rates[f"../music/album_b/cd1/{name}.flac"] < 34500
    # three groups (the album folders and loose/), one per split; an album never straddles two splits
    split_of_group = {}
    for path, row in by_path.items():
        group = os.path.dirname(path)
        assert split_of_group.setdefault(group, row[0]) == row[0]
    assert sorted(split_of_group.values()) == ["test", "train", "valid"]
    assert [row[0] for row in rows] == sorted((row[0] for row in rows), key=("train", "valid", "test").index)
    # the summary names each bad file with its reason, and the split sizes
    for name, reason in (("broken.wav", "cannot decode"), ("empty.mp3", "empty file"), ("short.wav", "too short"),
                         ("silent.wav", "silent")):
        line = next(line for line in printed.splitlines() if line.strip().startswith(str(tmp_path / "music")) and
                    line.split(":")[0].endswith(name))
        assert reason in line
    assert "left out 4 file(s)" in printed and "notes.txt" not in printed
    train_files = sum(row[0] == "train" for row in rows)
    assert f"train {train_files:5d} files" in printed
    # the project's parser reads it back, and the true rates reach the loss mask
    parsed = read_manifest(str(out))
    assert len(parsed) == 7 and all(os.path.isfile(row.path) for row in parsed)
    files, skipped = select_files(parsed, split_of_group["../music/album_b/cd1"], apply_sr_loss_mask=True)
    max_bins = sorted(f.max_bin for f in files)
    assert skipped == 0 and max_bins[2] == 1024 and 720 < max_bins[0] <= max_bins[1] < 805


def test_no_overwrite_and_seeds_and_file_groups(tmp_path, capsys):
    make_tree(tmp_path / "music")
    out = tmp_path / "m.csv"
    out.write_text("keep me")
    code, _, err = run([tmp_path / "music", "-o", out, "-q"], capsys)
    assert code == 1 and "--overwrite" in err and str(out) in err and out.read_text() == "keep me"

    def splits(*options):
        code, _, err = run([tmp_path / "music", "-o", out, "--overwrite", "-q", *options], capsys)
        assert code == 0, err
        return {row[1]: row[0] for row in read_rows(out)[1:]}

    first = splits("--valid", 0.2, "--test", 0.2)
    assert splits("--valid", 0.2, "--test", 0.2) == first  # deterministic
    seeds = [splits("--valid", 0.2, "--test", 0.2, "--seed", seed) for seed in range(1, 6)]
    assert any(s != first for s in seeds)  # the seed changes the assignment
    by_file = splits("--valid", 0.2, "--test", 0.2, "--group-by", "file", "--seed", 3)
    album_a = {by_file[f"music/album_a/track{i}.wav"] for i in range(3)}
    album_b = {split for path, split in by_file.items() if "album_b" in path}
    assert len(album_a | album_b) > 1  # files of one album may now land in different splits
    assert sorted(set(by_file.values())) == ["test", "train", "valid"]


def test_uncertain_edge_is_left_out_of_loss_masked_training(tmp_path, capsys, monkeypatch):
    from audiokit.band_edge import BandEdge

    write(f"{tmp_path}/music/a.wav", music_like(4.0))
    monkeypatch.setattr("datasets.prepare_manifest.detect_band_edge",
                        lambda audio, sr=SR, source_sr=None: BandEdge("uncertain", None, 0.2, "unsure"))
    code, printed, err = run([tmp_path / "music", "-o", tmp_path / "m.csv", "--valid", 0, "--test", 0, "-q"], capsys)
    assert code == 0, err
    assert read_rows(tmp_path / "m.csv")[1] == ["train", "music/a.wav", "4.0000", str(UNCERTAIN_TRUE_SR)]
    assert "1 uncertain" in printed and str(UNCERTAIN_TRUE_SR) in printed
    files, skipped = select_files(read_manifest(str(tmp_path / "m.csv")), "train", apply_sr_loss_mask=True)
    assert (files, skipped) == ([], 1) and UNCERTAIN_TRUE_SR < MIN_TRUE_SR


def test_bad_arguments(tmp_path, capsys):
    code, _, err = run([tmp_path / "nowhere", "-o", tmp_path / "m.csv"], capsys)
    assert code == 1 and "not a folder" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run([tmp_path / "empty", "-o", tmp_path / "m.csv"], capsys)
    assert code == 1 and "no audio files" in err
    code, _, err = run([tmp_path / "empty", "-o", tmp_path / "m.csv", "--valid", 0.6, "--test", 0.5], capsys)
    assert code == 1 and "nothing for training" in err
