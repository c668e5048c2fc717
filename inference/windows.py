"""MultiDiffusion over long images (spec section 5): windows of W frames every H frames, outputs averaged.

Windows sit on a regular grid (starts 0, H, 2H, ...) and H must divide W, so every window is made of
W / H whole blocks of H frames. An image whose length is off the grid is extended at its end by a mirror
image of its last frames (the extension's outputs are dropped). Window outputs are summed per block
with `index_put_`: inside one call no (item, block) pair repeats, so the sum is bit-reproducible on CUDA
as well as on the CPU.
"""
import math

import torch


def check_window(window, hop):
    """Raises a ValueError unless hop divides window."""
    if window < 1 or hop < 1 or window % hop:
        raise ValueError(f"windows: the hop ({hop} frames) must divide the window ({window} frames)")


def grid_length(n_frames, window, hop):
    """Frames covered by the smallest window grid that covers n_frames: window + k hop."""
    return window + hop * max(0, math.ceil((n_frames - window) / hop))


def mirror_index(n_frames, length):
    """Indices 0..n-1 followed by a mirror extension (n-2, n-3, ... bouncing) up to `length` entries."""
    index = torch.arange(length)
    if n_frames == 1:
        return torch.zeros_like(index)
    period = 2 * (n_frames - 1)
    index = index % period
    return torch.where(index < n_frames, index, period - index)


def extend(x, length):
    """x [..., T] mirrored at its end to `length` frames (x itself when it is long enough)."""
    n_frames = x.shape[-1]
    if length <= n_frames:
        return x
    return x.index_select(-1, mirror_index(n_frames, length).to(x.device))


def active_windows(active, n_frames, window, hop):
    """Indices of the grid windows holding at least one active frame (every window when active is None)."""
    length = grid_length(n_frames, window, hop)
    if active is None:
        return torch.arange((length - window) // hop + 1)
    active = extend(torch.as_tensor(active, dtype=torch.bool), length)
    return torch.nonzero(active.unfold(0, window, hop).any(dim=1)).flatten()


def multidiffusion(denoise, x, window, hop, batch_size, active=None):
    """Per-frame mean of `denoise` over the windows covering each frame.

    denoise: images (b, 3, H, window) -> (b, 3, H, window), called with at most batch_size images.
    x: (B, 3, H, T). Every batch item is windowed separately; (item, window) pairs are the unit of batching.
    active: optional bool (T,) flags; windows without an active frame are skipped, and frames that no
    computed window covers are returned as they are in x.
    """
    check_window(window, hop)
    if batch_size < 1:
        raise ValueError(f"windows: the window batch must be at least 1, got {batch_size}")
    n_items, n_frames = x.shape[0], x.shape[-1]
    length = grid_length(n_frames, window, hop)
    blocks_per_window, n_blocks = window // hop, length // hop
    x_grid = extend(x, length)
    views = x_grid.unfold(-1, window, hop)  # (B, 3, H, n_windows, window), no copy

    windows = active_windows(active, n_frames, window, hop)
    # Pairs ordered window-major so a batch holds neighbouring windows of every item.
    pair_window = windows.repeat_interleave(n_items).to(x.device)
    pair_item = torch.arange(n_items, device=x.device).repeat(len(windows))

    total = x.new_zeros(n_items, n_blocks, x.shape[1], x.shape[2], hop)
    for first in range(0, len(pair_item), batch_size):
        item = pair_item[first:first + batch_size]
        win = pair_window[first:first + batch_size]
        out = denoise(views[item, :, :, win])
        out = out.reshape(len(item), x.shape[1], x.shape[2], blocks_per_window, hop)
        for offset in range(blocks_per_window):
            total.index_put_((item, win + offset), out[..., offset, :], accumulate=True)

    covering = torch.zeros(n_blocks, dtype=x.dtype, device=x.device)
    for offset in range(blocks_per_window):
        covering[windows.to(x.device) + offset] += 1
    grid_blocks = x_grid.reshape(*x.shape[:3], n_blocks, hop).permute(0, 3, 1, 2, 4)
    covered = (covering > 0).reshape(1, n_blocks, 1, 1, 1)
    mean = torch.where(covered, total / covering.clamp_min(1).reshape(1, n_blocks, 1, 1, 1), grid_blocks)
    return mean.permute(0, 2, 3, 1, 4).reshape(*x.shape[:3], length)[..., :n_frames]
