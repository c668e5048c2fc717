"""The shipped small model (`--model small`): it loads with no download, restores a fixed generated input as it did
when it was shipped (scripts/ship_small.py wrote the reference), and the tools take it by name."""
import os

import numpy as np
import pytest
import soundfile as sf
import torch

from inference import released
from inference.engine import Restorer
from inference.evaluate import lsd, magnitude
from models.unet import UNet
from models.unet_weights import CheckpointError, save_unet_safetensors
from scripts.ship_small import REFERENCE, expert_network, reference_input, reference_restoration

# Machines of this kind differ (AVX-512 or not, NNPACK's or oneDNN's convolutions), and so does float rounding
# through the sampler's steps. Measured on one machine, Winograd convolutions on against off: LSD 0.0003 and a
# largest difference of 2e-5 of full scale. These bounds leave room for other CPUs and catch any real change
# (another checkpoint, config, sampler or representation moves the LSD by more than 0.3).
MAX_LSD = 0.02
MAX_DIFFERENCE = 2e-3


@pytest.fixture(scope="module")
def small():
    return Restorer.from_config("small", device="cpu")


def test_shipped_weights_are_in_the_repository_and_small():
    paths = released.model_files("small")
    assert all(os.path.isfile(path) and path.startswith(released.REPO_ROOT) for path in paths)
    assert sum(os.path.getsize(path) for path in paths) <= 30 * 2**20  # all experts together
    assert not set(paths) & released.released_names()  # nothing to fetch
    assert os.path.isfile(os.path.join(os.path.dirname(paths[0]), "PROVENANCE.md"))


@pytest.mark.parametrize("winograd", [True, False])
def test_restores_the_reference_within_cpu_tolerance(small, winograd):
    for expert in small.ensemble.experts:
        expert.set_winograd(winograd)
    restored = reference_restoration(small)
    reference = np.load(REFERENCE)["restored"]
    assert restored.shape == reference.shape == reference_input().shape
    assert np.max(np.abs(restored - reference)) < MAX_DIFFERENCE
    assert lsd(magnitude(restored) + 1e-6, magnitude(reference) + 1e-6) < MAX_LSD


def test_upsample_tool_restores_with_model_small(tmp_path, capsys):
    from inference.A2SB_upsample_api import main

    source, target = tmp_path / "in.wav", tmp_path / "out.wav"
    audio = reference_input()
    sf.write(source, audio, 44100, subtype="PCM_16")
    assert main(["-f", str(source), "-o", str(target), "--model", "small", "--cutoff", "4000", "-n", "3", "-q"]) == 0
    restored, rate = sf.read(target)
    assert rate == 44100 and restored.shape == audio.shape
    assert "small_sampling.yaml" in capsys.readouterr().out


def test_an_expert_trained_without_frequency_attention_ships_as_the_same_network(tmp_path):
    """A checkpoint of the network without frequency attention (small.yaml's, where both experts start): shipped
    in the sampling config's network, it computes exactly what it did; a checkpoint of another network still fails
    in one line."""
    network = dict(hidden_channels=[32, 64, 128, 128], attention_levels=[2], num_heads=2, input_skip=True)
    torch.manual_seed(0)
    plain = UNet(**network).eval()
    for parameter in plain.parameters():  # no zero-initialised layer left, so a partial load would show
        torch.nn.init.normal_(parameter, std=0.05)
    path = tmp_path / "plain.safetensors"
    save_unet_safetensors(plain, path)
    extended = expert_network(dict(network, freq_attention_levels=[1, 2]), str(path)).eval()
    assert extended.extension_modules()
    x, emb = torch.randn(1, 3, 64, 16), torch.randn(1, 128)
    with torch.no_grad():
        assert torch.equal(extended(x, emb), plain(x, emb))
    with pytest.raises(CheckpointError, match="weights do not fit UNet"):
        expert_network(dict(network, hidden_channels=[32, 64, 128, 256], freq_attention_levels=[1]), str(path))
