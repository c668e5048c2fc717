import argparse

import pytest
import torch
from safetensors.torch import save_file

from helpers import TINY_ATTENTION_NETWORK as TINY
from helpers import seeded_unet
from models.unet import UNet
from models.unet_weights import (CheckpointError, load_into, load_unet_weights, save_released_layout,
                               save_unet_safetensors)

# What Lightning stores next to the weights; the loader must skip it.
LIGHTNING_ENTRIES = {"epoch": 3, "global_step": 12000, "optimizer_states": [], "lr_schedulers": [],
                     "pytorch-lightning_version": "2.x"}


def trained_tiny_unet(seed=0, **overrides):
    """A tiny UNet with every parameter random, so a wrong or partial load changes the output."""
    return seeded_unet(seed, {**TINY, **overrides}, std=0.05).eval()


def outputs(model):
    generator = torch.Generator().manual_seed(1)
    x, t_emb = torch.randn(1, 3, 16, 24, generator=generator), torch.randn(1, 128, generator=generator)
    with torch.no_grad():
        return model(x, t_emb)


@pytest.mark.parametrize("prefix", ["vf_model.", "vf_model._orig_mod."])
def test_lightning_checkpoint_loads_strictly_with_identical_outputs(tmp_path, prefix):
    source = trained_tiny_unet()
    path = tmp_path / "released.ckpt"
    save_released_layout(source, path, prefix, **LIGHTNING_ENTRIES)
    weights = load_unet_weights(path)
    assert "t_to_emb.multipliers" not in weights
    assert weights.keys() == source.state_dict().keys()
    fresh = UNet(**TINY).eval()
    assert not torch.equal(outputs(fresh), outputs(source))
    load_into(fresh, weights, path)
    assert torch.equal(outputs(fresh), outputs(source))


def test_truncated_checkpoint_names_the_file(tmp_path):
    path = tmp_path / "full.ckpt"
    save_released_layout(trained_tiny_unet(), path, **LIGHTNING_ENTRIES)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 100):
        truncated = tmp_path / f"cut_{cut}.ckpt"
        truncated.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=rf"{truncated}: truncated or corrupt"):
            load_unet_weights(truncated)


def test_non_checkpoint_files_name_the_file(tmp_path):
    text = tmp_path / "notes.ckpt"
    text.write_text("epoch 3, loss 0.1\n" * 20)
    with pytest.raises(CheckpointError, match=rf"{text}: not a PyTorch checkpoint"):
        load_unet_weights(text)
    tensor_only = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor_only)
    with pytest.raises(CheckpointError, match=rf"{tensor_only}: neither a Lightning checkpoint"):
        load_unet_weights(tensor_only)
    other_model = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"model.weight": torch.zeros(2)}}, other_model)
    with pytest.raises(CheckpointError, match=rf"{other_model}: .*no 'vf_model\.\*'.*model\.weight"):
        load_unet_weights(other_model)
    with pytest.raises(CheckpointError, match=r"missing\.ckpt: no such checkpoint file"):
        load_unet_weights(tmp_path / "missing.ckpt")


def test_pickled_objects_are_refused_with_conversion_advice(tmp_path):
    path = tmp_path / "with_objects.ckpt"
    save_released_layout(trained_tiny_unet(), path, hyper_parameters=argparse.Namespace(lr=8e-5))
    with pytest.raises(CheckpointError, match=r"argparse\.Namespace.*weights_only=False.*with_objects\.weights\.ckpt"):
        load_unet_weights(path)


def test_wrong_architecture_names_missing_unexpected_and_mismatched_keys(tmp_path):
    path = tmp_path / "wide.ckpt"
    # Wider last level and attention at level 1 instead of 2.
    save_released_layout(trained_tiny_unet(hidden_channels=[32, 128, 128, 256], attention_levels=[1]), path,
                         **LIGHTNING_ENTRIES)
    model = UNet(**TINY)
    before = {key: value.clone() for key, value in model.state_dict().items()}
    with pytest.raises(CheckpointError) as error:
        load_into(model, load_unet_weights(path), path)
    message = str(error.value)
    assert message.startswith(f"{path}: weights do not fit UNet")
    assert "76 missing (e.g. dec_blocks.0.1.gnorm.bias, " in message
    assert "76 unexpected (e.g. dec_blocks.0.1.emb_layers.1.bias, " in message
    assert "77 shape mismatches (e.g. dec_blocks.0.0.emb_layers.1.bias (512,) vs model (256,), " in message
    # Nothing was loaded partially.
    assert all(torch.equal(before[key], value) for key, value in model.state_dict().items())


def test_safetensors_round_trip_with_and_without_prefix(tmp_path):
    source = trained_tiny_unet()
    path = tmp_path / "unet.safetensors"
    save_unet_safetensors(source, path)
    assert [p.name for p in tmp_path.iterdir()] == ["unet.safetensors"]  # no temp file left behind
    fresh = UNet(**TINY).eval()
    load_into(fresh, load_unet_weights(path), path)
    assert torch.equal(outputs(fresh), outputs(source))

    prefixed = tmp_path / "prefixed.weights"  # detected by content, not by suffix
    save_file({"vf_model." + k: v.contiguous() for k, v in source.state_dict().items()}, prefixed)
    fresh = UNet(**TINY).eval()
    load_into(fresh, load_unet_weights(prefixed), prefixed)
    assert torch.equal(outputs(fresh), outputs(source))


def test_bfloat16_safetensors_hold_the_rounded_weights_in_half_the_size(tmp_path):
    source = trained_tiny_unet()
    full, half = tmp_path / "full.safetensors", tmp_path / "half.safetensors"
    save_unet_safetensors(source, full)
    save_unet_safetensors(source, half, dtype=torch.bfloat16)
    assert abs(half.stat().st_size / full.stat().st_size - 0.5) < 0.05
    stored = load_unet_weights(half)
    assert {value.dtype for value in stored.values()} == {torch.bfloat16}
    fresh = UNet(**TINY).eval()
    load_into(fresh, stored, half)  # a float32 model takes them, cast back
    original = source.state_dict()
    for key, value in fresh.state_dict().items():
        assert value.dtype == torch.float32
        assert torch.equal(value, original[key].to(torch.bfloat16).float())
        # bfloat16 keeps 8 significant bits: every weight within 2^-8 of itself
        assert torch.all((value - original[key]).abs() <= original[key].abs() * 2**-8)


def test_truncated_safetensors_names_the_file(tmp_path):
    path = tmp_path / "unet.safetensors"
    save_unet_safetensors(trained_tiny_unet(), path)
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(CheckpointError, match=rf"{path}: unreadable safetensors file"):
        load_unet_weights(path)
