import math

import numpy as np
import pytest
import scipy.integrate
import torch

from models.bridge import (TimeEmbedding, beta, gaussian_product_coef, network_target, posterior_step,
                           predict_x0, sample_marginal, sigma_fwd, sigma_rev, sigma_sb, time_grid)

TIMES = [0.0, 0.25, 0.5, 0.75, 1.0]
# Closed forms with beta_max = 1: sigma_fwd^2 = t^3/3 up to 1/2, 1/12 - (1-t)^3/3 after.
FWD_VAR = [0.0, 1 / 192, 1 / 24, 1 / 12 - 1 / 192, 1 / 12]
REV_VAR = FWD_VAR[::-1]
# sigma_sb^2 = fwd rev / (fwd + rev) and fwd + rev = 1/12 everywhere.
SB_VAR = [0.0, 12 * (1 / 192) * (5 / 64), 12 / 24 ** 2, 12 * (1 / 192) * (5 / 64), 0.0]


def fwd_var_by_hand(t):
    return t ** 3 / 3 if t <= 0.5 else 1 / 12 - (1 - t) ** 3 / 3


@pytest.mark.parametrize("i", range(5))
def test_sigmas_closed_form(i):
    t = TIMES[i]
    assert sigma_fwd(t) ** 2 == pytest.approx(FWD_VAR[i], abs=1e-15)
    assert sigma_rev(t) ** 2 == pytest.approx(REV_VAR[i], abs=1e-15)
    assert sigma_sb(t) ** 2 == pytest.approx(SB_VAR[i], abs=1e-15)
    assert sigma_fwd(t, beta_max=2.0) ** 2 == pytest.approx(2 * FWD_VAR[i], abs=1e-15)


def test_tensor_times_match_floats():
    t = torch.tensor(TIMES, dtype=torch.float64)
    np.testing.assert_allclose(sigma_fwd(t).numpy() ** 2, FWD_VAR, atol=1e-15)
    np.testing.assert_allclose(sigma_rev(t).numpy() ** 2, REV_VAR, atol=1e-15)
    np.testing.assert_allclose(sigma_sb(t).numpy() ** 2, SB_VAR, atol=1e-15)
    np.testing.assert_allclose(beta(t).numpy(), [0, 1 / 16, 1 / 4, 1 / 16, 0], atol=1e-15)


def test_symmetry():
    for t in np.linspace(0, 1, 41):
        assert sigma_rev(t) == pytest.approx(sigma_fwd(1 - t), abs=1e-15)
        assert beta(t) == pytest.approx(beta(1 - t), abs=1e-15)


def test_sigma_fwd_integrates_beta():
    for t in [0.1, 0.3, 0.5, 0.6, 0.9, 1.0]:
        integral, _ = scipy.integrate.quad(lambda u: beta(u, beta_max=1.5), 0, t, points=[0.5])
        assert sigma_fwd(t, beta_max=1.5) ** 2 == pytest.approx(integral, rel=1e-10)


def test_gaussian_product_against_densities():
    grid = np.linspace(-10, 10, 200001)
    s1, s2, m1, m2 = 0.7, 1.3, 0.4, -1.1
    density = np.exp(-(grid - m1) ** 2 / (2 * s1 ** 2) - (grid - m2) ** 2 / (2 * s2 ** 2))
    density /= density.sum()
    mean = (grid * density).sum()
    var = ((grid - mean) ** 2 * density).sum()
    a, b, v = gaussian_product_coef(s1, s2)
    assert a * m1 + b * m2 == pytest.approx(mean, abs=1e-9)
    assert v == pytest.approx(var, rel=1e-6)


def test_marginal_statistics():
    n = 200_000
    t = torch.tensor([0.1, 0.3, 0.5, 0.8])
    x0 = torch.tensor([1.0, -0.5, 2.0, 0.0]).reshape(4, 1).expand(4, n)
    x1 = torch.tensor([-2.0, 0.5, 0.0, 3.0]).reshape(4, 1).expand(4, n)
    noise = torch.randn(4, n, generator=torch.Generator().manual_seed(0))
    x_t = sample_marginal(x0, x1, t, noise=noise).double()
    for i, ti in enumerate(t.tolist()):
        fwd, rev = fwd_var_by_hand(ti), fwd_var_by_hand(1 - ti)
        mean = (rev * x0[i, 0] + fwd * x1[i, 0]) / (fwd + rev)
        var = fwd * rev / (fwd + rev)
        assert x_t[i].mean().item() == pytest.approx(mean.item(), abs=6 * math.sqrt(var / n))
        assert x_t[i].var().item() == pytest.approx(var, rel=6 * math.sqrt(2 / n))


def test_marginal_default_noise_and_ode():
    torch.manual_seed(0)
    x0, x1 = torch.full((100_000,), 1.0), torch.full((100_000,), -1.0)
    x_t = sample_marginal(x0, x1, 0.25)
    mean = (5 / 64 * 1 - 1 / 192) / (1 / 12)  # (rev x0 + fwd x1) / (fwd + rev)
    assert x_t.mean().item() == pytest.approx(mean, abs=3e-3)
    assert x_t.std().item() == pytest.approx(math.sqrt(5 / 1024), rel=0.02)
    np.testing.assert_allclose(sample_marginal(x0, x1, 0.25, ode=True).numpy(), mean, rtol=1e-6)
    assert torch.equal(sample_marginal(x0, x1, 0.0), x0)
    assert torch.equal(sample_marginal(x0, x1, 1.0), x1)


def test_posterior_step_coefficients():
    x0_hat, x_t, noise = torch.full((2, 3, 4, 4), 3.0), torch.full((2, 3, 4, 4), -1.0), torch.ones(2, 3, 4, 4)
    # t = 0.8 -> 0.6: sigma_fwd^2 = 121/1500 and 93/1500, gap 28/1500.
    a, b, var = 28 / 121, 93 / 121, (93 / 1500) * (28 / 1500) / (121 / 1500)
    out = posterior_step(x0_hat, x_t, 0.8, 0.6, ode=True)
    np.testing.assert_allclose(out.numpy(), 3 * a - b, rtol=1e-6)
    out = posterior_step(x0_hat, x_t, 0.8, 0.6, noise=noise)
    np.testing.assert_allclose(out.numpy(), 3 * a - b + math.sqrt(var), rtol=1e-6)
    # t = 0.4 -> 0.2: sigma_fwd^2 = 64/3000 and 8/3000, gap 56/3000.
    out = posterior_step(x0_hat, x_t, torch.tensor([0.4, 0.4]), torch.tensor([0.2, 0.2]), noise=noise)
    np.testing.assert_allclose(out.numpy(), 3 * 7 / 8 - 1 / 8 + math.sqrt(7 / 3000), rtol=1e-6)
    # Stepping to 0 lands on x0_hat whatever the noise.
    assert torch.equal(posterior_step(x0_hat, x_t, 0.3, 0.0, noise=noise), x0_hat)
    with pytest.raises(ValueError, match="t_next must be smaller"):
        posterior_step(x0_hat, x_t, 0.3, 0.3)


def test_predict_x0_inverts_target():
    g = torch.Generator().manual_seed(1)
    x0, x_t = torch.randn(3, 3, 8, 8, generator=g), torch.randn(3, 3, 8, 8, generator=g)
    t = torch.tensor([0.05, 0.5, 0.9])
    target = network_target(x_t, x0, t)
    np.testing.assert_allclose(target[1].numpy(), ((x_t[1] - x0[1]) / math.sqrt(1 / 24)).numpy(), rtol=1e-5)
    torch.testing.assert_close(predict_x0(x_t, target, t), x0, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(predict_x0(x_t[1], target[1], 0.5), x0[1], atol=1e-5, rtol=1e-5)


def test_time_embedding_values():
    emb = TimeEmbedding()
    assert list(emb.state_dict()) == ["multipliers"]
    t = [0.0, 0.3, 0.77, 1.0]
    out = emb(torch.tensor(t))
    assert out.shape == (4, 128)
    for row, ti in enumerate(t):
        for i in range(64):
            k = 0.5 + i * 15.5 / 63
            assert out[row, i].item() == pytest.approx(math.sin(k * ti), abs=1e-6)
            assert out[row, 64 + i].item() == pytest.approx(math.cos(k * ti), abs=1e-6)


def test_time_grid():
    grid = time_grid(50)
    assert grid.shape == (50,)
    assert grid[0].item() == 1.0 and grid[-1].item() == pytest.approx(0.05, abs=1e-15)
    np.testing.assert_allclose(np.diff(grid.numpy()), -0.95 / 49, rtol=1e-12)
    with pytest.raises(ValueError):
        time_grid(1)


def test_bad_times():
    with pytest.raises(ValueError, match="outside"):
        sigma_fwd(1.5)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        sigma_fwd(torch.tensor([0.2, -0.1]))


def test_device_tensors_are_not_inspected():
    # Meta tensors hold no values: reading one raises, as reading a CUDA tensor would wait for the device.
    t = torch.tensor([0.2, 0.5], device="meta")
    x = torch.zeros(2, 3, 4, 4, device="meta")
    with pytest.raises(RuntimeError):
        bool((t > 0).all())
    assert sigma_fwd(t).device.type == "meta" and sigma_sb(t).shape == (2,)
    assert posterior_step(x, x, t, t / 2, noise=x).shape == x.shape
    assert predict_x0(x, x, t).shape == x.shape and sample_marginal(x, x, t, noise=x).device.type == "meta"
