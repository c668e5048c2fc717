"""MultiDiffusion windows (inference/windows.py) against a plain loop over windows in numpy."""
import numpy as np
import pytest
import torch

from inference.windows import (active_windows, check_window, grid_length, mirror_index, multidiffusion,
                               plan_windows)


def window_mean(x):
    """A denoiser whose output depends on the whole window: every frame becomes the window's mean."""
    return x.mean(dim=-1, keepdim=True).expand_as(x) + 0.0


def reference(x, window, hop, denoise_np):
    """Per-frame mean over a regular window grid on the mirror-extended image, by explicit loops."""
    n = x.shape[-1]
    length = window if n <= window else window + hop * int(np.ceil((n - window) / hop))
    period = 2 * (n - 1)
    ext = [i % period if i % period < n else period - i % period for i in range(length)]
    xe = x[..., ext]
    total, count = np.zeros_like(xe), np.zeros(length)
    for start in range(0, length - window + 1, hop):
        total[..., start:start + window] += denoise_np(xe[..., start:start + window])
        count[start:start + window] += 1
    return (total / count)[..., :n]


def test_mirror_index_bounces_at_the_ends():
    assert mirror_index(4, 11).tolist() == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2]
    assert mirror_index(1, 3).tolist() == [0, 0, 0]
    assert grid_length(100, 32, 16) == 112 and grid_length(96, 32, 16) == 96 and grid_length(20, 32, 16) == 32


@pytest.mark.parametrize("n_frames", [20, 96, 100])
def test_matches_a_loop_over_windows_for_any_batch(n_frames):
    x = torch.randn(2, 3, 8, n_frames, generator=torch.Generator().manual_seed(n_frames), dtype=torch.float64)
    expected = reference(x.numpy(), 32, 16, lambda w: np.broadcast_to(w.mean(-1, keepdims=True), w.shape))
    results = [multidiffusion(window_mean, x, 32, 16, batch) for batch in (1, 3, 64)]
    np.testing.assert_allclose(results[0].numpy(), expected, rtol=1e-12, atol=1e-12)
    assert all(torch.equal(results[0], other) for other in results[1:])


def test_pointwise_denoiser_passes_through_exactly():
    x = torch.randn(1, 3, 8, 77, generator=torch.Generator().manual_seed(0))
    out = multidiffusion(lambda w: 2 * w + 1, x, 32, 8, 5)
    torch.testing.assert_close(out, 2 * x + 1, rtol=0, atol=1e-6)


def test_batches_never_exceed_the_window_batch():
    sizes = []

    def record(w):
        sizes.append(w.shape[0])
        return w

    multidiffusion(record, torch.zeros(3, 3, 8, 100), 32, 16, 4)
    assert max(sizes) == 4 and sum(sizes) == 3 * 6  # 3 items x 6 windows (grid of 112 frames)


def test_inactive_windows_are_skipped_and_frames_left_alone():
    x = torch.randn(1, 3, 8, 128, generator=torch.Generator().manual_seed(1))
    active = torch.zeros(128, dtype=torch.bool)
    active[40:44] = True  # inside windows starting at 16 and 32 only
    calls = []

    def record(w):
        calls.append(w.shape[0])
        return window_mean(w)

    out = multidiffusion(record, x, 32, 16, 8, active)
    assert active_windows(active, 128, 32, 16).tolist() == [1, 2] and sum(calls) == 2
    full = multidiffusion(window_mean, x, 32, 16, 8)
    torch.testing.assert_close(out[..., 40:44], full[..., 40:44], rtol=0, atol=1e-6)
    assert torch.equal(out[..., 64:], x[..., 64:]) and torch.equal(out[..., :16], x[..., :16])


def test_hop_must_divide_the_window():
    with pytest.raises(ValueError, match="must divide"):
        check_window(256, 96)
    with pytest.raises(ValueError, match="must divide"):
        multidiffusion(window_mean, torch.zeros(1, 3, 8, 64), 32, 12, 4)


def test_one_plan_serves_every_step():
    active = torch.zeros(100, dtype=torch.bool)
    active[10:20] = True
    active[90:] = True
    plan = plan_windows(2, 100, 32, 16, 3, active)
    # Grid of 112 frames: windows 0 and 1 hold frames 10..19, windows 4 and 5 frames 90..99; 2 items each.
    assert [(item.tolist(), win.tolist()) for item, win, _ in plan.calls] == [
        ([0, 1, 0], [0, 0, 1]), ([1, 0, 1], [1, 4, 4]), ([0, 1], [5, 5])]
    assert plan.tail.tolist() == list(range(98, 86, -1))  # frames 100..111 mirror 98..87
    assert plan.uncovered.tolist() == list(range(48, 64))  # blocks 3 (48..63): no computed window
    for seed in range(3):
        x = torch.randn(2, 3, 8, 100, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(multidiffusion(window_mean, x, 32, 16, 3, active, plan=plan),
                           multidiffusion(window_mean, x, 32, 16, 3, active))
    with pytest.raises(ValueError, match="plan is for 2 x 100 frames"):
        multidiffusion(window_mean, torch.zeros(2, 3, 8, 96), 32, 16, 3, plan=plan)
