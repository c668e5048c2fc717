"""Long audio in chunks: frame-exact encoding of a piece of a file, and stitching restored pieces back.

A chunk is a range of STFT frames [first, last) of the whole file. Its image is computed from the samples
around it (two hops of context on each side), so it equals the same frames of the whole-file image.
Consecutive chunks overlap. The restorer lets each chunk take the first half of the overlap, as the
previous chunk restored it, as known content (the second half, which the previous chunk generated next
to its edge with no context to the right, is generated again with context on both sides). Both chunks
then hold the very same frames in that known half, and a plain linear cross-fade (weights summing to
one) in its middle joins identical waveforms.

The image drops the STFT's DC bin. `encode_frames_with_dc` also hands that bin over, and `decode_frames`
can put it back in place of the zero bin the inverse chain prepends, so that one synthesis gives the
restored image plus the input's DC content (both need the default chains: the STFT first, the ISTFT last).
"""
import numpy as np

from audiokit.constants import HOP_LENGTH, N_FFT, SAMPLE_RATE

CONTEXT_FRAMES = N_FFT // HOP_LENGTH // 2  # a frame's window reaches this many hops to either side
# The known half of an overlap must hold a fade away from both decoders' edge effects.
MIN_OVERLAP_FRAMES = 2 * (4 * CONTEXT_FRAMES + 4)
FADE_SAMPLES = 1024


def frames_for(seconds, sr=SAMPLE_RATE, hop=HOP_LENGTH):
    """Whole frames in `seconds` (rounded)."""
    return int(round(seconds * sr / hop))


def plan_chunks(n_frames, chunk_frames, overlap_frames):
    """[(first, last), ...] frame ranges covering [0, n_frames); each starts `overlap_frames` before the
    previous one ends. One chunk when the file fits."""
    if overlap_frames < MIN_OVERLAP_FRAMES:
        raise ValueError(f"chunks: the overlap must be at least {MIN_OVERLAP_FRAMES} frames "
                         f"({MIN_OVERLAP_FRAMES * HOP_LENGTH / SAMPLE_RATE:.3f} s), got {overlap_frames}")
    if chunk_frames <= overlap_frames:
        raise ValueError(f"chunks: a chunk ({chunk_frames} frames) must be longer than the overlap "
                         f"({overlap_frames} frames)")
    chunks = [(0, min(chunk_frames, n_frames))]
    while chunks[-1][1] < n_frames:
        first = chunks[-1][1] - overlap_frames
        chunks.append((first, min(first + chunk_frames, n_frames)))
    return chunks


def _samples_around(audio, first, last, device):
    """The samples that frames [first, last) see, on `device`, and the index of frame `first` among them."""
    start = max(0, HOP_LENGTH * (first - CONTEXT_FRAMES))
    stop = min(audio.shape[-1], HOP_LENGTH * (last + CONTEXT_FRAMES - 1))
    return audio[..., start:stop].to(device), first - start // HOP_LENGTH


def encode_frames(representation, audio, first, last, device="cpu"):
    """Frames [first, last) of the whole-file image of audio (C, N), from the needed samples only
    (moved to `device` before the transform)."""
    samples, offset = _samples_around(audio, first, last, device)
    return representation.encode(samples)[..., offset:offset + last - first]


def encode_frames_with_dc(representation, audio, first, last, device="cpu"):
    """encode_frames, and the DC bin of the same frames (complex (C, last - first)) that the image drops."""
    samples, offset = _samples_around(audio, first, last, device)
    image, dc = representation.encode_keeping_dc(samples)
    return image[..., offset:offset + last - first], dc[..., offset:offset + last - first]


def decode_frames(representation, image, first, n_samples, dc=None):
    """Waveform of frames [first, first + W) from sample first * hop: W - 1 hops long, or up to the
    file's end (n_samples) when the image holds the file's last frame. dc: complex (..., W), a DC bin
    to synthesise with the image (the inverse chain's own is zero)."""
    if first + image.shape[-1] == 1 + n_samples // HOP_LENGTH:
        length = n_samples - HOP_LENGTH * first
    else:
        length = HOP_LENGTH * (image.shape[-1] - 1)
    return representation.decode(image, length=length, dc=dc)


def known_frames(overlap_frames):
    """Frames at the start of a chunk taken as known from the previous chunk: the overlap's first half."""
    return overlap_frames // 2


def fade_start(first, overlap_frames):
    """First sample of the cross-fade into the chunk starting at frame `first`: mid known part."""
    return HOP_LENGTH * first + HOP_LENGTH * known_frames(overlap_frames) // 2 - FADE_SAMPLES // 2


def paste(out, wave, offset, fade_from=None):
    """Writes wave (C, n) into out (C, N) at sample `offset`; from sample `fade_from` on, over
    FADE_SAMPLES, it fades in linearly over what out holds (weights sum to one); before that nothing."""
    wave = np.asarray(wave, dtype=out.dtype)
    end = min(offset + wave.shape[-1], out.shape[-1])
    wave = wave[..., :end - offset]
    if fade_from is None:
        out[..., offset:end] = wave
        return
    fade_end = min(fade_from + FADE_SAMPLES, end)
    ramp = (np.arange(fade_end - fade_from, dtype=out.dtype) + 0.5) / FADE_SAMPLES
    local = slice(fade_from - offset, fade_end - offset)
    out[..., fade_from:fade_end] = out[..., fade_from:fade_end] * (1 - ramp) + wave[..., local] * ramp
    out[..., fade_end:end] = wave[..., fade_end - offset:]

