"""The classical baselines of benchmarks/baselines.py on generated signals with known answers."""
import numpy as np
import pytest

from benchmarks.baselines import band_replication, lpc_inpaint
from corrupt.waveform import band_limit, silence_gaps
from datasets.synthetic import music_like

SR = 44100


def sloped_noise(seconds, db_per_octave, seed=0):
    """Gaussian noise whose power falls by db_per_octave per octave above 100 Hz."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.maximum(np.fft.rfftfreq(n, 1 / SR), 100.0)
    spectrum *= 10 ** (db_per_octave * np.log2(freqs / 100.0) / 20)
    audio = np.fft.irfft(spectrum, n)
    return (0.3 * audio / np.abs(audio).max()).astype(np.float32)


def band_db(audio, low_hz, high_hz):
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)))) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / SR)
    return 10 * np.log10(spectrum[(freqs >= low_hz) & (freqs < high_hz)].mean())


@pytest.mark.parametrize("cutoff, slope", [(4000, -6.0), (8000, -3.0), (8000, -9.0)])
def test_band_replication_follows_the_spectral_slope(cutoff, slope):
    original = sloped_noise(3.0, slope)
    degraded = band_limit(original[None], cutoff)[0]
    restored = band_replication(degraded, cutoff)
    assert restored.shape == degraded.shape and restored.dtype == np.float32
    edges = cutoff * 2 ** np.arange(0.25, np.log2(20000 / cutoff), 0.5)  # half-octave bands above the cutoff
    for low, high in zip(edges[:-1], edges[1:]):
        assert band_db(degraded, low, high) < band_db(original, low, high) - 40  # nothing there before
        assert abs(band_db(restored, low, high) - band_db(original, low, high)) < 2.5, (low, high)
    # below the cutoff the input comes back (the copies start at the cutoff bin)
    kept = band_db(restored - degraded, 100, 0.9 * cutoff) - band_db(degraded, 100, 0.9 * cutoff)
    assert kept < -40


def test_band_replication_on_music_keeps_stereo_shape():
    stereo = band_limit(np.stack([music_like(2.0, seed=1), music_like(2.0, seed=2)]), 4000)
    out = band_replication(stereo, 4000)
    assert out.shape == stereo.shape
    for channel in range(2):
        assert band_db(out[channel], 5000, 16000) > band_db(stereo[channel], 5000, 16000) + 30


def test_lpc_fills_a_gap_in_a_sum_of_sinusoids():
    t = np.arange(3 * SR) / SR
    tones = sum(a * np.sin(2 * np.pi * f * t + p) for a, f, p in
                ((0.3, 220.0, 0.1), (0.2, 523.3, 1.0), (0.1, 1318.5, 2.0), (0.05, 3951.0, 0.5)))
    gaps = [(1.5, 1.6)]
    damaged = silence_gaps(tones[None].astype(np.float32), gaps)
    restored = lpc_inpaint(damaged, gaps)
    inside = slice(round(1.5 * SR), round(1.6 * SR))
    signal_energy = np.sum(tones[inside] ** 2)
    assert np.sum((damaged[0, inside] - tones[inside]) ** 2) == pytest.approx(signal_energy, rel=1e-6)
    assert np.sum((restored[0, inside] - tones[inside]) ** 2) < 1e-4 * signal_energy
    outside = np.ones(len(t), dtype=bool)
    outside[inside] = False
    assert np.array_equal(restored[0, outside], damaged[0, outside])


def test_lpc_at_the_file_edges_uses_the_side_it_has():
    t = np.arange(2 * SR) / SR
    tone = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    for gap in ((0.0, 0.05), (1.95, 2.0)):
        damaged = silence_gaps(tone[None], [gap])
        restored = lpc_inpaint(damaged[0], [gap])
        inside = slice(round(gap[0] * SR), round(gap[1] * SR))
        assert restored.ndim == 1
        assert np.sum((restored[inside] - tone[inside]) ** 2) < 1e-4 * np.sum(tone[inside] ** 2)
