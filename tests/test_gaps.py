"""Dropout detection, gap checking and the shortcut's window planning (inference/gaps.py)."""
import numpy as np
import pytest

from inference.gaps import detect_gaps, frames_touching_gaps, shortcut_windows, validate_gaps

SR = 44100


def recording(music, seconds, seed=0):
    """Music with a -70 dBFS noise floor, as recordings have (the generator's pauses are digital zeros)."""
    audio = music(seconds, seed=seed)
    return audio + 3e-4 * np.random.default_rng(seed).standard_normal(audio.shape).astype(np.float32)


def with_dropouts(audio, spans):
    out = audio.copy()
    for start, end in spans:
        out[..., start:end] = 0.0
    return out


def test_finds_zeroed_segments(music):
    spans = [(20000, 20000 + 882), (60000, 60000 + 2205), (100000, 100000 + 8820)]  # 20, 50, 200 ms
    found = detect_gaps(with_dropouts(recording(music, 3.0), spans), SR, min_ms=10)
    assert len(found) == 3
    for (start_s, end_s), (start, end) in zip(found, spans):
        # A sample or two next to a dropout can itself be below -80 dBFS (a zero crossing).
        assert abs(start_s * SR - start) <= 3 and abs(end_s * SR - end) <= 3


def test_near_silence_short_runs_and_edges(music):
    audio = recording(music, 3.0)
    audio[30000:32000] = 1e-5 * np.sign(np.sin(np.arange(2000)))  # -100 dBFS hiss: near-silence
    audio[50000:50200] = 0.0  # 4.5 ms: shorter than min_ms
    audio[:4410] = 0.0  # 100 ms of leading silence: a pause, not a dropout
    gaps = detect_gaps(audio, SR, min_ms=10, threshold_db=-80)
    assert [(round(a * SR), round(b * SR)) for a, b in gaps] == [(30000, 32000)]
    with_edges = detect_gaps(audio, SR, min_ms=10, include_edges=True)
    assert [round(a * SR) for a, _ in with_edges] == [0, 30000]


def test_stereo_gap_needs_every_channel_silent(music):
    stereo = np.stack([recording(music, 2.0), recording(music, 2.0, seed=1)])
    stereo[0, 20000:24000] = 0.0
    stereo[:, 50000:52000] = 0.0
    assert [round(a * SR) for a, _ in detect_gaps(stereo, SR)] == [50000]


def test_validate_sorts_and_rejects_bad_gaps():
    assert validate_gaps([(2.0, 2.5), [0.5, 1]], duration=3.0) == [(0.5, 1.0), (2.0, 2.5)]
    for gaps, message in [([(1.0, 0.5)], "end after"), ([(2.5, 3.5)], "outside the file"),
                          ([(-0.1, 0.2)], "outside the file"), ([(0.5, 1.2), (1.0, 1.5)], "overlap"),
                          ([(1.0,)], "pair"), ([(float("nan"), 1.0)], "not finite")]:
        with pytest.raises(ValueError, match=message):
            validate_gaps(gaps, duration=3.0)


def test_frames_touching_gaps_are_those_whose_window_touches_the_gap():
    start, end = 44100, 48510  # 1.0 s to 1.1 s
    flags = frames_touching_gaps([(start / SR, end / SR)], 200).numpy()
    # Frame i sees samples [512 i - 1024, 512 i + 1024).
    expected = [i for i in range(200) if 512 * i - 1024 < end and 512 * i + 1024 > start]
    assert np.flatnonzero(flags).tolist() == expected == list(range(85, 97))


def test_shortcut_windows():
    flags = np.zeros(1000, dtype=bool)
    flags[500:530] = True
    assert shortcut_windows(flags, 256, 32) == [(387, 643)]  # centred on frame 515
    flags[10:20] = True  # near the start: shifted to stay inside the file
    assert shortcut_windows(flags, 256, 32) == [(0, 256), (387, 643)]
    flags[560:580] = True  # close to the gap at 500: both in one window
    assert shortcut_windows(flags, 256, 32) == [(0, 256), (412, 668)]

    long_gap = np.zeros(1000, dtype=bool)
    long_gap[300:500] = True  # 200 frames + 2 x 32 of context do not fit in 256
    assert shortcut_windows(long_gap, 256, 32) is None
    crowded = np.zeros(1000, dtype=bool)
    crowded[300:400] = True
    crowded[500:510] = True  # too far to join the first group, but its window reaches into it
    assert shortcut_windows(crowded, 256, 32) is None
    assert shortcut_windows(np.ones(100, dtype=bool), 256, 32) is None  # file shorter than a window
