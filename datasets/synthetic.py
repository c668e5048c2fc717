"""Music-like synthetic audio for the demo and the tests (no data set can be downloaded here).

Notes are harmonic tones with decaying partials, mixed with chirps and short noise bursts, so the
signal has energy across the whole 0-22 kHz band, onsets, and gaps between events.
"""
import csv
import os

import numpy as np
import soundfile as sf

from audiokit.constants import SAMPLE_RATE


def music_like(seconds, sr=SAMPLE_RATE, seed=0):
    """Returns float32 mono audio of `seconds` length, peak 0.9."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    out = np.zeros(n, dtype=np.float64)
    t_all = np.arange(n) / sr
    note_starts = np.arange(0.0, seconds, 0.25)
    for start in note_starts:
        if rng.random() < 0.2:
            continue
        f0 = 110.0 * 2 ** (rng.integers(0, 36) / 12)
        dur = rng.uniform(0.2, 0.8)
        i0, i1 = int(start * sr), min(n, int((start + dur) * sr))
        t = t_all[i0:i1] - start
        env = np.exp(-t * rng.uniform(2.0, 6.0)) * np.minimum(1.0, t / 0.005)
        note = np.zeros_like(t)
        for k in range(1, 40):
            fk = f0 * k
            if fk > 0.48 * sr:
                break
            note += np.sin(2 * np.pi * fk * t + rng.uniform(0, 2 * np.pi)) * k ** -0.8 * np.exp(-t * k * 0.3)
        out[i0:i1] += 0.3 * env * note
    n_chirps = max(1, int(seconds // 2))
    for _ in range(n_chirps):
        start = rng.uniform(0, max(seconds - 0.5, 0.0))
        dur = min(0.5, seconds - start)
        i0, i1 = int(start * sr), min(n, int((start + dur) * sr))
        t = t_all[i0:i1] - start
        f_a, f_b = rng.uniform(500, 4000), rng.uniform(6000, 20000)
        phase = 2 * np.pi * (f_a * t + (f_b - f_a) * t ** 2 / (2 * dur))
        out[i0:i1] += 0.1 * np.sin(phase) * np.hanning(i1 - i0)
    for start in np.arange(0.125, seconds, 0.5):
        i0, i1 = int(start * sr), min(n, int((start + 0.03) * sr))
        burst = rng.standard_normal(i1 - i0) * np.exp(-np.arange(i1 - i0) / (0.008 * sr))
        out[i0:i1] += 0.15 * burst
    peak = np.max(np.abs(out))
    if peak > 0:
        out *= 0.9 / peak
    return out.astype(np.float32)


def structured_music(seconds, sr=SAMPLE_RATE, seed=0):
    """Float32 mono phrases of harmonic notes with rests between them, peak 0.9: the upper partials start,
    swell and die with the lower ones, so a model that hears the band below a cutoff can tell what lies above
    it, and when to stay silent. Learnability experiments use it (benchmarks/learnability.py)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    out = np.zeros(n, dtype=np.float64)
    t_all = np.arange(n) / sr
    start = rng.uniform(0.0, 0.3)
    while start < seconds:
        phrase_end = min(seconds, start + rng.uniform(0.8, 1.6))
        while start < phrase_end:
            dur = rng.choice([0.125, 0.25, 0.375])
            i0, i1 = int(start * sr), min(n, int((start + dur) * sr))
            t = t_all[i0:i1] - start
            f0 = 110.0 * 2 ** (rng.integers(0, 30) / 12)
            env = np.minimum(1.0, t / 0.004) * np.exp(-t * rng.uniform(3.0, 8.0)) * np.minimum(1.0, (dur - t) / 0.01)
            loud = rng.uniform(0.3, 1.0)
            k = np.arange(1, int(0.45 * sr / f0) + 1)
            phases = rng.uniform(0, 2 * np.pi, len(k))
            partials = np.sin(2 * np.pi * f0 * np.outer(t, k) + phases) * k ** -0.7
            out[i0:i1] += loud * env * partials.sum(axis=1)
            start += dur
        start += rng.uniform(0.3, 0.8)  # a rest: silence in every band
    peak = np.max(np.abs(out))
    if peak > 0:
        out *= 0.9 / peak
    return out.astype(np.float32)


def write_demo_dataset(root, name="demo", n_train=8, n_val=2, n_test=2, seconds=4.0, seed=0):
    """Writes music-like WAV files and `<root>/<name>_manifest.csv`; returns the manifest path.

    Rows follow the manifest form `split,file_path,duration` with paths relative to the manifest.
    """
    os.makedirs(os.path.join(root, name), exist_ok=True)
    rows = []
    splits = ["train"] * n_train + ["valid"] * n_val + ["test"] * n_test
    for i, split in enumerate(splits):
        rel = os.path.join(name, f"{split}_{i:03d}.wav")
        audio = music_like(seconds, seed=seed * 1000 + i)
        sf.write(os.path.join(root, rel), audio, SAMPLE_RATE, subtype="PCM_16")
        rows.append((split, rel, f"{len(audio) / SAMPLE_RATE:.4f}"))
    manifest = os.path.join(root, f"{name}_manifest.csv")
    with open(manifest, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return manifest
