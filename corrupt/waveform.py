"""Degradations of waveforms, as the dataset tools, the benchmarks and the tests make their degraded inputs.

Audio is float32 [channels, N] at 44.1 kHz. Bandwidth: resampled down to twice the cutoff and back up, as the
authors' tools degrade. Gaps: periodic stretches of zeros (docs/DESIGN.md, "Dataset tools and evaluation").
"""
import itertools

import soxr

from audiokit.constants import SAMPLE_RATE


def band_limit(audio, cutoff_hz):
    """Resamples [channels, N] audio down to 2 cutoff_hz and back up: no content above cutoff_hz is left."""
    low = soxr.resample(audio.T, SAMPLE_RATE, 2 * cutoff_hz)
    back = soxr.resample(low, 2 * cutoff_hz, SAMPLE_RATE).T
    out = audio.copy()
    n = min(back.shape[1], audio.shape[1])
    out[:, :n] = back[:, :n]
    out[:, n:] = 0.0
    return out


def periodic_gaps(duration_s, gap_s, period_s):
    """Gaps of gap_s seconds centred in each period of period_s seconds, as far as they fit in the file.

    Returns [(start_s, end_s), ...]; the k-th gap starts at k period + (period - gap) / 2.
    """
    if not 0 < gap_s < period_s:
        raise ValueError(f"the gap length ({gap_s:g} s) must be positive and shorter than its period ({period_s:g} s)")
    gaps = []
    for k in itertools.count():
        start = k * period_s + (period_s - gap_s) / 2
        if start + gap_s > duration_s:
            return gaps
        gaps.append((start, start + gap_s))


def file_gaps(audio, gap_s, period_s):
    """periodic_gaps of [channels, N] audio; a file too short for one gap is refused."""
    gaps = periodic_gaps(audio.shape[1] / SAMPLE_RATE, gap_s, period_s)
    if not gaps:
        raise ValueError(f"too short for a {gap_s:g} s gap centred in {period_s:g} s "
                         f"({audio.shape[1] / SAMPLE_RATE:.2f} s long)")
    return gaps


def silence_gaps(audio, gaps):
    """A copy of [channels, N] audio with the (start_s, end_s) gaps zeroed."""
    out = audio.copy()
    for start, end in gaps:
        out[:, round(start * SAMPLE_RATE):round(end * SAMPLE_RATE)] = 0.0
    return out
