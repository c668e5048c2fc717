"""Builds the degraded image x1 from a clean image and a mask (docs/DESIGN.md, equation (1))."""
import torch

NOISE_SCALE = 0.5


def degrade(x0, mask, noise=None, generator=None):
    """x1 = x0 (1 - M) + M 0.5 N(0, 1) on all channels; `noise` (shaped like x0) overrides the draw."""
    try:
        shape = torch.broadcast_shapes(x0.shape, mask.shape)
    except RuntimeError:
        raise ValueError(f"degrade: mask {tuple(mask.shape)} does not broadcast to image {tuple(x0.shape)}") from None
    if shape != x0.shape:
        raise ValueError(f"degrade: mask {tuple(mask.shape)} would enlarge image {tuple(x0.shape)}")
    if noise is None:
        noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    elif noise.shape != x0.shape:
        raise ValueError(f"degrade: noise {tuple(noise.shape)} must match image {tuple(x0.shape)}")
    mask = mask.to(device=x0.device, dtype=x0.dtype)
    return torch.lerp(x0, NOISE_SCALE * noise, mask)
