"""The Schrodinger bridge between clean (t = 0) and degraded (t = 1) images (docs/DESIGN.md, equations (2)-(7)).

Pure functions over tensors. A time `t` is a python float or a tensor; a tensor of shape (B,) is
broadcast over the remaining dims of the images it scales. Schedule functions return the type of t.
The images, noise and network outputs of one call share a dtype (predict_x0 also takes a bf16 net_out).
Times are validated here when that costs no wait: python floats and CPU tensors. Checking the values of
a tensor on an accelerator would stall the host until the device catches up, on every call, so callers
that pass such tensors (training) make them valid where they are drawn.
"""
import math

import torch
from torch import nn


def _check_times(t, where):
    if torch.is_tensor(t):
        if not t.is_floating_point() or (t.device.type == "cpu" and not bool(((t >= 0) & (t <= 1)).all())):
            raise ValueError(f"{where}: times must be floats in [0, 1]")
    elif not 0.0 <= float(t) <= 1.0:
        raise ValueError(f"{where}: time {t} is outside [0, 1]")


def _sqrt(x):
    return x.clamp_min(0).sqrt() if torch.is_tensor(x) else math.sqrt(max(x, 0.0))


def _piecewise(t, early, late):
    """early(t) for t <= 0.5, late(t) above; works for floats and tensors alike."""
    if torch.is_tensor(t):
        return torch.where(t <= 0.5, early(t), late(t))
    return early(t) if t <= 0.5 else late(t)


def _scaled_sum(a, x, b, y):
    """a x + b y; with python float coefficients in two passes over the images (one new image)."""
    if torch.is_tensor(a) or torch.is_tensor(b):
        return _like(a, x) * x + _like(b, x) * y
    return (x * a).add_(y, alpha=b)


def _like(coef, x):
    """Shapes a schedule value so that it scales the image batch x."""
    if not torch.is_tensor(coef):
        return coef
    coef = coef.to(device=x.device, dtype=x.dtype)
    if coef.dim() == 1:
        coef = coef.reshape(-1, *([1] * (x.dim() - 1)))
    return coef


def beta(t, beta_max=1.0):
    """Diffusion rate: beta_max t^2 up to t = 0.5, beta_max (1 - t)^2 after (symmetric)."""
    return beta_max * _piecewise(t, lambda u: u ** 2, lambda u: (1 - u) ** 2)


def _var_fwd(t, beta_max):
    """Integral of beta from 0 to t."""
    if beta_max <= 0:
        raise ValueError(f"bridge: beta_max must be positive, got {beta_max}")
    _check_times(t, "bridge")
    return beta_max * _piecewise(t, lambda u: u ** 3 / 3, lambda u: 1 / 12 - (1 - u) ** 3 / 3)


def sigma_fwd(t, beta_max=1.0):
    """Std accumulated from the clean end: sqrt(int_0^t beta)."""
    return _sqrt(_var_fwd(t, beta_max))


def sigma_rev(t, beta_max=1.0):
    """Std accumulated from the degraded end: sigma_fwd(1 - t)."""
    return sigma_fwd(1 - t, beta_max)


def gaussian_product_coef(s1, s2):
    """N(x0, s1^2) * N(x1, s2^2) is proportional to N(a x0 + b x1, var); returns (a, b, var)."""
    v1, v2 = s1 ** 2, s2 ** 2
    total = v1 + v2
    return v2 / total, v1 / total, v1 * v2 / total


def sigma_sb(t, beta_max=1.0):
    """Std of the bridge marginal q(x_t | x0, x1)."""
    _, _, var = gaussian_product_coef(sigma_fwd(t, beta_max), sigma_rev(t, beta_max))
    return _sqrt(var)


def sample_marginal(x0, x1, t, beta_max=1.0, ode=False, noise=None):
    """x_t ~ q(x_t | x0, x1); the OT-ODE variant returns the mean."""
    a, b, var = gaussian_product_coef(sigma_fwd(t, beta_max), sigma_rev(t, beta_max))
    x_t = _scaled_sum(a, x0, b, x1)
    if ode:
        return x_t
    if noise is None:
        noise = torch.randn_like(x0)
    return x_t + _like(_sqrt(var), x0) * noise


def network_target(x_t, x0, t, beta_max=1.0):
    """What the network learns to output: (x_t - x0) / sigma_fwd(t); t must be > 0."""
    return (x_t - x0) / _like(sigma_fwd(t, beta_max), x_t)


def predict_x0(x_t, net_out, t, beta_max=1.0):
    """Inverse of network_target: x0 = x_t - sigma_fwd(t) net_out (in x_t's dtype when net_out is bf16)."""
    sigma = sigma_fwd(t, beta_max)
    if torch.is_tensor(sigma):
        return x_t - _like(sigma, x_t) * net_out
    return torch.add(x_t, net_out, alpha=-sigma)


def posterior_step(x0_hat, x_t, t, t_next, beta_max=1.0, ode=False, noise=None):
    """One step t -> t_next < t of p(x_t_next | x0_hat, x_t); no noise for ODE (none is needed at 0)."""
    var_next = _var_fwd(t_next, beta_max)
    var_gap = _var_fwd(t, beta_max) - var_next
    if _any_at_most_zero(var_gap):
        raise ValueError("posterior_step: t_next must be smaller than t")
    a, b, var = gaussian_product_coef(_sqrt(var_next), _sqrt(var_gap))
    x_next = _scaled_sum(a, x0_hat, b, x_t)
    if ode:
        return x_next
    if noise is None:
        noise = torch.randn_like(x_t)
    if torch.is_tensor(var):
        return x_next + _like(_sqrt(var), x_t) * noise
    return x_next.add_(noise, alpha=_sqrt(var))  # x_next is this function's own tensor


def _any_at_most_zero(value):
    """value <= 0 anywhere; like _check_times, tensors off the CPU are not inspected (no device wait)."""
    if not torch.is_tensor(value):
        return value <= 0
    return value.device.type == "cpu" and bool((value <= 0).any())


def check_steps(n, name="time_grid"):
    """The one rule for a number of sampling time points: the sampler needs a start and an end."""
    if isinstance(n, bool) or int(n) != n or n < 2:
        raise ValueError(f"{name}: the number of sampling time points must be an integer of at least 2 "
                         f"(a start and an end), got {n}")
    return int(n)


def time_grid(n, t_end=0.05):
    """n sampling times from 1 down to t_end (n - 1 updates), float64."""
    n = check_steps(n)
    if not 0.0 <= t_end < 1.0:
        raise ValueError(f"time_grid: t_end must be in [0, 1), got {t_end}")
    return torch.linspace(1.0, t_end, n, dtype=torch.float64)


class TimeEmbedding(nn.Module):
    """t [B] -> [B, 2K] = [sin(k t), cos(k t)] over K multipliers k (released: 64 in [0.5, 16])."""

    def __init__(self, num_multipliers=64, min_multiplier=0.5, max_multiplier=16.0):
        super().__init__()
        # Persistent: released checkpoints store it as `t_to_emb.multipliers`.
        self.register_buffer("multipliers", torch.linspace(min_multiplier, max_multiplier, num_multipliers))

    def forward(self, t):
        t = torch.as_tensor(t, dtype=self.multipliers.dtype, device=self.multipliers.device).reshape(-1)
        angles = t[:, None] * self.multipliers[None, :]
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
