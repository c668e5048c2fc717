"""MultiDiffusion over long images: windows of W frames every H frames, outputs averaged (docs/DESIGN.md,
"MultiDiffusion").

Windows sit on a regular grid (starts 0, H, 2H, ...) and H must divide W, so every window is made of
W / H whole blocks of H frames. An image whose length is off the grid is extended at its end by a mirror
image of its last frames (the extension's outputs are dropped). Window outputs are summed per (item,
block) with `index_add_`: inside one call no (item, block) pair repeats, so every sum takes one addend
per call in a fixed order and is bit-reproducible on CUDA as well as on the CPU.

Which windows go into which network call depends on the shapes only, so a sampler builds the plan once
(`plan_windows`) and every step reuses it: the steps then run no python loop per window and move no
index to the device.
"""
import math
from typing import NamedTuple, Optional

import torch


class WindowPlan(NamedTuple):
    """Index tensors (on the image's device) for one image shape; see plan_windows."""
    n_items: int
    n_frames: int
    window: int
    hop: int
    tail: Optional[torch.Tensor]  # frames mirrored after the image up to the grid length; None when on the grid
    calls: list  # per network call: items (b,), windows (b,), their first blocks' rows in the sums (b,)
    count: torch.Tensor  # (n_blocks, 1): windows summed into each block, at least 1
    uncovered: Optional[torch.Tensor]  # frames below n_frames that no computed window covers; None if none


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
    active = extend(torch.as_tensor(active, dtype=torch.bool).cpu(), length)
    return torch.nonzero(active.unfold(0, window, hop).any(dim=1)).flatten()


def plan_windows(n_items, n_frames, window, hop, batch_size, active=None, device="cpu"):
    """The windows of `multidiffusion` for images (n_items, 3, H, n_frames), grouped into network calls of
    at most batch_size (item, window) pairs, window-major so that a call holds neighbouring windows of
    every item."""
    check_window(window, hop)
    if batch_size < 1:
        raise ValueError(f"windows: the window batch must be at least 1, got {batch_size}")
    length = grid_length(n_frames, window, hop)
    blocks_per_window, n_blocks = window // hop, length // hop
    windows = active_windows(active, n_frames, window, hop)
    pair_window = windows.repeat_interleave(n_items)
    pair_item = torch.arange(n_items).repeat(len(windows))
    pair_row = pair_item * n_blocks + pair_window  # window k starts at block k
    calls = [tuple(pairs[i:i + batch_size].to(device) for pairs in (pair_item, pair_window, pair_row))
             for i in range(0, len(pair_item), batch_size)]
    count = torch.zeros(n_blocks)
    for offset in range(blocks_per_window):
        count[windows + offset] += 1
    frame_count = count.repeat_interleave(hop)[:n_frames]
    uncovered = torch.nonzero(frame_count == 0).flatten()
    return WindowPlan(n_items, n_frames, window, hop,
                      tail=mirror_index(n_frames, length)[n_frames:].to(device) if length > n_frames else None,
                      calls=calls, count=count.clamp_min(1).reshape(n_blocks, 1).to(device),
                      uncovered=uncovered.to(device) if len(uncovered) else None)


def multidiffusion(denoise, x, window, hop, batch_size, active=None, plan=None):
    """Per-frame mean of `denoise` over the windows covering each frame.

    denoise: images (b, 3, H, window) -> (b, 3, H, window), called with at most batch_size images.
    x: (B, 3, H, T). Every batch item is windowed separately; (item, window) pairs are the unit of batching.
    active: optional bool (T,) flags; windows without an active frame are skipped, and frames that no
    computed window covers are returned as they are in x.
    plan: plan_windows(B, T, window, hop, batch_size, active, x.device), to reuse over many calls (its
    batches and active windows then apply).
    """
    if plan is None:
        plan = plan_windows(x.shape[0], x.shape[-1], window, hop, batch_size, active, x.device)
    elif (plan.n_items, plan.n_frames, plan.window, plan.hop) != (x.shape[0], x.shape[-1], window, hop):
        raise ValueError(f"windows: the plan is for {plan.n_items} x {plan.n_frames} frames in windows of "
                         f"{plan.window} every {plan.hop}, got {x.shape[0]} x {x.shape[-1]} frames in windows "
                         f"of {window} every {hop}")
    n_items, channels, height, n_frames = x.shape
    blocks_per_window = window // hop
    x_grid = x if plan.tail is None else torch.cat((x, x.index_select(-1, plan.tail)), dim=-1)
    views = x_grid.unfold(-1, window, hop)  # (B, 3, H, n_windows, window), no copy
    n_blocks = x_grid.shape[-1] // hop

    # (item, block) pairs flattened into the leading dim: each index adds one (3, H, hop) block.
    sums = x.new_zeros(n_items * n_blocks, channels, height, hop)
    for item, win, first_row in plan.calls:
        out = denoise(views[item, :, :, win]).reshape(len(item), channels, height, blocks_per_window, hop)
        for offset in range(blocks_per_window):
            sums.index_add_(0, first_row + offset, out[..., offset, :])

    blocks = sums.view(n_items, n_blocks, channels, height, hop).permute(0, 2, 3, 1, 4)
    mean = x.new_empty(n_items, channels, height, n_blocks, hop)
    torch.div(blocks, plan.count, out=mean)  # back to the image layout in the same pass
    mean = mean.view(n_items, channels, height, n_blocks * hop)
    if plan.uncovered is not None:
        mean.index_copy_(-1, plan.uncovered, x.index_select(-1, plan.uncovered))
    return mean[..., :n_frames]
