"""The ensemble of bridge networks used at inference: one UNet per time range, split at `t_cutoffs`."""
import contextlib
import copy

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
    """UNet experts (expert i serves the times with i cut points <= t) and the shared time embedding.

    bf16: the experts run under bfloat16 autocast on whatever device holds them (the Restorer asks for it on
    CUDA only); their outputs, and all arithmetic around them, stay float32.
    channels_last: the experts and their inputs in channels_last memory format (the Restorer asks for it
    on CUDA only, where convolutions can be faster that way; the values are the same to float rounding).
    """

    def __init__(self, network, checkpoints, t_cutoffs, beta_max=1.0, bf16=False, channels_last=False):
        super().__init__()
        self.t_cutoffs = check_cutoffs(t_cutoffs, len(checkpoints))
        self.beta_max = float(beta_max)
        self.bf16 = bool(bf16)
        self.channels_last = bool(channels_last)
        self.experts = nn.ModuleList(self._load(network, path) for path in checkpoints)
        if self.channels_last:
            self.experts.to(memory_format=torch.channels_last)
        self.t_to_emb = bridge.TimeEmbedding()
        self.eval().requires_grad_(False)

    @staticmethod
    def _load(network, path):
        if isinstance(path, nn.Module):  # a network in memory: a copy, so that eval mode and moves stay here
            return copy.deepcopy(path)
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
        """bf16 autocast on `device` when asked for; a no-op otherwise."""
        if self.bf16:
            return torch.autocast(device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def denoiser(self, t):
        """images (b, 3, H, W) at time t -> x0 predictions in their dtype (float32 under bf16 too), by the
        expert in charge of t."""
        net = self.experts[expert_index(t, self.t_cutoffs)]
        device = self.t_to_emb.multipliers.device
        t_emb = self.t_to_emb(torch.full((1,), float(t), device=device))  # built on the device: no copy
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format

        def predict(x):
            with self.autocast(device):
                out = net(x.contiguous(memory_format=memory_format), t_emb.expand(x.shape[0], -1))
            return bridge.predict_x0(x, out, float(t), self.beta_max)

        return predict
