"""The ensemble of bridge networks used at inference: one UNet per time range, split at `t_cutoffs`; the
ensemble is the denoiser of the sampler, by the expert in charge of each time."""
import contextlib
import copy

import torch
from torch import nn

from inference.compiling import FixedBatch
from models import bridge
from models.denoiser import Denoiser
from models.unet import UNet
from models.unet_weights import load_into, load_unet_weights


def expert_index(t, t_cutoffs):
    """Index of the expert whose time range holds t: the number of cut points <= t."""
    return sum(1 for cut in t_cutoffs if cut <= t)


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
        self.compiled = []  # a plain list, not submodules: the checkpoint keys stay those of the experts
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

    @property
    def memory_format(self):
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def compile_experts(self, batch, **options):
        """From now on each expert runs through torch.compile(expert, **options), always at `batch` windows
        (compiling.FixedBatch); the graphs are built lazily, on each expert's first call."""
        self.compiled = [FixedBatch(torch.compile(expert, **options), batch, self.memory_format)
                         for expert in self.experts]

    def denoiser(self, t):
        """The expert in charge of t as a Denoiser: images (b, 3, H, W) -> x0 predictions in their dtype
        (float32 under bf16 too)."""
        index = expert_index(t, self.t_cutoffs)
        network = self.compiled[index] if self.compiled else self.experts[index]
        device = self.t_to_emb.multipliers.device
        return Denoiser(network, self.t_to_emb, self.beta_max, autocast=lambda: self.autocast(device),
                        memory_format=self.memory_format)

    def expert_times(self):
        """One time in each expert's range (the middle of it), to call every expert once."""
        bounds = [0.0, *self.t_cutoffs, 1.0]
        return [(a + b) / 2 for a, b in zip(bounds, bounds[1:])]

    def forward(self, x_t, t):
        return self.denoiser(t)(x_t, t)
