import os

import numpy as np
import pytest
import soundfile as sf

from datasets.manifest import ManifestError, loss_max_bin, read_manifest, select_files


def write_wav(path, seconds=0.1):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sf.write(path, np.zeros(int(44100 * seconds), dtype=np.float32), 44100)


def write_text(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


@pytest.fixture
def audio_dir(tmp_path):
    for name in ["a.wav", "b.wav", "c.wav", "d.wav"]:
        write_wav(str(tmp_path / "audio" / name))
    return tmp_path


def test_header_blank_lines_whitespace_and_relative_paths(audio_dir):
    manifest = write_text(audio_dir / "m.csv",
                          "split,file_path,duration\n"
                          "\n"
                          "  train , audio/a.wav , 12.5 \n"
                          "   \n"
                          "val,audio/b.wav,3,48000\n"
                          "Validation,\"audio/c.wav\",4.25,\n"
                          "test,audio/d.wav,1e1,22050\n")
    rows = read_manifest(manifest)
    assert [(r.split, r.duration, r.sr_true, r.line) for r in rows] == [
        ("train", 12.5, None, 3), ("valid", 3.0, 48000.0, 5), ("valid", 4.25, None, 6), ("test", 10.0, 22050.0, 7)]
    assert [r.path for r in rows] == [str(audio_dir / "audio" / n) for n in ["a.wav", "b.wav", "c.wav", "d.wav"]]


def test_relative_paths_resolve_against_root_folder(audio_dir, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    manifest = write_text(other / "m.csv", "train,a.wav,1\n")
    with pytest.raises(ManifestError, match="1 of 1 audio files not found"):
        read_manifest(manifest)  # against the manifest folder the file does not exist
    rows = read_manifest(manifest, root_folder=str(audio_dir / "audio"))
    assert rows[0].path == str(audio_dir / "audio" / "a.wav")


def test_absolute_paths_are_kept(audio_dir, tmp_path):
    absolute = str(audio_dir / "audio" / "b.wav")
    manifest = write_text(tmp_path / "m.csv", f"train,{absolute},1\n")
    assert read_manifest(manifest, root_folder="/nonexistent")[0].path == absolute


@pytest.mark.parametrize("line, problem", [
    ("train,audio/a.wav", "expected 3 or 4 columns"),
    ("train,audio/a.wav,1,44100,extra", "expected 3 or 4 columns"),
    ("train,audio/a.wav,long", "duration is not a number: 'long'"),
    ("train,audio/a.wav,-3", "duration must be a positive number"),
    ("train,audio/a.wav,3,fortyk", "sr_true is not a number: 'fortyk'"),
    ("training,audio/a.wav,3", "unknown split 'training'"),
    ("train,,3", "empty file path"),
])
def test_malformed_rows_name_file_and_line(audio_dir, line, problem):
    manifest = write_text(audio_dir / "bad.csv", f"split,file_path,duration\ntrain,audio/b.wav,2\n\n{line}\n")
    with pytest.raises(ManifestError) as err:
        read_manifest(manifest)
    assert str(err.value).startswith(f"{manifest}:4: ")
    assert problem in str(err.value)


def test_missing_files_reported_together_with_lines(audio_dir):
    lines = ["train,audio/a.wav,1"] + [f"train,audio/missing{i}.wav,1" for i in range(7)]
    manifest = write_text(audio_dir / "m.csv", "\n".join(lines) + "\n")
    with pytest.raises(ManifestError) as err:
        read_manifest(manifest)
    message = str(err.value)
    assert message.startswith(f"{manifest}: 7 of 8 audio files not found")
    assert f"line 2: {audio_dir}/audio/missing0.wav" in message
    assert "line 6: " in message and "line 7: " not in message and message.endswith(" ...)")


def test_only_requested_splits_need_their_files(audio_dir):
    manifest = write_text(audio_dir / "m.csv", "train,audio/a.wav,1\ntest,audio/gone.wav,1\n")
    rows = read_manifest(manifest, splits=("train", "val"))
    assert [r.split for r in rows] == ["train"]
    with pytest.raises(ManifestError, match="line 2"):
        read_manifest(manifest, splits=("test",))


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="manifest not found"):
        read_manifest(str(tmp_path / "none.csv"))


def test_max_bin_arithmetic():
    # int(2048 * (sr / 2) / 44100) by hand: 32768000 / 44100 = 743.04; 38912000 / 44100 = 882.36
    assert loss_max_bin(32000) == 743
    assert loss_max_bin(38000) == 882
    assert loss_max_bin(44100) == 1024
    assert loss_max_bin(48000) == 1024  # above 44.1 kHz nothing is excluded
    assert loss_max_bin(None) == 1024


def test_apply_sr_loss_mask_skips_low_rates_and_sets_max_bin(audio_dir):
    manifest = write_text(audio_dir / "m.csv",
                          "train,audio/a.wav,1,16000\ntrain,audio/b.wav,1,32000\n"
                          "train,audio/c.wav,1,44100\ntrain,audio/d.wav,1\nvalid,audio/a.wav,1,31999\n")
    rows = read_manifest(manifest)
    files, skipped = select_files(rows, "train", apply_sr_loss_mask=True)
    assert skipped == 1
    assert [(os.path.basename(f.path), f.max_bin) for f in files] == [("b.wav", 743), ("c.wav", 1024), ("d.wav", 1024)]
    assert select_files(rows, "valid", apply_sr_loss_mask=True) == ([], 1)
    files, skipped = select_files(rows, "train", apply_sr_loss_mask=False)
    assert skipped == 0 and [f.max_bin for f in files] == [1024] * 4
