"""A bridge network seen as a denoiser, in the manner of k-diffusion's model wrappers: `denoiser(x_t, t) -> x0`.

The network predicts the scaled noise (x_t - x0) / sigma_fwd(t) (docs/DESIGN.md, equation (6)). Training,
validation and the restoration engine all turn that into an x0 estimate, and training into a loss, through this
one class. It is a plain object, not a module: it only points at a network and a time embedding owned elsewhere,
so the owners' checkpoint keys (`vf_model.*`, `t_to_emb.multipliers`) stay those of the released layout.
"""
import contextlib

import torch

from models import bridge


class Denoiser:
    """network(x_t, emb(t)) -> x0 estimates and the masked regression loss.

    t is one python float for the whole batch (sampling) or a (B,) tensor (training). `autocast` is a context
    manager factory wrapped around the network call only (bf16 inference); inputs are laid out in
    `memory_format` before it.
    """

    def __init__(self, network, time_embedding, beta_max=1.0, autocast=contextlib.nullcontext,
                 memory_format=torch.contiguous_format):
        self.network = network
        self.time_embedding = time_embedding
        self.beta_max = float(beta_max)
        self.autocast = autocast
        self.memory_format = memory_format

    def network_output(self, x_t, t):
        if torch.is_tensor(t):
            emb = self.time_embedding(t)
        else:  # one row, built on the embedding's device (no host-device copy), shared by the batch
            device = self.time_embedding.multipliers.device
            emb = self.time_embedding(torch.full((1,), float(t), device=device)).expand(x_t.shape[0], -1)
        with self.autocast():
            return self.network(x_t.contiguous(memory_format=self.memory_format), emb)

    def __call__(self, x_t, t):
        """x0 estimates for images x_t (B, 3, H, W) at time t, in x_t's dtype."""
        t = t if torch.is_tensor(t) else float(t)
        return bridge.predict_x0(x_t, self.network_output(x_t, t), t, self.beta_max)

    def loss(self, x0, x1, t, loss_mask, noise=None):
        """Mean squared error of the network on the bridge between x0 and x1 at times t (B,), over the
        entries where loss_mask (broadcastable to x0) is 1 (docs/DESIGN.md, equations (1), (5), (6))."""
        x_t = bridge.sample_marginal(x0, x1, t, self.beta_max, noise=noise)
        target = bridge.network_target(x_t, x0, t, self.beta_max)
        pred = self.network_output(x_t, t)
        loss_mask = loss_mask.expand_as(pred)
        return (loss_mask * (pred.float() - target) ** 2).sum() / loss_mask.sum().clamp_min(1.0)
