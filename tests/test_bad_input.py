"""Bad input to the restoration tools: one clear line on stderr, a non-zero exit, and no output file."""
import os

import numpy as np
import pytest
import soundfile as sf

from helpers import TINY_NETWORK, assert_one_line_error, run_tool
from audiokit.tool_io import check_output_path, output_subtype, write_audio
from inference import A2SB_inpaint_api, A2SB_upsample_api
from models.unet import UNet
from models.unet_weights import save_released_layout

SR = 44100


def run(tool, argv, capsys):
    """(exit code, stdout, stderr lines) of tool.main(argv)."""
    code, out, err = run_tool(tool.main, argv, capsys)
    return code, out, err.strip().splitlines()


@pytest.fixture
def wav(tmp_path, music):
    """Writes audio (mono or [channels, N]) to tmp_path/name and returns the path."""
    def write(name, audio=None, subtype="PCM_16", sr=SR):
        audio = music(1.0) if audio is None else np.asarray(audio)
        path = tmp_path / name
        sf.write(path, audio.T, sr, subtype=subtype)
        return path
    return write


def upsample(tmp_path, source, capsys, *extra):
    out = tmp_path / "out.wav"
    result = run(A2SB_upsample_api, ["-f", source, "-o", out, "--cutoff", 4000, *extra], capsys)
    assert not out.exists()
    return result


def test_missing_file(tmp_path, capsys):
    code, _, err = upsample(tmp_path, tmp_path / "nope.wav", capsys)
    assert_one_line_error(code, err, "nope.wav", "not found")


def test_file_that_is_not_audio(tmp_path, capsys):
    source = tmp_path / "notes.wav"
    source.write_text("these are not samples\n" * 50)
    code, _, err = upsample(tmp_path, source, capsys)
    assert_one_line_error(code, err, "notes.wav", "cannot decode")


def test_empty_file(tmp_path, capsys):
    source = tmp_path / "empty.wav"
    source.write_bytes(b"")
    code, _, err = upsample(tmp_path, source, capsys)
    assert_one_line_error(code, err, "empty.wav", "empty")


def test_shorter_than_one_stft_frame(wav, tmp_path, capsys):
    code, _, err = upsample(tmp_path, wav("short.wav", np.full(2047, 0.1, np.float32)), capsys)
    assert_one_line_error(code, err, "short.wav", "2047 samples", "2048")


def test_one_frame_at_a_lower_rate_counts_after_resampling(wav, tmp_path, capsys):
    # 1500 samples at 32 kHz are 2067 samples at 44.1 kHz: long enough, so the error is about something else
    source = wav("low_rate.wav", np.zeros(1500, np.float32), sr=32000)
    code, _, err = upsample(tmp_path, source, capsys)
    assert_one_line_error(code, err, "silent")


def test_all_silent(wav, tmp_path, capsys):
    code, _, err = upsample(tmp_path, wav("silent.wav", np.zeros(SR, np.float32)), capsys)
    assert_one_line_error(code, err, "silent.wav", "silent")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_samples(wav, tmp_path, capsys, music, bad):
    audio = music(1.0)
    audio[1000] = bad
    code, _, err = upsample(tmp_path, wav("broken.wav", audio, subtype="FLOAT"), capsys)
    assert_one_line_error(code, err, "broken.wav", "NaN or infinite")


@pytest.mark.parametrize("cutoff", [22050, 30000, 499, -5])
def test_cutoff_outside_the_usable_band(wav, tmp_path, capsys, cutoff):
    out = tmp_path / "out.wav"
    code, _, err = run(A2SB_upsample_api, ["-f", wav("in.wav"), "-o", out, "--cutoff", cutoff], capsys)
    assert_one_line_error(code, err, "cutoff", "22050")
    assert not out.exists()


@pytest.mark.parametrize("gaps, words", [("0.2-0.4,1.5-1.7", ["outside the file"]),
                                         ("0.2-0.5,0.4-0.6", ["overlap"]),
                                         ("0.5-0.3", ["must end after it starts"])])
def test_bad_gaps(wav, tmp_path, capsys, gaps, words):
    source, out = wav("in.wav"), tmp_path / "out.wav"
    code, _, err = run(A2SB_inpaint_api, ["-f", source, "-o", out, "--gaps", gaps], capsys)
    assert_one_line_error(code, err, "in.wav", *words)
    assert not out.exists()


def test_malformed_gaps_are_a_usage_error(wav, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        A2SB_inpaint_api.main(["-f", str(wav("in.wav")), "-o", str(tmp_path / "o.wav"), "--gaps", "1.0:1.2"])
    assert exit_info.value.code == 2
    assert "START-END" in capsys.readouterr().err


def test_output_equal_to_input(wav, capsys):
    source = wav("in.wav")
    before = source.read_bytes()
    code, _, err = run(A2SB_upsample_api, ["-f", source, "-o", source, "--cutoff", 4000, "--overwrite"], capsys)
    assert_one_line_error(code, err, "is the input file")
    assert source.read_bytes() == before


def test_output_folder_missing(wav, tmp_path, capsys):
    out = tmp_path / "no_such_folder" / "out.wav"
    code, _, err = run(A2SB_upsample_api, ["-f", wav("in.wav"), "-o", out, "--cutoff", 4000], capsys)
    assert_one_line_error(code, err, "no_such_folder", "does not exist")


def test_existing_output_is_kept_without_overwrite(wav, tmp_path, capsys):
    out = tmp_path / "out.wav"
    out.write_bytes(b"precious")
    code, _, err = run(A2SB_upsample_api, ["-f", wav("in.wav"), "-o", out, "--cutoff", 4000], capsys)
    assert_one_line_error(code, err, "exists", "--overwrite")
    assert out.read_bytes() == b"precious"


def test_unknown_output_extension(wav, tmp_path, capsys):
    code, _, err = run(A2SB_upsample_api, ["-f", wav("in.wav"), "-o", tmp_path / "out.xyz", "--cutoff", 4000],
                       capsys)
    assert_one_line_error(code, err, "extension")


def test_subtype_follows_input_and_container(tmp_path):
    wav_out, flac_out = str(tmp_path / "o.wav"), str(tmp_path / "o.flac")
    for kept in ("PCM_16", "PCM_24", "FLOAT"):
        assert output_subtype(kept, wav_out) == kept
    assert output_subtype("DOUBLE", wav_out) == "FLOAT"
    assert output_subtype("PCM_U8", wav_out) == "PCM_16"
    assert output_subtype("MPEG_LAYER_III", wav_out) == "PCM_16"
    assert output_subtype("FLOAT", flac_out) == "PCM_24"  # FLAC holds no floats
    assert output_subtype("PCM_24", wav_out, requested="float") == "FLOAT"
    with pytest.raises(ValueError, match="cannot hold subtype FLOAT"):
        output_subtype("PCM_16", flac_out, requested="FLOAT")


def test_interrupted_write_leaves_nothing_behind(tmp_path, monkeypatch):
    out = tmp_path / "out.wav"
    out.write_bytes(b"old")

    def failing_write(path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(sf, "write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        write_audio(str(out), np.zeros((1, 10), np.float32), "PCM_16")
    assert out.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.wav"]


def test_pcm_output_is_clipped_not_wrapped(tmp_path):
    out = tmp_path / "loud.wav"
    write_audio(str(out), np.array([[1.5, -2.0, 0.5]], np.float32), "PCM_16")
    data, _ = sf.read(out, dtype="float32")
    assert data.tolist() == pytest.approx([32767 / 32768, -1.0, 0.5], abs=1 / 32768)


def restore_with(tmp_path, wav, capsys, config, checkpoints):
    out = tmp_path / "out.wav"
    argv = ["-f", wav("in.wav"), "-o", out, "--force", "--cutoff", 4000, "-n", 2, "--config", config]
    for path in checkpoints:
        argv += ["--ckpt", path]
    result = run(A2SB_upsample_api, argv, capsys)
    assert not out.exists()
    return result


def test_truncated_checkpoint(tmp_path, wav, capsys, model):
    config, checkpoints = model
    with open(checkpoints[1], "rb") as f:
        data = f.read()
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(data[:len(data) // 2])
    code, _, err = restore_with(tmp_path, wav, capsys, config, [checkpoints[0], cut])
    assert_one_line_error(code, err, "cut.ckpt", "truncated or corrupt")


def test_checkpoint_of_another_architecture(tmp_path, wav, capsys, model):
    config, checkpoints = model
    other = UNet(**{**TINY_NETWORK, "hidden_channels": [32, 64, 64, 64]})
    save_released_layout(other, tmp_path / "other.ckpt")
    code, _, err = restore_with(tmp_path, wav, capsys, config, [tmp_path / "other.ckpt", checkpoints[1]])
    assert_one_line_error(code, err, "other.ckpt", "do not fit", "shape mismatches")


def test_missing_checkpoint_and_wrong_count(tmp_path, wav, capsys, model):
    config, checkpoints = model
    code, _, err = restore_with(tmp_path, wav, capsys, config, [checkpoints[0], tmp_path / "gone.ckpt"])
    assert_one_line_error(code, err, "gone.ckpt", "not found")
    code, _, err = restore_with(tmp_path, wav, capsys, config, [checkpoints[0]])
    assert_one_line_error(code, err, "1 checkpoint(s) from --ckpt", "1 cut point(s) [0.5] from t_cutoffs of", "need 2",
                          "--t-cutoffs")


def test_checkpoint_errors_say_where_the_paths_came_from(tmp_path, wav, capsys, model, monkeypatch):
    monkeypatch.setenv("A2SB_CHECKPOINTS", f"{model[1][0]},{tmp_path / 'gone.ckpt'}")
    code, _, err = restore_with(tmp_path, wav, capsys, model[0], [])
    assert_one_line_error(code, err, "gone.ckpt", "not found", "(from $A2SB_CHECKPOINTS)", "--ckpt")
    monkeypatch.delenv("A2SB_CHECKPOINTS")
    code, _, err = restore_with(tmp_path, wav, capsys, model[0], [])
    assert_one_line_error(code, err, "no checkpoints", "--model", "--ckpt", "A2SB_CHECKPOINTS", "from --config")


def test_check_output_path_accepts_a_new_file(tmp_path):
    check_output_path(str(tmp_path / "new.wav"), [str(tmp_path / "in.wav")])
