"""Reading and writing UNet weights without executing pickled code.

Sources: the authors' released Lightning .ckpt files and this project's Lightning checkpoints (the UNet
under `state_dict` with the prefix `vf_model.`; other entries such as `t_to_emb.multipliers` are not UNet
weights and are dropped), or a .safetensors file of UNet weights with or without that prefix.
"""

import os
import pickle
import re
import struct
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from audiokit.files import write_atomically
from models.bridge import TimeEmbedding

UNET_PREFIX = "vf_model."
COMPILED_PREFIX = "_orig_mod."  # added to keys when a torch.compile'd module is saved
LIGHTNING_VERSION_KEY = "pytorch-lightning_version"  # in every checkpoint Lightning's trainer saves
_EXAMPLES = 3


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or whose weights do not fit the model."""


def load_unet_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The UNet state dict stored in a Lightning checkpoint or a safetensors file (tensors on the CPU)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if _looks_like_safetensors(path):
        try:
            weights = load_file(path)
        except (SafetensorError, OSError, ValueError) as error:
            raise CheckpointError(f"{path}: unreadable safetensors file (truncated or corrupt?): {error}") from None
    else:
        weights = _torch_load_weights_only(path)
        if isinstance(weights, dict) and isinstance(weights.get("state_dict"), dict):
            weights = weights["state_dict"]
            if not any(key.startswith(UNET_PREFIX) for key in weights):
                raise CheckpointError(
                    f"{path}: the checkpoint's state_dict has no '{UNET_PREFIX}*' (UNet) weights; "
                    f"it holds e.g. {_examples(sorted(weights))}"
                )
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise CheckpointError(f"{path}: neither a Lightning checkpoint nor a state dict of tensors")
    return _unet_entries(weights)


def check_training_checkpoint(path: str | os.PathLike) -> None:
    """Refuses, in one CheckpointError, a file that cannot resume training: unreadable, or without the state
    that Lightning saves next to the weights."""
    path = Path(path)
    start_hint = "to start from its weights, use --model.init_weights_from instead"
    if _looks_like_safetensors(path):
        raise CheckpointError(f"{path}: a safetensors file of weights, not a Lightning training checkpoint; {start_hint}")
    checkpoint = _torch_load_weights_only(path)
    if not isinstance(checkpoint, dict) or LIGHTNING_VERSION_KEY not in checkpoint or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path}: not a Lightning training checkpoint (no trainer state); {start_hint}")


def unet_weights_of(checkpoint: dict) -> dict[str, torch.Tensor]:
    """The UNet entries of a loaded Lightning checkpoint's state_dict, without prefixes."""
    return _unet_entries(checkpoint["state_dict"])


def load_into(module: nn.Module, state_dict: dict[str, torch.Tensor], source: str | os.PathLike,
              new_modules: tuple[str, ...] = ()) -> None:
    """Strict load; any missing, unexpected or mis-shaped key raises one error naming them. Keys of the
    submodules named in `new_modules` may be missing: those keep their initial values."""
    check_fits(module, state_dict, source, new_modules)
    module.load_state_dict(state_dict, strict=not new_modules)


def check_fits(module: nn.Module, state_dict: dict[str, torch.Tensor], source: str | os.PathLike,
               new_modules: tuple[str, ...] = ()) -> None:
    """Raises one CheckpointError naming the missing (outside `new_modules`), unexpected and mis-shaped keys."""
    expected = module.state_dict()
    missing = sorted(key for key in expected.keys() - state_dict.keys()
                     if not any(key.startswith(name + ".") for name in new_modules))
    unexpected = sorted(state_dict.keys() - expected.keys())
    mismatched = sorted(
        f"{key} {tuple(state_dict[key].shape)} vs model {tuple(expected[key].shape)}"
        for key in expected.keys() & state_dict.keys()
        if state_dict[key].shape != expected[key].shape
    )
    problems = [
        f"{len(keys)} {kind} (e.g. {_examples(keys)})"
        for kind, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatches", mismatched))
        if keys
    ]
    if problems:
        raise CheckpointError(
            f"{source}: weights do not fit {type(module).__name__} (another architecture or config?): "
            + "; ".join(problems)
        )


def save_unet_safetensors(module: nn.Module, path: str | os.PathLike, dtype: torch.dtype | None = None) -> None:
    """Write the module's state dict (no prefix) as safetensors, atomically: temp file, then rename. With `dtype`
    (e.g. torch.bfloat16, half the size) its floating-point tensors are stored rounded to it; loading casts them
    back to the model's own dtype."""
    path = Path(path)
    tensors = {key: value.detach().cpu().contiguous() for key, value in module.state_dict().items()}
    if dtype is not None:
        tensors = {key: value.to(dtype) if value.is_floating_point() else value for key, value in tensors.items()}
    write_atomically(path, lambda tmp: save_file(tensors, tmp, metadata={"format": "pt"}))


def save_released_layout(unet: nn.Module, path: str | os.PathLike, prefix: str = UNET_PREFIX, **entries) -> None:
    """Write a UNet as the released checkpoints hold it, {"state_dict": {"vf_model.*", "t_to_emb.multipliers"}},
    plus any further top-level `entries` (such as Lightning's "global_step"). Tests and benchmarks build their
    stand-ins for the released files with it."""
    state = {prefix + key: value for key, value in unet.state_dict().items()}
    state["t_to_emb.multipliers"] = TimeEmbedding().multipliers
    torch.save({"state_dict": state, **entries}, path)


def _torch_load_weights_only(path: Path):
    with open(path, "rb") as file:
        magic = file.read(4)
    is_zip = magic == b"PK\x03\x04"  # torch.save's format; memory-mapped so only the UNet part is read
    if not is_zip and magic[:1] != b"\x80":  # otherwise a legacy torch.save pickle
        raise CheckpointError(f"{path}: not a PyTorch checkpoint or safetensors file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=is_zip)
    except Exception as error:  # damaged files fail anywhere inside the unpickler, with any exception type
        refused = re.search(r"Unsupported global: GLOBAL (\S+)", str(error))
        if isinstance(error, pickle.UnpicklingError) and refused:
            raise CheckpointError(
                f"{path}: holds Python objects ({refused.group(1)}) that a weights-only load refuses to unpickle. "
                "If you trust the file, re-save just its weights once: "
                f"python -c \"import torch; c = torch.load('{path}', map_location='cpu', weights_only=False); "
                f"torch.save({{'state_dict': c['state_dict']}}, '{path.with_suffix('.weights.ckpt')}')\""
            ) from None
        reason = str(error).split(". ")[0]
        raise CheckpointError(f"{path}: truncated or corrupt PyTorch checkpoint ({reason})") from None


def _looks_like_safetensors(path: Path) -> bool:
    """Safetensors files start with an 8-byte little-endian header length and a JSON header."""
    if path.suffix == ".safetensors":
        return True
    with open(path, "rb") as file:
        head = file.read(9)
    if len(head) < 9:
        return False
    (header_length,) = struct.unpack("<Q", head[:8])
    return head[8:9] == b"{" and header_length < path.stat().st_size


def _unet_entries(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Keep the UNet keys, without the Lightning (`vf_model.`) and torch.compile prefixes."""
    if any(key.startswith(UNET_PREFIX) for key in weights):
        weights = {key[len(UNET_PREFIX) :]: value for key, value in weights.items() if key.startswith(UNET_PREFIX)}
    return {key.removeprefix(COMPILED_PREFIX): value for key, value in weights.items()}


def _examples(keys: list[str]) -> str:
    return ", ".join(keys[:_EXAMPLES]) + (", ..." if len(keys) > _EXAMPLES else "")
