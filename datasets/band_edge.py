"""Automatic band edge of low-passed or lossy-encoded audio (the cutoff for bandwidth extension).

A 99% spectral roll-off sits far below the edge for most music, whose level falls gently with frequency.
Instead, on the long-term average spectrum in dB:
- the in-band trend at bin k is a straight line (dB over log-frequency) fitted to bins [k / 2, k / 1.15)
  and extrapolated to k (leaving out the 15% just below k keeps a filter's slope out of the fit);
- a coarse edge is the lowest bin k above which everything stays low: over (k, 1.5 k] the level never
  comes within `margin_db` of the trend at k, and from 1.5 k (at most from the top 3% of the band) up to
  Nyquist it stays `min_drop_db` under it. Music that merely fades towards high frequencies keeps coming
  back near its trend, so it has no edge (None, full band);
- the edge is then placed where the transition crosses about -4.5 dB: the power relative to the trend
  (scaled to average 1 in band) is averaged over +-4% of the frequency, which evens out the music's own
  peaks and dips, and the last frequency near the coarse edge where it is still >= 0.35 is taken. For a
  brick-wall filter that is the cut frequency; for a gentle slope it lies between its -3 and -6 dB points.
"""
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d

from datasets.constants import SAMPLE_RATE

ANALYSIS_N_FFT = 4096  # the detector's own STFT: 10.8 Hz bins, finer than the representation's
SMOOTH_HZ = 100.0
MIN_EDGE_HZ = 500.0
FAR_FRACTION = 0.97  # the far region always includes the top 3% of the band
FULL_BAND_FRACTION = 0.95  # an edge this close to Nyquist means nothing is missing
TREND_GAP = 1.15  # the trend of bin k is fitted below k / TREND_GAP
NEAR_RANGE = 1.5  # bins (k, 1.5 k] are the near region of bin k
REFINE_RANGE = (0.8, 1.25)  # the edge is searched within these multiples of the coarse edge
REFINE_SMOOTH = 0.04  # half-width of the relative-power average, as a fraction of the frequency
EDGE_POWER = 0.35  # about -4.5 dB


def average_power(audio, n_fft=ANALYSIS_N_FFT):
    """Long-term average power spectrum (n_fft // 2 + 1 bins), all channels and frames pooled."""
    audio = np.asarray(audio, dtype=np.float64)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2 or audio.shape[-1] == 0:
        raise ValueError(f"detect_cutoff: expected audio of shape (samples,) or (channels, samples), got {audio.shape}")
    if audio.shape[-1] < n_fft:
        audio = np.pad(audio, ((0, 0), (0, n_fft - audio.shape[-1])))
    hop = n_fft // 2
    n_frames = 1 + (audio.shape[-1] - n_fft) // hop
    window = np.hanning(n_fft + 1)[:-1]
    power = np.zeros(n_fft // 2 + 1)
    for first in range(0, n_frames, 256):  # a few hundred frames at a time keeps memory flat
        starts = hop * np.arange(first, min(first + 256, n_frames))
        frames = audio[:, starts[:, None] + np.arange(n_fft)[None, :]] * window
        power += (np.abs(np.fft.rfft(frames, axis=-1)) ** 2).sum(axis=(0, 1))
    return power / (n_frames * audio.shape[0])


def trend_below(level_db, gap=TREND_GAP):
    """For each bin k, a least-squares line over log2(bin) fitted on bins [k/2, k/gap), evaluated at k."""
    n = len(level_db)
    x = np.log2(np.maximum(np.arange(n), 1))
    y = level_db
    prefix = [np.concatenate([[0.0], np.cumsum(v)]) for v in (np.ones(n), x, y, x * x, x * y)]
    k = np.arange(n)
    low = np.ceil(k / 2).astype(int)
    high = np.maximum(np.ceil(k / gap).astype(int), low)
    s1, sx, sy, sxx, sxy = (p[high] - p[low] for p in prefix)
    trend = np.full(n, -np.inf)
    ok = s1 >= 3
    det = s1 * sxx - sx * sx
    slope = np.divide(s1 * sxy - sx * sy, det, out=np.zeros(n), where=ok & (det > 0))
    intercept = np.divide(sy - slope * sx, s1, out=np.zeros(n), where=ok)
    trend[ok] = intercept[ok] + slope[ok] * x[ok]
    return trend


def detect_cutoff(audio, sr=SAMPLE_RATE, margin_db=6.0, min_drop_db=20.0):
    """Band edge in Hz of (channels, samples) or (samples,) audio, or None when it is full band or silent."""
    power = average_power(audio)
    if power.max() <= 0:
        return None
    bin_hz = sr / ANALYSIS_N_FFT
    power = np.maximum(uniform_filter1d(power, size=max(1, int(round(SMOOTH_HZ / bin_hz))), mode="nearest"), 0)
    level = 10.0 * np.log10(power + power.max() * 1e-20)
    n = len(level)
    trend = trend_below(level)
    k = np.arange(int(np.ceil(MIN_EDGE_HZ / bin_hz)), int(FULL_BAND_FRACTION * (n - 1)))
    far_start = np.minimum(np.ceil(NEAR_RANGE * k).astype(int), int(FAR_FRACTION * (n - 1)))
    near = np.array([level[a + 1:max(b, a + 2)].max() for a, b in zip(k, far_start)])
    far = np.maximum.accumulate(level[::-1])[::-1][far_start]  # max of level[j:] for each j
    is_edge = (near < trend[k] - margin_db) & (far < trend[k] - min_drop_db)
    if not is_edge.any():
        return None
    return float((_edge_point(level, int(k[np.argmax(is_edge)])) + 0.5) * bin_hz)


def _edge_point(level, coarse):
    """Last bin near `coarse` whose locally averaged power relative to the in-band trend is >= EDGE_POWER."""
    n = len(level)
    bins = np.arange(n)
    fit = slice(int(np.ceil(coarse / 2)), max(int(np.ceil(coarse / TREND_GAP)), int(np.ceil(coarse / 2)) + 3))
    x = np.log2(np.maximum(bins, 1))
    slope, intercept = np.polyfit(x[fit], level[fit], 1)
    relative = 10.0 ** (np.minimum(level - (intercept + slope * x), 60.0) / 10.0)
    relative /= relative[fit].mean()
    prefix = np.concatenate([[0.0], np.cumsum(relative)])
    half = np.maximum(np.round(REFINE_SMOOTH * bins).astype(int), 1)
    low, high = np.maximum(bins - half, 0), np.minimum(bins + half + 1, n)
    smoothed = (prefix[high] - prefix[low]) / (high - low)
    lo, hi = int(REFINE_RANGE[0] * coarse), min(int(np.ceil(REFINE_RANGE[1] * coarse)), n - 1)
    above = np.flatnonzero(smoothed[lo:hi + 1] >= EDGE_POWER)
    return lo + int(above[-1]) if len(above) else coarse


@dataclass(frozen=True)
class BandEdge:
    """What the detector concluded about one signal.

    status: "edge" (a filter's or codec's edge at `edge_hz`), "full_band" (nothing is missing) or "uncertain"
    (no trustworthy answer: the caller must not restore on it). `confidence` is in [0, 1]; `message` says in
    one line what was seen, for the user.
    """
    status: str
    edge_hz: float | None
    confidence: float
    message: str


def detect_band_edge(audio, sr=SAMPLE_RATE, source_sr=None):
    """Band edge of (channels, samples) or (samples,) audio at `sr`; `source_sr` is the file's own rate."""
    edge = detect_cutoff(audio, sr)
    if edge is None:
        return BandEdge("full_band", None, 1.0, "no band edge: the spectrum reaches Nyquist")
    return BandEdge("edge", edge, 1.0, f"band edge at {edge:.0f} Hz")
