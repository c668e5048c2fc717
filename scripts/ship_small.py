"""Ships trained checkpoints as the repository's small model (`--model small`): the UNet weights of each expert as
safetensors in pretrained/small/, and the reference restoration that tests/test_small_model.py compares every CPU
against.

    python scripts/ship_small.py --bf16 runs/small_low/checkpoints/last.ckpt runs/small_high/checkpoints/step=750.ckpt

One checkpoint per file that configs/small_sampling.yaml lists, in increasing t; each network must be the one it
describes, or that network without its frequency attention (the blocks are then added as the identity, so the
expert computes what the checkpoint did). --bf16 stores the weights rounded to bfloat16 (half the size; restoring
still computes in float32).
PROVENANCE.md beside the weights is written by hand: data, licence, config, steps, wall time, machine.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from audiokit.cli import run_main  # noqa: E402
from audiokit.files import write_atomically  # noqa: E402
from corrupt.waveform import band_limit  # noqa: E402
from datasets.synthetic import structured_music  # noqa: E402
from inference import released  # noqa: E402
from inference.engine import Restorer, _read_config  # noqa: E402
from models.unet import UNet  # noqa: E402
from models.unet_weights import load_into, load_unet_weights, save_unet_safetensors  # noqa: E402

REFERENCE = os.path.join(released.REPO_ROOT, "tests", "data", "small_reference.npz")
REFERENCE_CUTOFF_HZ = 4000.0
REFERENCE_STEPS = 5
REFERENCE_SEED = 0


def reference_input():
    """The fixed generated input of the reference restoration: 3 s of phrases with rests, band-limited."""
    return band_limit(structured_music(3.0, seed=7)[None], REFERENCE_CUTOFF_HZ)[0]


def reference_restoration(restorer):
    return restorer.bandwidth_extension(reference_input(), REFERENCE_CUTOFF_HZ, n_steps=REFERENCE_STEPS,
                                        seed=REFERENCE_SEED, progress=False)


def expert_network(network_config, checkpoint):
    """The sampling config's UNet with a checkpoint's weights; blocks its network lacked start as the identity."""
    network = UNet(**network_config)
    load_into(network, load_unet_weights(checkpoint), checkpoint, new_modules=network.extension_modules())
    return network


def ship(args):
    network_config = _read_config(released.model_config("small"))["network"]
    targets = [os.path.join(released.REPO_ROOT, path) for path in released.model_files("small")]
    if len(args.checkpoints) != len(targets):
        raise ValueError(f"configs/small_sampling.yaml lists {len(targets)} experts; got {len(args.checkpoints)} "
                         f"checkpoints")
    for checkpoint, target in zip(args.checkpoints, targets):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        save_unet_safetensors(expert_network(network_config, checkpoint), target,
                              dtype=torch.bfloat16 if args.bf16 else None)
        print(f"wrote {target} ({os.path.getsize(target) / 2**20:.1f} MiB)")
    # Loading the written files through the sampling config checks each is exactly the network it describes.
    shipped = Restorer.from_config("small", device="cpu")
    restored = reference_restoration(shipped)
    def save(tmp):  # to an open file: given a name, numpy would add ".npz" to it
        with open(tmp, "wb") as file:
            np.savez_compressed(file, restored=restored)

    write_atomically(REFERENCE, save)
    print(f"wrote {REFERENCE}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+",
                        help="checkpoints of configs/small.yaml (Lightning .ckpt or safetensors), one per expert, "
                             "in increasing t")
    parser.add_argument("--bf16", action="store_true", help="store the weights rounded to bfloat16 (half the size)")
    return run_main(ship, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
