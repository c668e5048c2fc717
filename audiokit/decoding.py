"""Audio file reading: cheap partial reads for training, whole files for inference.

Everything comes back as float32 at 44.1 kHz. Files at other rates are resampled with soxr. A partial read
decodes only the frames it needs (plus a little filter context) and gives the same samples as resampling
the whole file and slicing it.
"""
import math
import os
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr

from audiokit.constants import SAMPLE_RATE

# Native-rate context read on each side of a segment so the resampling filter sees real neighbours and the
# segment matches a whole-file resample (measured: 20 ms brings the difference to float32 rounding).
RESAMPLE_CONTEXT_S = 0.02


class AudioReadError(ValueError):
    """A file that cannot be decoded as audio; the message names the path and the reason."""


@dataclass(frozen=True)
class AudioInfo:
    frames: int
    sample_rate: int
    channels: int
    subtype: str
    format: str

    @property
    def duration(self):
        return self.frames / self.sample_rate


def _open(path):
    """Opens `path` with soundfile, turning every failure into an AudioReadError with a readable reason."""
    if not os.path.exists(path):
        raise AudioReadError(f"{path}: audio file not found")
    if os.path.isdir(path):
        raise AudioReadError(f"{path}: is a directory, not an audio file")
    if os.path.getsize(path) == 0:
        raise AudioReadError(f"{path}: empty file (0 bytes)")
    try:
        handle = sf.SoundFile(path)
    except (sf.SoundFileError, OSError) as err:
        raise AudioReadError(f"{path}: cannot decode audio ({_reason(err)})") from err
    if handle.frames <= 0:
        handle.close()
        raise AudioReadError(f"{path}: file holds no audio frames")
    return handle


def _reason(err):
    return getattr(err, "error_string", None) or str(err)


def _info_of(handle):
    return AudioInfo(handle.frames, handle.samplerate, handle.channels, handle.subtype, handle.format)


def info(path):
    """Header information of an audio file (no samples are decoded)."""
    with _open(path) as handle:
        return _info_of(handle)


def _to_mono(frames):
    return frames.mean(axis=1, dtype=np.float32) if frames.shape[1] > 1 else frames[:, 0]


def _check_finite(audio, path):
    if not np.isfinite(audio).all():
        raise AudioReadError(f"{path}: audio holds NaN or infinite samples")


def _read_frames(handle, path, start, count):
    """Reads `count` native frames from `start` as a float32 (frames, channels) array."""
    try:
        handle.seek(start)
        return handle.read(count, dtype="float32", always_2d=True)
    except (sf.SoundFileError, OSError) as err:
        raise AudioReadError(f"{path}: decoding failed at frame {start} ({_reason(err)})") from err


def _fit_length(audio, n_samples):
    if len(audio) >= n_samples:
        return audio[:n_samples]
    return np.concatenate([audio, np.zeros(n_samples - len(audio), dtype=np.float32)])


def read_segment(path, start_s, n_samples):
    """Returns exactly `n_samples` float32 mono samples at 44.1 kHz starting at `start_s` seconds.

    The segment starts at sample round(start_s * 44100) of the file as it reads at 44.1 kHz; past the end of
    the file it is zero. Only the needed frames are decoded. Channels are averaged.
    """
    if start_s < 0:
        raise ValueError(f"{path}: segment start must be >= 0 s, got {start_s}")
    out_start = round(start_s * SAMPLE_RATE)
    with _open(path) as handle:
        rate = handle.samplerate
        if rate == SAMPLE_RATE:
            if out_start >= handle.frames:
                return np.zeros(n_samples, dtype=np.float32)
            frames = _read_frames(handle, path, out_start, n_samples)
            audio = _to_mono(frames)
        else:
            audio = _read_resampled(handle, path, out_start, n_samples)
    _check_finite(audio, path)
    return _fit_length(audio, n_samples)


def _read_resampled(handle, path, out_start, n_samples):
    """Partial read of a file at another rate, aligned so it matches a whole-file resample.

    Native frame a maps onto output sample a * 44100 / rate; that is an integer only at multiples of
    `block_in` = rate / gcd(rate, 44100), so the read starts on such a multiple, with context before it.
    """
    rate = handle.samplerate
    common = math.gcd(rate, SAMPLE_RATE)
    block_in, block_out = rate // common, SAMPLE_RATE // common
    context_blocks = math.ceil(RESAMPLE_CONTEXT_S * rate / block_in)
    first_block = max(0, out_start // block_out - context_blocks)
    read_start = first_block * block_in
    read_end = math.ceil((out_start + n_samples) * rate / SAMPLE_RATE) + context_blocks * block_in
    read_end = min(read_end, handle.frames)
    if read_start >= read_end:
        return np.zeros(n_samples, dtype=np.float32)
    native = _to_mono(_read_frames(handle, path, read_start, read_end - read_start))
    resampled = soxr.resample(native, rate, SAMPLE_RATE)
    offset = out_start - first_block * block_out
    return resampled[offset:offset + n_samples]


def load_audio(path, mono=True):
    """Reads a whole file for inference: returns (audio float32 [channels, N] at 44.1 kHz, AudioInfo).

    With mono=True the channels are averaged into one ([1, N]). The AudioInfo is the file's own (original
    rate, channels and subtype), so callers can report or mirror it. No level scaling is applied.
    """
    with _open(path) as handle:
        file_info = _info_of(handle)
        frames = _read_frames(handle, path, 0, handle.frames)
    if mono:
        frames = _to_mono(frames)[:, None]
    _check_finite(frames, path)
    if file_info.sample_rate != SAMPLE_RATE:
        frames = soxr.resample(frames, file_info.sample_rate, SAMPLE_RATE)
    return np.ascontiguousarray(frames.T, dtype=np.float32), file_info


def peak_normalize(audio):
    """Divides by the peak magnitude when any sample exceeds 1, as the authors scale training audio; otherwise
    unchanged."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return audio / peak if peak > 1.0 else audio


def channel_rows(audio, where, dtype=None):
    """(channels, samples) array of (samples,) or (channels, samples) audio in `dtype` (as it is when None);
    any other shape, or no samples, is refused with a message that starts with `where`."""
    audio = np.asarray(audio, dtype=dtype)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2 or audio.shape[-1] == 0:
        raise ValueError(f"{where}: expected audio of shape (samples,) or (channels, samples), got {audio.shape}")
    return audio
