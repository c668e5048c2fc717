"""The ensemble of bridge networks used at inference: one UNet per time range, split at `t_cutoffs`."""
import contextlib

import torch
from torch import nn

from inference.sampler import expert_index
from models import bridge
from models.checkpoint import load_into, load_unet_weights
from models.unet import UNet


def check_cutoffs(t_cutoffs, n_checkpoints, where="Restorer"):
    """Cut points must increase strictly inside (0, 1) and give one expert per checkpoint."""
    t_cutoffs = [float(t) for t in t_cutoffs]
    if any(not 0.0 < t < 1.0 for t in t_cutoffs) or any(b <= a for a, b in zip(t_cutoffs, t_cutoffs[1:])):
        raise ValueError(f"{where}: t_cutoffs must increase strictly inside (0, 1), got {t_cutoffs}")
    if n_checkpoints != len(t_cutoffs) + 1:
        raise ValueError(f"{where}: {len(t_cutoffs)} cut point(s) {t_cutoffs} need {len(t_cutoffs) + 1} "
                         f"checkpoint(s), one per time range in increasing t; got {n_checkpoints}")
    return t_cutoffs


class Ensemble(nn.Module):
    """UNet experts (expert i serves the times with i cut points <= t) and the shared time embedding."""

    def __init__(self, network, checkpoints, t_cutoffs, beta_max=1.0, bf16=False):
        super().__init__()
        self.t_cutoffs = check_cutoffs(t_cutoffs, len(checkpoints))
        self.beta_max = float(beta_max)
        self.bf16 = bf16
        self.experts = nn.ModuleList(self._load(network, path) for path in checkpoints)
        self.t_to_emb = bridge.TimeEmbedding()
        self.eval().requires_grad_(False)

    @staticmethod
    def _load(network, path):
        try:
            net = UNet(**network)
        except TypeError as error:
            raise ValueError(f"network settings do not fit models.unet.UNet: {error}") from None
        load_into(net, load_unet_weights(path), path)
        return net

    @property
    def levels(self):
        return self.experts[0].levels

    def autocast(self, device):
        """bf16 autocast on CUDA when asked for; a no-op elsewhere."""
        if self.bf16 and device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def denoiser(self, t):
        """images (b, 3, H, W) at time t -> x0 predictions, by the expert in charge of t."""
        net = self.experts[expert_index(t, self.t_cutoffs)]
        device = next(net.parameters()).device
        t_emb = self.t_to_emb(torch.tensor([float(t)], device=device))

        def predict(x):
            with self.autocast(device):
                out = net(x, t_emb.expand(x.shape[0], -1))
            return bridge.predict_x0(x, out.float(), float(t), self.beta_max)

        return predict
