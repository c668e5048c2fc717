import math
import weakref

import pytest
import torch

from inference.ensemble import expert_index
from models.bridge import time_grid
from models.sampler import sample_bridge


def fwd_var(t):
    return t ** 3 / 3 if t <= 0.5 else 1 / 12 - (1 - t) ** 3 / 3


def images(seed=0, shape=(2, 3, 16, 8)):
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(shape, generator=g)
    mask = (torch.arange(shape[-1]) >= shape[-1] // 2).float().reshape(1, 1, 1, -1)
    x1 = x0 * (1 - mask) + mask * 0.5 * torch.randn(shape, generator=g)
    return x0, x1, mask


def test_expert_index():
    assert [expert_index(t, [0.5]) for t in (1.0, 0.5, 0.4999, 0.05)] == [1, 1, 0, 0]
    assert [expert_index(t, []) for t in (1.0, 0.5, 0.0)] == [0, 0, 0]
    assert [expert_index(t, [0.3, 0.6]) for t in (0.1, 0.3, 0.59, 0.6, 1.0)] == [0, 1, 1, 2, 2]


@pytest.mark.parametrize("ode", [False, True])
def test_oracle_restores_masked_region(ode):
    x0, x1, mask = images()
    calls = []

    def oracle(x_t, t):
        calls.append(t)
        return x0

    times = time_grid(7)
    out = sample_bridge(oracle, x1, mask, times, ode=ode, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[..., 4:], x0[..., 4:])
    assert torch.equal(out[..., :4], x1[..., :4])
    assert calls == pytest.approx(times[:-1].tolist(), abs=0)  # n points -> n - 1 calls, never at the last


def test_ode_recurrence_by_hand():
    # predict_x0 = x_t / 2 with a full mask; the ODE step is x' = a x0_hat + b x with a, b from the
    # Gaussian product of N(., fwd(t')) and N(., fwd(t) - fwd(t')).
    times = [1.0, 0.7, 0.4, 0.1]
    x1 = torch.full((1, 3, 4, 4), 0.8, dtype=torch.float64)
    out = sample_bridge(lambda x, t: x / 2, x1, torch.ones(1, 1, 1, 1, dtype=torch.float64), times, ode=True)
    x = 0.8
    for t, t_next in zip(times[:-2], times[1:-1]):  # every update but the last moves the state
        v1, v2 = fwd_var(t_next), fwd_var(t) - fwd_var(t_next)
        x = v2 / (v1 + v2) * (x / 2) + v1 / (v1 + v2) * x
    expected = torch.full_like(x1, x / 2)  # x0_hat made at times[-2]
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)


def test_sde_recurrence_by_hand():
    # noise_fn gives ones, so each region follows a scalar recurrence.
    times = [1.0, 0.6, 0.3]
    x1 = torch.tensor([[[[0.4, -0.2]]]], dtype=torch.float64)
    mask = torch.tensor([[[[1.0, 0.0]]]], dtype=torch.float64)
    seen = []

    def halve(x_t, t):
        seen.append(x_t.clone())
        return x_t / 2

    out = sample_bridge(halve, x1, mask, times, noise_fn=torch.ones_like)
    v1, v2 = fwd_var(0.6), fwd_var(1.0) - fwd_var(0.6)
    masked = v2 / (v1 + v2) * 0.2 + v1 / (v1 + v2) * 0.4 + math.sqrt(v1 * v2 / (v1 + v2))
    rev = fwd_var(0.4)
    known = -0.2 + math.sqrt(v1 * rev / (v1 + rev))  # x1 + sigma_sb(0.6) noise
    torch.testing.assert_close(seen[1], torch.tensor([[[[masked, known]]]], dtype=torch.float64))
    torch.testing.assert_close(out, torch.tensor([[[[masked / 2, -0.2]]]], dtype=torch.float64))


def test_seed_reproducibility_and_ode_determinism():
    x0, x1, mask = images(1)

    def net(x_t, t):
        return 0.9 * x_t + 0.1 * torch.sin(3 * x_t) * t

    run = lambda seed, ode=False: sample_bridge(net, x1, mask, time_grid(6), ode=ode,
                                                generator=torch.Generator().manual_seed(seed))
    assert torch.equal(run(5), run(5))
    assert not torch.allclose(run(5), run(6))
    assert torch.equal(run(5, ode=True), run(6, ode=True))
    assert not torch.allclose(run(5), run(5, ode=True))


def test_memory_does_not_grow():
    # While the network runs, no earlier state may still be alive (x1, the start state, is the caller's).
    _, x1, mask = images(2)
    refs, alive_during_calls = [], []

    def net(x_t, t):
        alive_during_calls.append(sum(ref() is not None for ref in refs[1:]))
        refs.append(weakref.ref(x_t))
        return x_t * 0.5

    sample_bridge(net, x1, mask, time_grid(10), generator=torch.Generator().manual_seed(0))
    assert refs[0]() is x1
    assert alive_during_calls == [0] * 9


@pytest.mark.parametrize("ode", [False, True])
def test_callback_sees_every_update_and_changes_nothing(ode):
    _, x1, mask = images(4)
    times = time_grid(5)
    seen = []

    def run(callback=None):
        return sample_bridge(lambda x, t: x * 0.5 + t, x1, mask, times, ode=ode, callback=callback,
                             generator=torch.Generator().manual_seed(0))

    out = run(seen.append)
    assert torch.equal(out, run())
    assert [step["i"] for step in seen] == [0, 1, 2, 3] and [step["t"] for step in seen] == times[:-1].tolist()
    assert seen[0]["x"] is x1 and seen[-1]["denoised"] is out
    for step in seen:
        assert set(step) == {"x", "i", "t", "denoised"}
        assert torch.equal(step["denoised"], torch.lerp(x1, step["x"] * 0.5 + step["t"], mask))


def test_progress_bar(capsys):
    _, x1, mask = images(3)
    sample_bridge(lambda x, t: x, x1, mask, time_grid(4), progress=True)
    assert "3/3" in capsys.readouterr().err


def test_bad_arguments():
    _, x1, mask = images(4)
    with pytest.raises(ValueError, match="start at 1.0"):
        sample_bridge(lambda x, t: x, x1, mask, [0.9, 0.5])
    with pytest.raises(ValueError, match="decrease strictly"):
        sample_bridge(lambda x, t: x, x1, mask, [1.0, 0.5, 0.6])
    with pytest.raises(ValueError, match="only 0 and 1"):
        sample_bridge(lambda x, t: x, x1, mask * 0.5, [1.0, 0.5])
    with pytest.raises(ValueError, match="does not broadcast"):
        sample_bridge(lambda x, t: x, x1, torch.ones(1, 1, 5, 1), [1.0, 0.5])
    with pytest.raises(ValueError, match="predict_x0 returned"):
        sample_bridge(lambda x, t: x[0], x1, mask, [1.0, 0.5])
