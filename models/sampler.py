"""Bridge sampler (docs/DESIGN.md, "Sampler"), k-diffusion style: the schedule is separate from the network.

The caller supplies a denoiser `predict_x0(x_t, t) -> x0_hat` (models/denoiser.py, or the inference ensemble
with its windowing), where expert choice and windowing live.
"""
import torch
from tqdm import tqdm

from models.bridge import posterior_step, sigma_sb


def _check_times(times):
    times = [float(t) for t in times]
    if len(times) < 2:
        raise ValueError(f"sample_bridge: need at least 2 time points, got {len(times)}")
    if times[0] != 1.0:
        raise ValueError(f"sample_bridge: times must start at 1.0 (the sampler starts from x1), got {times[0]}")
    if any(t_next >= t for t, t_next in zip(times, times[1:])) or times[-1] < 0:
        raise ValueError("sample_bridge: times must decrease strictly and stay >= 0")
    return times


@torch.no_grad()
def sample_bridge(predict_x0, x1, mask, times, beta_max=1.0, ode=False, generator=None, noise_fn=None,
                  progress=False, callback=None):
    """Runs the bridge from x1 (t = times[0] = 1) towards the clean image; returns the last x0_hat.

    n time points give n - 1 updates t -> t', each one network call at t:
      x0_hat = predict_x0(x_t, t), then the known part is pasted in: M x0_hat + (1 - M) x1;
      x_t' = posterior_step(x0_hat, x_t, t, t'), then the known part is re-noised to its marginal at t':
      x_t' = (1 - M)(x1 + sigma_sb(t') noise) + M x_t' (no noise for ODE).
    The network never sees the last time point; the final posterior step would only feed a call that
    does not happen, so it is skipped.
    One noise draw serves both the posterior step (where M = 1) and the re-noising (where M = 0): for a
    binary mask the two regions are disjoint, so this equals two independent draws in distribution.
    Noise comes from `noise_fn(like)` if given, else torch.randn with `generator` (same generator state
    => bit-identical result). Only the current state is held, so memory does not grow with the steps.
    `mask` is binary and broadcasts to x1, e.g. (B, 1, H, W), (1, 1, H, 1) or (1, 1, 1, W).
    `callback`, as in k-diffusion, is called once per update with {"x": x_t, "i": i, "t": t, "denoised": x0_hat}
    (x0_hat with the known part pasted in), for progress or pictures of the trajectory. The tensors are the
    sampler's own and never change afterwards; nothing is kept for the callback unless it keeps them.
    """
    times = _check_times(times)
    if generator is not None and noise_fn is not None:
        raise ValueError("sample_bridge: give either a generator or a noise_fn, not both")
    try:
        fits = torch.broadcast_shapes(mask.shape, x1.shape) == x1.shape
    except RuntimeError:
        fits = False
    if not fits:
        raise ValueError(f"sample_bridge: mask {tuple(mask.shape)} does not broadcast to x1 {tuple(x1.shape)}")
    mask = mask.to(device=x1.device, dtype=x1.dtype)
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError("sample_bridge: the mask must hold only 0 and 1")

    def draw_noise():
        if noise_fn is not None:
            return noise_fn(x1)
        return torch.randn(x1.shape, generator=generator, device=x1.device, dtype=x1.dtype)

    x_t = x1
    x0_hat = None
    steps = list(zip(times[:-1], times[1:]))
    for i, (t, t_next) in enumerate(tqdm(steps, desc="sampling", disable=not progress)):
        x0_hat = predict_x0(x_t, t)
        if x0_hat.shape != x1.shape:
            raise ValueError(f"sample_bridge: predict_x0 returned {tuple(x0_hat.shape)}, expected {tuple(x1.shape)}")
        x0_hat = torch.lerp(x1, x0_hat.to(x1.dtype), mask)
        if callback is not None:
            callback({"x": x_t, "i": i, "t": t, "denoised": x0_hat})
        if i < len(steps) - 1:
            noise = None if ode else draw_noise()
            x_t = posterior_step(x0_hat, x_t, t, t_next, beta_max, ode=ode, noise=noise)
            if ode:
                x_t = torch.lerp(x1, x_t, mask)
            else:  # the re-noised known part is a new image: the masked state is pasted into it in place
                x_t = torch.add(x1, noise, alpha=sigma_sb(t_next, beta_max)).lerp_(x_t, mask)
    return x0_hat
