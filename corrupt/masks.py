"""Degradation masks over the (bins x frames) image (docs/DESIGN.md, "Degradations").

A mask is 1 where audio is regenerated and 0 where it is kept. Full masks are float tensors of shape
(B, 1, H, W) that broadcast over the three channels. The compact forms `band_column` (1, 1, H, 1) and
`frame_row` (1, 1, 1, W) broadcast the same way and let inference avoid full-size masks.
Row r of the image is STFT bin r + 1 (DC dropped), and with H rows the STFT size is n_fft = 2 H.
"""
import math

import torch

from audiokit.constants import N_FFT, SAMPLE_RATE

TRAIN_GAP_FRACTIONS = (0.03378, 0.5404)  # 0.1 s to 1.6 s of a 256-frame segment
VALID_GAP_FRACTION = 0.1013  # 0.3 s
TRAIN_CUTOFF_HZ = (2000.0, 16000.0)
MIN_EXTENSION_MARGIN = 32  # frames kept away from either edge by an extension boundary
MASK_KINDS = ("bandwidth", "inpainting", "extension")


def cutoff_bin(freq_hz, sr=SAMPLE_RATE, n_fft=N_FFT):
    """Row index from which a cutoff at freq_hz masks: int(n_fft f / sr)."""
    if freq_hz < 0:
        raise ValueError(f"cutoff_bin: frequency must be non-negative, got {freq_hz}")
    return int(n_fft * freq_hz / sr)


def gap_frame_count(width, fraction):
    """Inpainting gap width in whole frames: fraction * width rounded half up, at least 1."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"gap_frame_count: fraction must be in (0, 1], got {fraction}")
    return min(width, max(1, math.floor(fraction * width + 0.5)))


def band_column(height, cutoff_bin):
    """(1, 1, H, 1) float mask with rows >= cutoff_bin set to 1."""
    return (torch.arange(height) >= cutoff_bin).float().reshape(1, 1, height, 1)


def frame_row(frame_flags):
    """(1, 1, 1, W) float mask from per-frame flags (true = regenerate)."""
    flags = torch.as_tensor(frame_flags)
    if flags.dim() != 1:
        raise ValueError(f"frame_row: expected one flag per frame, got shape {tuple(flags.shape)}")
    return flags.float().reshape(1, 1, 1, -1)


def _full(compact, height, width):
    return compact.expand(compact.shape[0], 1, height, width).contiguous()


def bandwidth_mask(height, width, cutoff_bin):
    """(1, 1, H, W): every frame regenerated from row `cutoff_bin` up."""
    return _full(band_column(height, cutoff_bin), height, width)


def inpainting_mask(height, width, start, gap):
    """(1, 1, H, W): frames [start, start + gap) regenerated."""
    if start < 0 or gap < 1 or start + gap > width:
        raise ValueError(f"inpainting_mask: gap [{start}, {start + gap}) does not fit in {width} frames")
    frames = torch.arange(width)
    return _full(frame_row((frames >= start) & (frames < start + gap)), height, width)


def validation_inpainting_mask(height, width, fraction=VALID_GAP_FRACTION):
    """(1, 1, H, W): one centred gap of `fraction` of the frames (26 of 256 by default)."""
    gap = gap_frame_count(width, fraction)
    return inpainting_mask(height, width, (width - gap) // 2, gap)


def extension_mask(height, width, boundary, side="right"):
    """(1, 1, H, W): frames right of (>= boundary) or left of (< boundary) regenerated."""
    if side not in ("right", "left"):
        raise ValueError(f"extension_mask: side must be 'right' or 'left', got {side!r}")
    if not 0 < boundary < width:
        raise ValueError(f"extension_mask: boundary {boundary} must lie inside 1..{width - 1}")
    frames = torch.arange(width)
    flags = frames >= boundary if side == "right" else frames < boundary
    return _full(frame_row(flags), height, width)


def random_degradation_mask(batch, height, width, probs=(0.5, 0.5, 0.0), generator=None):
    """(B, 1, H, W): per sample one of (bandwidth, inpainting, extension) drawn with `probs`.

    Bandwidth: cutoff row uniform in [int(2H 2000 / sr), int(2H 16000 / sr)) (at least one wide).
    Inpainting: gap fraction uniform in TRAIN_GAP_FRACTIONS, start uniform over the valid positions.
    Extension: boundary uniform in [32, W - 32], side left or right with probability 1/2.
    All draws are made for every sample (then selected), so a generator gives a reproducible mask.
    """
    probs = torch.as_tensor(probs, dtype=torch.float64)
    if probs.shape != (len(MASK_KINDS),) or bool((probs < 0).any()) or float(probs.sum()) <= 0:
        raise ValueError(f"random_degradation_mask: probs must be 3 non-negative weights, got {probs.tolist()}")
    if probs[2] > 0 and width < 2 * MIN_EXTENSION_MARGIN + 1:
        raise ValueError(f"random_degradation_mask: extension masks need more than {2 * MIN_EXTENSION_MARGIN} frames")
    kind = torch.multinomial(probs, batch, replacement=True, generator=generator)

    n_fft = 2 * height
    low = cutoff_bin(TRAIN_CUTOFF_HZ[0], n_fft=n_fft)
    high = max(cutoff_bin(TRAIN_CUTOFF_HZ[1], n_fft=n_fft), low + 1)
    cutoff = torch.randint(low, high, (batch,), generator=generator)

    lo_frac, hi_frac = TRAIN_GAP_FRACTIONS
    fraction = lo_frac + (hi_frac - lo_frac) * torch.rand(batch, generator=generator, dtype=torch.float64)
    gap = torch.floor(fraction * width + 0.5).long().clamp(1, width)
    start = (torch.rand(batch, generator=generator, dtype=torch.float64) * (width - gap + 1)).long()

    boundary = torch.randint(MIN_EXTENSION_MARGIN, max(width - MIN_EXTENSION_MARGIN, MIN_EXTENSION_MARGIN) + 1,
                             (batch,), generator=generator)
    right = torch.rand(batch, generator=generator) < 0.5

    masks = []
    for i, k in enumerate(kind.tolist()):
        if MASK_KINDS[k] == "bandwidth":
            masks.append(bandwidth_mask(height, width, int(cutoff[i])))
        elif MASK_KINDS[k] == "inpainting":
            masks.append(inpainting_mask(height, width, int(start[i]), int(gap[i])))
        else:
            masks.append(extension_mask(height, width, int(boundary[i]), "right" if right[i] else "left"))
    return torch.cat(masks)


def true_band_mask(max_bin, height, width):
    """Loss mask: 1 on rows below max_bin, 0 from max_bin up; int -> (1, 1, H, W), (B,) -> (B, 1, H, W)."""
    max_bin = torch.as_tensor(max_bin).reshape(-1, 1, 1, 1)
    rows = torch.arange(height, device=max_bin.device).reshape(1, 1, height, 1)
    return (rows < max_bin).float().expand(-1, 1, height, width).contiguous()
