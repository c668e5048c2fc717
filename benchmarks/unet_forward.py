"""Forward-pass speed of the released UNet configuration (random weights) on 3 x 1024 x 256 windows.

Prints one table: median time over --runs timed forwards after --warmup untimed ones, in ms per window and
windows per second. CPU runs fp32; on CUDA also bf16 autocast, channels_last and torch.compile.

    python benchmarks/unet_forward.py                       # batch 1 and 4, 3 runs each
    python benchmarks/unet_forward.py --batch-sizes 1 --runs 2 --device cpu
"""

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from datasets.constants import N_BINS  # noqa: E402
from models.unet import UNet  # noqa: E402

FRAMES = 256


def median_seconds(model, x, t_emb, runs: int, warmup: int, autocast_dtype=None) -> float:
    def forward():
        with torch.inference_mode(), torch.autocast(x.device.type, autocast_dtype, enabled=autocast_dtype is not None):
            model(x, t_emb)
        if x.device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(warmup):
        forward()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        forward()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def variants(device: torch.device):
    """(name, autocast dtype, channels_last, compiled); ordered so the model is converted only once."""
    yield "fp32", None, False, False
    if device.type == "cuda":
        yield "bf16 autocast", torch.bfloat16, False, False
        yield "bf16 autocast + channels_last", torch.bfloat16, True, False
        yield "bf16 autocast + channels_last + compile", torch.bfloat16, True, True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--runs", type=int, default=3, help="timed forwards per row (the median is reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed forwards before timing")
    args = parser.parse_args()
    device = torch.device(args.device)

    torch.manual_seed(0)
    with device:
        model = UNet().eval()
    compiled = None
    rows = []
    for name, autocast_dtype, channels_last, use_compile in variants(device):
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        model = model.to(memory_format=memory_format)
        if use_compile and compiled is None:
            compiled = torch.compile(model)
        for batch in args.batch_sizes:
            x = torch.randn(batch, 3, N_BINS, FRAMES, device=device).contiguous(memory_format=memory_format)
            t_emb = torch.randn(batch, model.time_emb_dim, device=device)
            runner = compiled if use_compile else model
            seconds = median_seconds(runner, x, t_emb, args.runs, args.warmup, autocast_dtype)
            rows.append((str(device), name, batch, 1000 * seconds / batch, batch / seconds))

    millions = sum(p.numel() for p in model.parameters()) / 1e6
    print(
        f"UNet released config, {millions:.0f} M parameters, 3 x {N_BINS} x {FRAMES} windows, "
        f"median of {args.runs} runs after {args.warmup} warm-up"
    )
    header = ("device", "variant", "batch", "ms/window", "windows/s")
    widths = (8, 40, 6, 10, 10)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for device_name, name, batch, ms, per_second in rows:
        cells = (device_name, name, str(batch), f"{ms:.1f}", f"{per_second:.3f}")
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths)))


if __name__ == "__main__":
    main()
