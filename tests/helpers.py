"""Builders shared by the test files: tiny UNets, the tiny two-expert model the CLI tests restore with, and
band-energy measures of restored audio.

Checkpoints in the released layout are written by models.checkpoint.save_released_layout (benchmarks use it too).
"""
import os

import numpy as np
import torch
import yaml

from datasets.constants import SAMPLE_RATE
from models.checkpoint import save_released_layout
from models.unet import UNet

# The smallest UNet the engine runs at full height: 3 levels, no attention.
TINY_NETWORK = {"hidden_channels": [32, 32, 32, 64], "attention_levels": [], "num_res_blocks": 1, "num_heads": 1,
                "dropout": 0.0}
# 3 levels with attention at level 2 (128 channels, 2 heads of 64) and in the middle.
TINY_ATTENTION_NETWORK = dict(hidden_channels=[32, 64, 128, 128], attention_levels=[2], num_heads=2)


def seeded_unet(seed=0, network=TINY_NETWORK, std=None):
    """A UNet built right after torch.manual_seed(seed). With `std`, every parameter (the zero-initialised convs
    too) is redrawn from N(0, std^2), so that experts differ and depend on t, and a wrong or partial load changes
    the output."""
    torch.manual_seed(seed)
    net = UNet(**network)
    if std is not None:
        with torch.no_grad():
            for parameter in net.parameters():
                parameter.normal_(0, std)
    return net


def tiny_model(folder):
    """Writes two freshly initialised experts (released layout) and a sampling config in the format of
    configs/ensemble_*_sampling.yaml; returns (config, [ckpt, ckpt])."""
    checkpoints = []
    for i in range(2):
        path = os.path.join(folder, f"expert{i}.ckpt")
        save_released_layout(seeded_unet(i), path)
        checkpoints.append(path)
    # windows of 64 frames without overlap keep each call to a few UNet windows on the CPU
    config = {"network": TINY_NETWORK, "t_cutoffs": [0.5], "window_frames": 64, "hop_frames": 64,
              "window_batch": 4}
    config_path = os.path.join(folder, "tiny_sampling.yaml")
    with open(config_path, "w") as f:
        yaml.safe_dump(config, f)
    return config_path, checkpoints


def band_energy(audio, low_hz, high_hz):
    """Energy of mono audio between two frequencies (FFT of the whole Hann-windowed signal, so the
    abrupt start and end of the file do not leak into every band)."""
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)))) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)
    return spectrum[(freqs >= low_hz) & (freqs < high_hz)].sum()


def kept_band_error(restored, reference, below_hz):
    """Relative energy of the difference below `below_hz`: 0 when the kept band is untouched."""
    return band_energy(restored - reference, 0, below_hz) / band_energy(reference, 0, below_hz)
