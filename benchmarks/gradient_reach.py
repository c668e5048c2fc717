"""How far up and down the spectrum does the network look? The gradient of one output pixel of the regenerated band
with respect to the input image, as shares of its mass.

    python benchmarks/gradient_reach.py --model small=configs/small.yaml:runs/small/checkpoints/last.ckpt
    python benchmarks/gradient_reach.py --model init=configs/small.yaml   # random initial weights
    python benchmarks/gradient_reach.py \
        --model high=configs/small_sampling.yaml:pretrained/small/small_high_t.safetensors

A model that must regenerate the band above a cutoff from the band below has to draw on the rows below the
cutoff. The input is one generated clip (datasets/synthetic.py), band-limited at --cutoff as training does
(the rows above it are noise, t = --t); the output pixel is the magnitude at --row (700: about 15 kHz) in the
middle frame. Printed per model: the share of the gradient's absolute mass that comes from the kept rows below
the cutoff, from within +-32 rows of the output row, and from outside +-4 frames of its frame.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from audiokit.cli import run_main  # noqa: E402
from corrupt.degrade import degrade  # noqa: E402
from corrupt.masks import bandwidth_mask, cutoff_bin  # noqa: E402
from datasets.synthetic import structured_music  # noqa: E402
from inference.engine import Restorer, _read_config  # noqa: E402
from models import bridge  # noqa: E402
from models.representation import Representation  # noqa: E402
from models.unet import UNet  # noqa: E402

NEAR_ROWS = 32
NEAR_FRAMES = 4


def load_network(spec):
    """NAME=CONFIG[:CKPT] -> (name, UNet, time embedding); no checkpoint: seeded initial weights."""
    name, _, rest = spec.partition("=")
    config, _, checkpoint = rest.partition(":")
    if not name or not config:
        raise ValueError(f"--model {spec!r}: expected NAME=CONFIG[:CHECKPOINT]")
    if checkpoint:
        # One network is probed, also from a config of several experts (any of their checkpoints).
        ensemble = Restorer.from_config(config, checkpoints=[checkpoint], t_cutoffs=[], device="cpu").ensemble
        return name, ensemble.experts[0], ensemble.t_to_emb
    torch.manual_seed(0)
    return name, UNet(**_read_config(config)["network"]).eval(), bridge.TimeEmbedding()


def reach(network, time_embedding, image, cutoff_row, row, t):
    """Shares of |d output[magnitude, row, middle frame] / d input| from below the cutoff, near the row, and
    far in time."""
    x = image.clone().requires_grad_(True)
    frame = image.shape[-1] // 2
    network(x, time_embedding(torch.full((1,), t)))[0, 0, row, frame].backward()
    mass = x.grad.abs().sum(dim=(0, 1))  # rows x frames
    total = mass.sum()
    near = mass[max(0, row - NEAR_ROWS):row + NEAR_ROWS + 1].sum()
    in_time = mass[:, max(0, frame - NEAR_FRAMES):frame + NEAR_FRAMES + 1].sum()
    return {"below_cutoff": float(mass[:cutoff_row].sum() / total), "within_32_rows": float(near / total),
            "beyond_4_frames": float(1 - in_time / total)}


def gradient_reach(args):
    audio = torch.from_numpy(structured_music(args.frames * 512 / 44100 + 0.1, seed=args.seed))
    image = Representation().encode(audio)[None, ..., :args.frames]
    cutoff_row = cutoff_bin(args.cutoff)
    mask = bandwidth_mask(image.shape[-2], image.shape[-1], cutoff_row)
    generator = torch.Generator().manual_seed(args.seed)
    x1 = degrade(image, mask, generator=generator)
    x_t = bridge.sample_marginal(image, x1, torch.full((1,), args.t), noise=torch.randn(image.shape,
                                                                                          generator=generator))
    print(f"output pixel: row {args.row} (~{args.row * 44100 / 2048:.0f} Hz), cutoff {args.cutoff:g} Hz "
          f"(row {cutoff_row}), t = {args.t:g}")
    for spec in args.model:
        name, network, time_embedding = load_network(spec)
        network.requires_grad_(False)
        shares = reach(network, time_embedding, x_t, cutoff_row, args.row, args.t)
        print(f"{name:<16} " + "  ".join(f"{key} {value:6.1%}" for key, value in shares.items()))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, metavar="NAME=CONFIG[:CKPT]",
                        help="a training or sampling config and its checkpoint (none: initial weights)")
    parser.add_argument("--cutoff", type=float, default=4000.0, help="band-limit of the input in Hz")
    parser.add_argument("--row", type=int, default=700, help="output row (bin - 1) whose gradient is taken")
    parser.add_argument("--t", type=float, default=1.0, help="bridge time of the input (1: the degraded image)")
    parser.add_argument("--frames", type=int, default=64, help="frames of the input image (a multiple of 16)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv=None):
    return run_main(gradient_reach, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
