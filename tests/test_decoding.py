import numpy as np
import pytest
import soundfile as sf
import soxr

from audiokit.decoding import AudioReadError, info, load_audio, peak_normalize, read_segment

SR = 44100


def pcm24_exact(x):
    """Values on the 24-bit grid, so a PCM_24 file stores them exactly."""
    return (np.round(np.clip(x, -1, 1 - 2 ** -23) * 2 ** 23) / 2 ** 23).astype(np.float32)


@pytest.fixture
def frames_read(monkeypatch):
    """Counts the frames that soundfile actually decodes."""
    counts = []
    original = sf.SoundFile.read

    def counting_read(self, frames=-1, *args, **kwargs):
        out = original(self, frames, *args, **kwargs)
        counts.append(len(out))
        return out

    monkeypatch.setattr(sf.SoundFile, "read", counting_read)
    return counts


def dominant_frequency(x, sr):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.argmax(spectrum) * sr / len(x)


def test_partial_read_of_native_rate_file_is_the_exact_slice(tmp_path, music, frames_read):
    x = pcm24_exact(music(6.0))
    path = str(tmp_path / "music.wav")
    sf.write(path, x, SR, subtype="PCM_24")
    segment = read_segment(path, 1.5, 4096)
    start = round(1.5 * SR)
    assert segment.dtype == np.float32 and segment.shape == (4096,)
    np.testing.assert_array_equal(segment, x[start:start + 4096])
    assert frames_read == [4096]  # a 6 s file, only the 4096 frames asked for were decoded


def test_segment_past_the_end_is_zero_padded(tmp_path):
    ramp = np.arange(SR, dtype=np.float32) / SR - 0.5
    path = str(tmp_path / "ramp.wav")
    sf.write(path, ramp, SR, subtype="FLOAT")
    segment = read_segment(path, (SR - 100) / SR, 300)
    np.testing.assert_array_equal(segment[:100], ramp[-100:])
    np.testing.assert_array_equal(segment[100:], np.zeros(200, dtype=np.float32))
    np.testing.assert_array_equal(read_segment(path, 2.0, 50), np.zeros(50, dtype=np.float32))


def test_48k_file_is_resampled_to_exact_length_and_frequency(tmp_path, frames_read):
    seconds, freq = 30.0, 1000.0
    t = np.arange(int(48000 * seconds)) / 48000
    x = pcm24_exact(0.5 * np.sin(2 * np.pi * freq * t))
    path = str(tmp_path / "sine48k.wav")
    sf.write(path, x, 48000, subtype="PCM_24")
    n = 8820
    segment = read_segment(path, 12.3456, n)
    assert segment.shape == (n,) and segment.dtype == np.float32
    assert abs(dominant_frequency(segment, SR) - freq) <= SR / n  # within one FFT bin (5 Hz)
    # Same samples as resampling the whole file and slicing it.
    whole = soxr.resample(x, 48000, SR)
    start = round(12.3456 * SR)
    np.testing.assert_allclose(segment, whole[start:start + n], atol=1e-5)
    # 9600 native frames are needed; the rest is 20 ms of filter context on each side (2 x 960 frames).
    assert sum(frames_read) <= 9600 + 2 * 960 + 2 * 160
    assert sum(frames_read) < len(x) / 50


def test_resampled_read_near_the_file_start(tmp_path, music):
    x = music(1.0, seed=3)
    x48 = soxr.resample(x, SR, 48000)
    path = str(tmp_path / "m48.wav")
    sf.write(path, x48, 48000, subtype="FLOAT")
    whole = soxr.resample(x48, 48000, SR)
    np.testing.assert_allclose(read_segment(path, 0.0, 2000), whole[:2000], atol=1e-5)
    np.testing.assert_allclose(read_segment(path, 0.001, 2000), whole[44:2044], atol=1e-5)


def test_stereo_is_averaged(tmp_path, music):
    left, right = pcm24_exact(music(1.0, seed=1)), pcm24_exact(music(1.0, seed=2))
    path = str(tmp_path / "stereo.wav")
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="PCM_24")
    segment = read_segment(path, 0.25, 1000)
    start = round(0.25 * SR)
    np.testing.assert_allclose(segment, (left[start:start + 1000] + right[start:start + 1000]) / 2, atol=1e-7)


def test_float_file_above_one_keeps_values_until_peak_normalized(tmp_path):
    x = np.array([0.5, -2.0, 1.5, 0.25] * 100, dtype=np.float32)
    path = str(tmp_path / "loud.wav")
    sf.write(path, x, SR, subtype="FLOAT")
    segment = read_segment(path, 0.0, 400)
    np.testing.assert_array_equal(segment, x)
    scaled = peak_normalize(segment)
    np.testing.assert_allclose(scaled[:4], [0.25, -1.0, 0.75, 0.125])
    assert scaled.dtype == np.float32
    quiet = x / 4
    np.testing.assert_array_equal(peak_normalize(quiet), quiet)


def tone(sr, seconds=1.0, freq=440.0):
    return 0.8 * np.sin(2 * np.pi * freq * np.arange(int(sr * seconds)) / sr)


def test_load_audio_whole_file_resampled_with_info(tmp_path):
    stereo = np.stack([tone(48000), 0.5 * tone(48000)], axis=1)
    path = str(tmp_path / "stereo48.wav")
    sf.write(path, stereo, 48000, subtype="PCM_16")
    audio, file_info = load_audio(path, mono=False)
    header = (file_info.frames, file_info.sample_rate, file_info.channels, file_info.subtype)
    assert header == (48000, 48000, 2, "PCM_16")
    assert audio.shape == (2, SR) and audio.dtype == np.float32
    np.testing.assert_allclose(audio[1], 0.5 * audio[0], atol=2e-4)  # PCM_16 quantisation
    np.testing.assert_allclose(audio[0][1000:-1000], tone(SR)[1000:-1000], atol=2e-4)
    mono, _ = load_audio(path)
    assert mono.shape == (1, SR)
    np.testing.assert_allclose(mono[0], audio.mean(axis=0), atol=1e-5)
    assert info(path) == file_info and file_info.duration == 1.0


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file (0 bytes)"),
    (b"this is a text file, not audio\n" * 10, "cannot decode audio"),
])
def test_unreadable_files_raise_a_clear_error(tmp_path, content, reason):
    path = str(tmp_path / "broken.wav")
    with open(path, "wb") as f:
        f.write(content)
    for read in (lambda: read_segment(path, 0.0, 100), lambda: load_audio(path), lambda: info(path)):
        with pytest.raises(AudioReadError) as err:
            read()
        assert str(err.value).startswith(f"{path}: {reason}")


def test_missing_and_non_finite_files(tmp_path):
    with pytest.raises(AudioReadError, match="not found"):
        read_segment(str(tmp_path / "nope.wav"), 0.0, 10)
    path = str(tmp_path / "nan.wav")
    sf.write(path, np.array([0.1, np.nan, 0.2] * 10, dtype=np.float32), SR, subtype="FLOAT")
    with pytest.raises(AudioReadError, match="NaN"):
        read_segment(path, 0.0, 30)
    with pytest.raises(ValueError, match="start must be >= 0"):
        read_segment(path, -1.0, 30)
