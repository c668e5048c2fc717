"""Peak memory of bandwidth extension against audio length (1, 10 and 60 minutes), chunking on.

Each length runs in a fresh subprocess: it makes the audio, builds a Restorer (inference/engine.py) with
chunks of --chunk-seconds, resets the peak counters and restores the whole file once. The table shows the
host's peak resident set during the call (VmHWM) above what the process held before it, and that figure less
the output array, which the call must allocate (input and output grow with the file, 10 MiB a minute each
for mono float32); what is left is the engine's working memory, which chunking should keep flat: the last
line gives its growth per added minute between the two longest runs. The workers run with glibc's
MALLOC_MMAP_THRESHOLD_=131072, so freed buffers go back to the system and the peak counts live memory only;
with the default allocator (--glibc-default, faster) glibc keeps 100-300 MiB of freed heap from chunk to
chunk, a run of one chunk shows less than longer ones, and the figures wander by some tens of MiB. On CUDA
the GPU's max allocated memory is shown as well.

--network stand-in (the default on the CPU) replaces the UNet's forward by one elementwise product, so an
hour of audio (some 2400 windows per network evaluation) finishes in minutes without a GPU; the UNet's own
activations depend on the window batch, not on the length (benchmarks/restore.py measures them).
--network tiny runs the tiny UNet of benchmarks/restore.py (the default on CUDA).

    python benchmarks/memory_vs_length.py                           # 1, 10, 60 min, stand-in network on CPU
    python benchmarks/memory_vs_length.py --minutes 1 10 --network tiny --device cuda
    python benchmarks/memory_vs_length.py --chunk-seconds 100000    # chunking off, for comparison
"""
import argparse
import json
import os
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.restore import (TINY_NETWORK, default_device, memory_mb, music, print_table,  # noqa: E402
                                reset_peak_memory, run_workers, write_tiny_checkpoint)
from models.unet import UNet  # noqa: E402

EXACT_MMAP_THRESHOLD = 131072  # bytes; fixing it stops glibc from raising it and keeping freed blocks
FLAT_MB_PER_MINUTE = 1.0  # without chunks the sampler state alone grows by hundreds of MiB a minute


def stand_in_forward(self, x, t_emb):
    """One elementwise pass over the windows: keeps the engine's data flow, drops the UNet's compute."""
    return x * 0.5


def worker(args):
    from inference.engine import Restorer

    if args.network == "stand-in":
        UNet.forward = stand_in_forward
    device, host = torch.device(args.device), torch.device("cpu")
    cuda = device.type == "cuda"
    restorer = Restorer(network=TINY_NETWORK, checkpoints=[args.checkpoint], t_cutoffs=[], device=args.device,
                        window_batch=args.window_batch, chunk_seconds=args.chunk_seconds,
                        overlap_seconds=args.overlap_seconds)
    audio = music(60 * args.worker)
    reset_peak_memory(host)
    if cuda:
        reset_peak_memory(device)
    host_start, gpu_start = memory_mb(host)[0], memory_mb(device)[0] if cuda else 0.0
    start = time.perf_counter()
    restored = restorer.bandwidth_extension(audio, cutoff_hz=args.cutoff_hz, n_steps=args.steps, seed=0)
    wall = time.perf_counter() - start
    host_peak, gpu_peak = memory_mb(host)[1], memory_mb(device)[1] if cuda else 0.0
    print(json.dumps({"minutes": args.worker, "wall": wall, "audio_mb": audio.nbytes / 2**20,
                      "output_mb": restored.nbytes / 2**20, "host_start": host_start, "host_peak": host_peak,
                      "gpu_above_start": gpu_peak - gpu_start}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0, 60.0],
                        help="audio lengths in minutes (default 1 10 60)")
    parser.add_argument("--network", choices=("stand-in", "tiny"),
                        help="stand-in: no UNet compute; tiny: the tiny UNet (default: stand-in on CPU, tiny on CUDA)")
    parser.add_argument("--steps", type=int, default=2, help="sampling time points (default %(default)s)")
    parser.add_argument("--device", default=default_device(), help="torch device (default %(default)s)")
    parser.add_argument("--window-batch", type=int, help="windows per UNet call (default: the engine's choice)")
    parser.add_argument("--chunk-seconds", type=float, default=60.0, help="chunk length (default %(default)s)")
    parser.add_argument("--overlap-seconds", type=float, default=3.0, help="chunk overlap (default %(default)s)")
    parser.add_argument("--cutoff-hz", type=float, default=4000.0, help="band edge (default %(default)s)")
    parser.add_argument("--glibc-default", action="store_true",
                        help="keep glibc's default allocator settings (see above)")
    parser.add_argument("--worker", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.network = args.network or ("tiny" if args.device.startswith("cuda") else "stand-in")
    if args.worker is not None:
        return worker(args)

    with tempfile.TemporaryDirectory(prefix="a2sb_memory_bench_") as folder:
        checkpoint = os.path.join(folder, "tiny.ckpt")
        write_tiny_checkpoint(checkpoint)
        options = ["--checkpoint", checkpoint, "--network", args.network, "--steps", str(args.steps),
                   "--device", args.device, "--chunk-seconds", str(args.chunk_seconds),
                   "--overlap-seconds", str(args.overlap_seconds), "--cutoff-hz", str(args.cutoff_hz)]
        options += ["--window-batch", str(args.window_batch)] if args.window_batch else []
        env = None if args.glibc_default else {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(EXACT_MMAP_THRESHOLD)}
        results = run_workers(os.path.abspath(__file__), args.minutes, options, env)

    cuda = args.device.startswith("cuda")
    allocator = "glibc defaults" if args.glibc_default else f"MALLOC_MMAP_THRESHOLD_={EXACT_MMAP_THRESHOLD}"
    print(f"bandwidth extension, {args.network} network, chunks of {args.chunk_seconds:g} s with "
          f"{args.overlap_seconds:g} s overlap, {args.steps} time points, device {args.device}, {allocator}, "
          "one process per length")
    header = ("minutes", "wall s", "audio MiB", "host peak MiB", "above start MiB", "less output MiB",
              "MiB per added min")
    header += ("GPU above start MiB",) if cuda else ()
    working = [r["host_peak"] - r["host_start"] - r["output_mb"] for r in results]
    slopes = [None] + [(w - w_prev) / (r["minutes"] - r_prev["minutes"])
                       for w_prev, w, r_prev, r in zip(working, working[1:], results, results[1:])]
    rows = []
    for r, work, slope in zip(results, working, slopes):
        row = (f"{r['minutes']:g}", f"{r['wall']:.1f}", f"{r['audio_mb']:.0f}", f"{r['host_peak']:.0f}",
               f"{r['host_peak'] - r['host_start']:.0f}", f"{work:.0f}", "" if slope is None else f"{slope:+.1f}")
        rows.append(row + ((f"{r['gpu_above_start']:.0f}",) if cuda else ()))
    print_table(header, rows)
    if len(results) > 1:
        flat = abs(slopes[-1]) <= FLAT_MB_PER_MINUTE
        print(f"working memory between the two longest runs: {slopes[-1]:+.1f} MiB per added minute "
              f"({'flat' if flat else 'GROWS with the length'}; the audio itself takes "
              f"{results[-1]['audio_mb'] / results[-1]['minutes']:.0f} MiB a minute)")


if __name__ == "__main__":
    main()
