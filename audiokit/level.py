"""Playing level of music: the RMS over its active frames, and the typical level of the training music.

    python -m audiokit.level FILE [FILE ...]      # active RMS of each file and their median

A frame is active when its RMS is within ACTIVE_RANGE_DB of the loudest frame's, so silence, fades and
zeroed gaps do not pull the level down, and scaling the audio scales the level by the same factor.

TYPICAL_RMS is the median active RMS of the recorded music this project trains on here: the 36 Ogg Vorbis
tracks of Debian's hedgewars-data and extremetuxracer-data (0.143; medians of the two sets 0.138 and
0.157; single files range from 0.028 to 0.327). The restoration engine can scale its input to this level
before sampling and back afterwards (inference/engine.py, normalize_level): the bridge adds noise of a
fixed level, so a quiet input would otherwise look to the model like a loud one with little content.
"""
import sys

import numpy as np

from audiokit.decoding import AudioReadError, load_audio

FRAME = 2048
ACTIVE_RANGE_DB = 40.0
TYPICAL_RMS = 0.14


def active_rms(audio):
    """RMS over the active frames of (samples,) or (channels, samples) audio (channels pooled); 0 if silent."""
    audio = np.asarray(audio, dtype=np.float64)
    audio = audio.reshape(-1, audio.shape[-1])
    n_frames = max(1, audio.shape[-1] // FRAME)
    usable = audio[:, :n_frames * FRAME] if audio.shape[-1] >= FRAME else audio
    power = np.mean(usable.reshape(audio.shape[0], n_frames, -1) ** 2, axis=(0, 2))
    if power.max() <= 0:
        return 0.0
    active = power >= power.max() * 10 ** (-ACTIVE_RANGE_DB / 10)
    return float(np.sqrt(power[active].mean()))


def gain_to_typical(audio):
    """The factor that brings the audio's active RMS to TYPICAL_RMS (1 for silence)."""
    level = active_rms(audio)
    return TYPICAL_RMS / level if level > 0 else 1.0


def main(argv=None):
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m audiokit.level FILE [FILE ...]", file=sys.stderr)
        return 1
    levels = []
    for path in paths:
        try:
            level = active_rms(load_audio(path, mono=False)[0])
        except AudioReadError as error:
            print(f"error: {error}", file=sys.stderr)
            continue
        levels.append(level)
        print(f"{level:.4f}  {path}")
    if not levels:
        return 1
    print(f"median active RMS of {len(levels)} files: {np.median(levels):.4f} (TYPICAL_RMS = {TYPICAL_RMS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
