"""Inpainting gaps: finding dropouts in audio, checking user-given gaps, and the frames they touch."""
import math

import numpy as np
import torch

from audiokit.constants import HOP_LENGTH, N_FFT, SAMPLE_RATE
from audiokit.decoding import channel_rows


def runs(flags):
    """[(start, end), ...] of the runs of True in a 1-D bool array (end exclusive)."""
    flags = np.asarray(flags, dtype=bool)
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def detect_gaps(audio, sr=SAMPLE_RATE, min_ms=10.0, threshold_db=-80.0, include_edges=False):
    """Dropouts: runs of at least `min_ms` where every channel stays at or below `threshold_db` dBFS.

    Returns [(start_s, end_s), ...]. Silence touching the start or the end of the file is usually a
    fade or a pause, not a dropout, so it is left out unless include_edges.
    """
    audio = channel_rows(audio, "detect_gaps")
    if min_ms <= 0:
        raise ValueError(f"detect_gaps: min_ms must be positive, got {min_ms}")
    if threshold_db > 0:
        raise ValueError(f"detect_gaps: threshold_db is in dBFS and must be <= 0, got {threshold_db}")
    threshold = 10.0 ** (threshold_db / 20.0)
    silent = np.all(np.abs(audio) <= threshold, axis=0)
    min_samples = max(1, math.ceil(min_ms * sr / 1000.0))
    n = audio.shape[-1]
    gaps = []
    for start, end in runs(silent):
        at_edge = start == 0 or end == n
        if end - start >= min_samples and (include_edges or not at_edge):
            gaps.append((start / sr, end / sr))
    return gaps


def validate_gaps(gaps, duration):
    """Gaps as sorted (start_s, end_s) floats; ValueError for a malformed, empty, outside or overlapping gap."""
    checked = []
    for gap in gaps:
        try:
            start, end = (float(v) for v in gap)
        except (TypeError, ValueError):
            raise ValueError(f"gap {gap!r} must be a (start_s, end_s) pair of numbers") from None
        if not (math.isfinite(start) and math.isfinite(end)):
            raise ValueError(f"gap ({start}, {end}) s is not finite")
        if end <= start:
            raise ValueError(f"gap ({start}, {end}) s must end after it starts")
        if start < 0 or end > duration + 1e-9:
            raise ValueError(f"gap ({start}, {end}) s lies outside the file (0 to {duration:.3f} s)")
        checked.append((start, end))
    checked.sort()
    for (a_start, a_end), (b_start, b_end) in zip(checked, checked[1:]):
        if b_start < a_end:
            raise ValueError(f"gaps ({a_start}, {a_end}) s and ({b_start}, {b_end}) s overlap")
    return checked


def frames_touching_gaps(gaps, n_frames, sr=SAMPLE_RATE, hop=HOP_LENGTH, n_fft=N_FFT):
    """Bool (n_frames,) flags of the STFT frames whose analysis window overlaps a gap.

    Frame i covers samples [i hop - n_fft / 2, i hop + n_fft / 2) (centred STFT). A frame that sees even
    part of a dropout holds the dropout's click and dip, so it is regenerated too.
    """
    flags = torch.zeros(n_frames, dtype=torch.bool)
    half = n_fft // 2
    for start_s, end_s in gaps:
        first = math.floor((start_s * sr - half) / hop) + 1
        last = math.ceil((end_s * sr + half) / hop) - 1
        flags[max(first, 0):max(min(last + 1, n_frames), 0)] = True
    return flags


def shortcut_windows(flags, window, margin):
    """The inpainting shortcut's windows: [(first, last), ...] of `window` frames, one per group of gap
    frames, centred on it and shifted to stay inside the file; None when the shortcut does not apply.

    Gaps closer than the window allows are grouped. It applies when every group leaves `margin` known
    frames on both sides of a window and no window holds another group's gap frames (that would be
    taken as known content). Otherwise the whole file has to be sampled.
    """
    flags = np.asarray(flags, dtype=bool)
    n_frames = len(flags)
    if n_frames < window:
        return None
    groups = []
    for start, end in runs(flags):
        if groups and end - groups[-1][0] + 2 * margin <= window:
            groups[-1] = (groups[-1][0], end)
        else:
            groups.append((start, end))
    windows = []
    for start, end in groups:
        if end - start + 2 * margin > window:
            return None
        first = min(max((start + end) // 2 - window // 2, 0), n_frames - window)
        own = np.zeros(window, dtype=bool)
        own[start - first:end - first] = True
        if np.any(flags[first:first + window] & ~own):
            return None
        windows.append((first, first + window))
    return windows
