import math

import pytest
import torch

from corrupt.degrade import degrade
from corrupt.masks import (band_column, bandwidth_mask, cutoff_bin, extension_mask, frame_row, gap_frame_count,
                           inpainting_mask, random_degradation_mask, true_band_mask, validation_inpainting_mask)


def masked_frames(mask):
    """Per sample, the frames that are masked on every row (bool [B, W])."""
    return mask[:, 0].bool().all(dim=1)


def test_cutoff_bins():
    # 2048 * f / 44100: 92.88, 185.76, 743.04
    assert cutoff_bin(2000) == 92
    assert cutoff_bin(4000) == 185
    assert cutoff_bin(16000) == 743
    mask = bandwidth_mask(1024, 8, cutoff_bin(4000))
    assert mask.shape == (1, 1, 1024, 8) and mask.dtype == torch.float32
    assert mask[0, 0, :185].sum() == 0 and bool((mask[0, 0, 185:] == 1).all())
    assert torch.equal(band_column(1024, 185).expand(1, 1, 1024, 8), mask)


def test_gap_rounding():
    # Half-up rounding of fraction * 256: 8.648 -> 9, 138.34 -> 138, 25.93 -> 26.
    assert gap_frame_count(256, 0.03378) == 9
    assert gap_frame_count(256, 0.5404) == 138
    assert gap_frame_count(256, 0.1013) == 26
    assert gap_frame_count(256, 0.5 / 256) == 1


def test_validation_mask_centred():
    mask = validation_inpainting_mask(16, 256)
    frames = masked_frames(mask)[0].nonzero().flatten().tolist()
    assert frames == list(range(115, 141))  # 26 frames, 115 kept on each side
    assert bool((mask[0, 0, :, 115:141] == 1).all()) and mask.sum() == 26 * 16


def test_inpainting_and_extension_masks():
    mask = inpainting_mask(4, 10, 3, 2)
    assert mask[0, 0, 0].tolist() == [0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    assert extension_mask(4, 6, 2)[0, 0, 1].tolist() == [0, 0, 1, 1, 1, 1]
    assert extension_mask(4, 6, 2, side="left")[0, 0, 1].tolist() == [1, 1, 0, 0, 0, 0]
    with pytest.raises(ValueError, match="does not fit"):
        inpainting_mask(4, 10, 9, 2)


def test_random_inpainting_widths():
    masks = random_degradation_mask(3000, 4, 256, probs=(0.0, 1.0, 0.0), generator=torch.Generator().manual_seed(0))
    frames = masked_frames(masks)
    assert torch.equal(masks[:, 0].bool(), frames[:, None, :].expand(-1, 4, -1))  # whole frames only
    widths = frames.sum(dim=1)
    assert widths.min() >= 9 and widths.max() <= 138
    assert widths.min() <= 10 and widths.max() >= 137
    assert widths.float().mean().item() == pytest.approx((0.03378 + 0.5404) / 2 * 256, rel=0.03)
    first = frames.float().argmax(dim=1)
    last = 255 - frames.flip(1).float().argmax(dim=1)
    assert torch.equal(last - first + 1, widths)  # one contiguous gap
    assert first.min() == 0 and last.max() == 255  # starts reach both ends


def test_random_bandwidth_cutoffs():
    masks = random_degradation_mask(10000, 1024, 1, probs=(1.0, 0.0, 0.0), generator=torch.Generator().manual_seed(1))
    first_row = 1024 - masks[:, 0, :, 0].sum(dim=1)
    assert torch.equal(masks[:, 0, :, 0], (torch.arange(1024) >= first_row[:, None]).float())
    assert first_row.min() == 92 and first_row.max() == 742  # [92, 743), upper end exclusive
    assert first_row.mean().item() == pytest.approx((92 + 742) / 2, abs=8)


def test_mix_proportions_and_reproducibility():
    masks = random_degradation_mask(4000, 16, 256, generator=torch.Generator().manual_seed(2))
    # Rows start at 1 for bandwidth draws when H = 16 (n_fft 32), so row 0 is masked only by gaps.
    is_gap = masks[:, 0, 0].sum(dim=1) > 0
    assert is_gap.float().mean().item() == pytest.approx(0.5, abs=5 * math.sqrt(0.25 / 4000))
    assert bool((masks[~is_gap, 0, :, 0] == masks[~is_gap, 0, :, -1]).all())  # bandwidth: same every frame
    again = random_degradation_mask(4000, 16, 256, generator=torch.Generator().manual_seed(2))
    assert torch.equal(masks, again)


def test_random_extension():
    masks = random_degradation_mask(2000, 2, 256, probs=(0, 0, 1), generator=torch.Generator().manual_seed(3))
    frames = masked_frames(masks)
    widths = frames.sum(dim=1)
    assert widths.min() >= 32 and widths.max() <= 224
    right = frames[:, -1]
    assert bool((frames[:, 0] ^ right).all())  # touches exactly one edge
    assert 0.4 < right.float().mean().item() < 0.6


def test_true_band_mask():
    # A file whose true rate is 32 kHz has content up to row int(2048 * 16000 / 44100) = 743.
    mask = true_band_mask(torch.tensor([1024, cutoff_bin(16000)]), 1024, 3)
    assert mask.shape == (2, 1, 1024, 3)
    assert bool((mask[0] == 1).all())
    assert mask[1, 0, :, 0].sum() == 743 and mask[1, 0, 742, 2] == 1 and mask[1, 0, 743, 2] == 0
    assert true_band_mask(500, 1024, 2).shape == (1, 1, 1024, 2)


def test_degrade_statistics():
    g = torch.Generator().manual_seed(4)
    x0 = torch.full((4, 3, 128, 128), 2.0)
    mask = frame_row(torch.arange(128) >= 64)
    x1 = degrade(x0, mask, generator=g)
    assert torch.equal(x1[..., :64], x0[..., :64])
    noise_part = x1[..., 64:].double()
    n = noise_part.numel()
    assert noise_part.mean().item() == pytest.approx(0.0, abs=5 * 0.5 / math.sqrt(n))
    assert noise_part.std().item() == pytest.approx(0.5, rel=5 * math.sqrt(0.5 / n))
    noise = torch.randn(x0.shape, generator=g)
    assert torch.equal(degrade(x0, mask, noise)[..., 64:], 0.5 * noise[..., 64:])
    assert torch.equal(degrade(x0, mask, generator=torch.Generator().manual_seed(4)), x1)
    with pytest.raises(ValueError, match="does not broadcast"):
        degrade(x0, torch.ones(1, 1, 100, 128))
