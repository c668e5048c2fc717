"""Automatic band edge (datasets/band_edge.py) on music-like audio low-passed at known frequencies."""
import librosa
import numpy as np
import pytest
import soxr
from scipy import signal

from datasets.band_edge import detect_cutoff

SR = 44100
CUTOFFS = (2000, 4000, 8000, 11000, 16000)


def tolerance(freq):
    return max(0.03 * freq, 200.0)


def brick_wall(audio, freq):
    """Ideal low-pass (what an MP3 encoder's sharp low-pass approaches)."""
    spectrum = np.fft.rfft(audio)
    spectrum[np.fft.rfftfreq(len(audio), 1 / SR) > freq] = 0
    return np.fft.irfft(spectrum, len(audio))


def resampled(audio, freq):
    """The authors' degradation: down to 2 f and back up."""
    return soxr.resample(soxr.resample(audio, SR, int(2 * freq)), int(2 * freq), SR)[:len(audio)]


def soxr_edge(freq):
    """Where the down-and-up resampling chain itself is 4.5 dB down, measured on white noise."""
    noise = np.random.default_rng(0).standard_normal(SR * 4)
    gain = np.abs(np.fft.rfft(resampled(noise, freq))) ** 2 / np.abs(np.fft.rfft(noise)) ** 2
    freqs = np.fft.rfftfreq(len(noise), 1 / SR)
    smooth = np.convolve(gain, np.ones(201) / 201, mode="same")
    return freqs[np.flatnonzero((smooth >= 10 ** -0.45) & (freqs < freq))[-1]]


def tilted(audio):
    """-6 dB per octave above 500 Hz: music that fades gently towards high frequencies."""
    return signal.sosfilt(signal.butter(1, 500, fs=SR, output="sos"), audio)


@pytest.fixture(scope="module")
def songs():
    from datasets.synthetic import music_like
    return [music_like(8.0, seed=seed).astype(np.float64) for seed in (0, 1)]


@pytest.mark.parametrize("freq", CUTOFFS)
def test_brick_wall_edges(songs, freq):
    for song in songs:
        found = detect_cutoff(brick_wall(song, freq))
        assert found is not None and abs(found - freq) <= tolerance(freq), (freq, found)
        quantized = np.round(brick_wall(song, freq) * 32767) / 32767  # 16-bit file: dither-level floor
        assert abs(detect_cutoff(quantized) - freq) <= tolerance(freq)


@pytest.mark.parametrize("freq", CUTOFFS)
def test_resampled_edges(songs, freq):
    edge = soxr_edge(freq)
    assert 0.93 * freq < edge < freq  # soxr's pass band ends a few percent under the new Nyquist
    for song in songs:
        assert abs(detect_cutoff(resampled(song, freq)) - edge) <= tolerance(freq)


def test_gentle_filter_slope(songs):
    """A 12th-order Butterworth (-3 dB at f, -4.5 dB at 1.045 f): found between those points, +-3%."""
    for freq in CUTOFFS:
        for song in songs:
            found = detect_cutoff(signal.sosfilt(signal.butter(12, freq, fs=SR, output="sos"), song))
            assert 0.97 * freq <= found <= 1.075 * freq, (freq, found)


def test_gently_fading_music_is_not_mistaken_for_an_edge(songs):
    for song in songs:
        assert detect_cutoff(song) is None
        assert detect_cutoff(tilted(song)) is None
        band_limited = brick_wall(tilted(song), 11000)
        assert abs(detect_cutoff(band_limited) - 11000) <= tolerance(11000)
        # The 99% roll-off the authors use sits far below the real edge.
        rolloff = librosa.feature.spectral_rolloff(y=band_limited, sr=SR, roll_percent=0.99).mean()
        assert rolloff < 0.8 * 11000


def test_stereo_silence_and_short_input(songs):
    stereo = np.stack([brick_wall(songs[0], 8000), brick_wall(songs[1], 8000)])
    assert abs(detect_cutoff(stereo) - 8000) <= tolerance(8000)
    assert detect_cutoff(np.zeros(SR)) is None
    assert detect_cutoff(np.zeros(100)) is None
    with pytest.raises(ValueError, match="channels, samples"):
        detect_cutoff(np.zeros((2, 2, 100)))
