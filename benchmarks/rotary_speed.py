"""The project's axial rotary embedding (models/rotary.py) against rotary-embedding-torch, at the query shapes
of the released UNet's attention on a 256-frame window; calls alternated, median reported, outputs compared.

    python benchmarks/rotary_speed.py --runs 7
"""

import argparse
import os
import statistics
import sys
import time

import torch
from rotary_embedding_torch import RotaryEmbedding, apply_rotary_emb

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from models.attention import ROTARY_DIM, ROTARY_MAX_FREQ  # noqa: E402
from models.rotary import AxialRotaryEmbedding  # noqa: E402

# (batch, heads, bins, frames, head dim) of the queries at levels 3, 4 and the middle, and level 3 at batch 4.
SHAPES = [(1, 8, 128, 32, 96), (1, 8, 64, 16, 128), (1, 8, 32, 8, 256), (4, 8, 128, 32, 96)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="alternated calls per implementation")
    args = parser.parse_args()
    ours = AxialRotaryEmbedding(ROTARY_DIM, ROTARY_MAX_FREQ)
    library = RotaryEmbedding(dim=ROTARY_DIM, freqs_for="pixel", max_freq=ROTARY_MAX_FREQ)

    def reference(q):
        return apply_rotary_emb(library.get_axial_freqs(q.shape[-3], q.shape[-2]), q)

    print(f"{'query shape':24}  {'ours ms':8}  {'library ms':10}  {'ratio':6}  max abs diff")
    torch.manual_seed(0)
    for shape in SHAPES:
        q = torch.randn(shape)
        times = {"ours": [], "library": []}
        with torch.inference_mode():
            difference = (ours(q) - reference(q)).abs().max().item()
            for _ in range(args.runs):
                for name, rotate in (("ours", ours), ("library", reference)):
                    start = time.perf_counter()
                    rotate(q)
                    times[name].append(time.perf_counter() - start)
        mine, theirs = (1000 * statistics.median(times[name]) for name in ("ours", "library"))
        print(f"{str(shape):24}  {mine:<8.2f}  {theirs:<10.2f}  {mine / theirs:<6.2f}  {difference:.1e}")


if __name__ == "__main__":
    main()
