"""corrupt/waveform.py: the degradations of the dataset tools, the benchmarks and the tests."""
import numpy as np
import pytest

from corrupt.waveform import band_limit, file_gaps, periodic_gaps, silence_gaps
from datasets.synthetic import music_like

SR = 44100


def test_periodic_gaps_are_centred_and_fit_the_file():
    assert np.allclose(periodic_gaps(12.0, 0.3, 5.0), [(2.35, 2.65), (7.35, 7.65)])
    assert np.allclose(periodic_gaps(3.0, 0.5, 1.0), [(0.25, 0.75), (1.25, 1.75), (2.25, 2.75)])
    assert periodic_gaps(0.6, 0.3, 1.0) == []


def test_file_gaps_refuse_a_file_too_short_for_one():
    assert np.allclose(file_gaps(np.zeros((2, 3 * SR)), 0.5, 1.0), periodic_gaps(3.0, 0.5, 1.0))
    with pytest.raises(ValueError, match="too short for a 0.3 s gap"):
        file_gaps(np.zeros((1, SR // 2)), 0.3, 1.0)


def test_silence_gaps_zeroes_the_gaps_of_every_channel_and_nothing_else():
    audio = np.ones((2, SR), dtype=np.float32)
    out = silence_gaps(audio, [(0.25, 0.5)])
    assert out.dtype == np.float32 and audio.min() == 1.0
    assert not out[:, SR // 4:SR // 2].any() and out[:, :SR // 4].all() and out[:, SR // 2:].all()


def test_band_limit_leaves_nothing_above_the_cutoff_and_keeps_the_shape():
    stereo = np.stack([music_like(1.0, seed=1), music_like(1.0, seed=2)])
    out = band_limit(stereo, 4000)
    assert out.shape == stereo.shape and out.dtype == stereo.dtype
    spectrum = np.abs(np.fft.rfft(out * np.hanning(out.shape[-1]), axis=-1)) ** 2  # windowed: no leakage from the ends
    freqs = np.fft.rfftfreq(out.shape[-1], 1 / SR)
    assert spectrum[:, freqs > 4400].sum() < 1e-10 * spectrum[:, freqs < 3500].sum()  # measured 2e-14
