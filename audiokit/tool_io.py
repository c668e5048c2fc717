"""Audio in and out for the restoration tools.

Reading validates everything a restoration needs (a decodable, finite, long enough, non-silent signal) and
returns all channels at 44.1 kHz. Writing is atomic (a temporary file in the output folder, then os.replace)
so an interrupted run never leaves a half-written file under the final name, and it mirrors the input's
sample format unless told otherwise.
"""
import os

import numpy as np
import soundfile as sf

from audiokit.constants import N_FFT, SAMPLE_RATE
from audiokit.decoding import load_audio
from audiokit.files import write_atomically

MIN_SAMPLES = N_FFT  # one STFT frame
SILENCE_PEAK = 1e-6  # -120 dBFS, about 8 steps of 24-bit audio: quieter is digital silence
KEPT_SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")
# Input subtypes that cannot or should not be mirrored, and what is written instead.
SUBTYPE_REPLACEMENTS = {"PCM_S8": "PCM_16", "PCM_U8": "PCM_16", "PCM_32": "FLOAT", "DOUBLE": "FLOAT"}
FALLBACK_SUBTYPE = "PCM_16"  # for compressed inputs (MP3, Vorbis, ...) and other encodings


class InputError(ValueError):
    """An input or output path the tools refuse; the message names the file and the problem."""


def read_input(path):
    """Reads a file to restore: (audio float32 [channels, N] at 44.1 kHz, AudioInfo of the file itself).

    Raises AudioReadError (missing, empty, not audio, NaN/Inf samples) or InputError (too short, silent).
    """
    audio, info = load_audio(path, mono=False)
    if audio.shape[1] < MIN_SAMPLES:
        raise InputError(f"{path}: too short: {audio.shape[1]} samples at 44.1 kHz, "
                         f"need at least {MIN_SAMPLES} (one STFT frame)")
    if float(np.max(np.abs(audio))) < SILENCE_PEAK:
        raise InputError(f"{path}: the audio is silent (peak below -120 dBFS); there is nothing to restore")
    return audio, info


def output_format(path):
    """soundfile container name for the output's extension (e.g. WAV, FLAC)."""
    extension = os.path.splitext(path)[1][1:].upper()
    if extension not in sf.available_formats():
        raise InputError(f"{path}: unknown audio file extension {extension or '(none)'!r}; use e.g. .wav or .flac")
    return extension


def check_output_path(path, inputs=(), overwrite=False):
    """Refuses an output that is one of the inputs, lies in a missing folder, or exists without overwrite."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"{path}: output folder {folder} does not exist")
    if os.path.isdir(path):
        raise InputError(f"{path}: output path is a directory")
    for source in inputs:
        if _same_file(source, path):
            raise InputError(f"{path}: output path is the input file; choose another output path")
    if os.path.exists(path) and not overwrite:
        raise InputError(f"{path}: output file exists; pass --overwrite to replace it")


def _same_file(a, b):
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def output_subtype(input_subtype, path, requested=None):
    """Sample format of the output: `requested` if given, else the input's PCM_16/PCM_24/FLOAT.

    Other input formats map to the nearest of those three; when the output container cannot hold the
    choice (FLAC has no FLOAT), PCM_24 and then the container's default are used.
    """
    container = output_format(path)
    if requested:
        requested = requested.upper()
        if not sf.check_format(container, requested):
            raise InputError(f"{path}: a {container} file cannot hold subtype {requested}; "
                             f"choose one of {', '.join(sf.available_subtypes(container))}")
        return requested
    if input_subtype in KEPT_SUBTYPES:
        wanted = input_subtype
    else:
        wanted = SUBTYPE_REPLACEMENTS.get(input_subtype, FALLBACK_SUBTYPE)
    for subtype in (wanted, "PCM_24", sf.default_subtype(container)):
        if sf.check_format(container, subtype):
            return subtype
    raise InputError(f"{path}: cannot find a sample format for a {container} file")


def write_audio(path, audio, subtype="FLOAT", sr=SAMPLE_RATE):
    """Writes float audio [channels, N] atomically; integer formats are clipped to [-1, 1] first."""
    audio = np.asarray(audio, dtype=np.float32)
    if not subtype.startswith(("FLOAT", "DOUBLE")):
        audio = np.clip(audio, -1.0, 1.0)
    container = output_format(path)
    write_atomically(path, lambda tmp: sf.write(tmp, audio.T, sr, subtype=subtype, format=container))
