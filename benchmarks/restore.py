"""Restoration speed and memory: bandwidth extension of 10 s, 60 s and 600 s of music with a tiny UNet.

For each length a fresh subprocess builds a Restorer (inference/engine.py) from a tiny UNet with random
weights, saved as a checkpoint in the released layout (Lightning `state_dict`, `vf_model.` prefix,
`t_to_emb.multipliers`), warms it up on 3 s of audio, then times one `bandwidth_extension` call. It reports
seconds of audio restored per wall second, peak memory of the call (CPU: peak resident set, VmHWM, reset
before the call; CUDA: max allocated), and the share of the wall time spent outside the UNet forward calls
(timed by forward hooks, synchronised on CUDA), which must stay under 5%.

On the CPU the default lengths are 10 s and 60 s: 600 s means about 400 windows of 256 frames per network
evaluation, around 20 minutes at the default 3 time points on a 2-core CPU. On CUDA the default adds 600 s.
Choose others with --seconds.

    python benchmarks/restore.py                         # 10 s and 60 s on CPU, + 600 s on CUDA
    python benchmarks/restore.py --seconds 10 60 600 --steps 3 --device cuda --bf16 --channels-last
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from audiokit.constants import SAMPLE_RATE  # noqa: E402
from datasets.synthetic import music_like  # noqa: E402
from models.unet import UNet  # noqa: E402
from models.unet_weights import save_released_layout  # noqa: E402

# The smallest UNet the network code allows at full resolution (GroupNorm(32) widths; the middle attention
# needs 64 channels per head); 3 levels shrink the middle attention to 128 x 32 positions.
TINY_NETWORK = {"hidden_channels": [32, 32, 32, 64], "attention_levels": [], "num_res_blocks": 1,
                "num_heads": 1, "dropout": 0.0}
CLIP_SECONDS = 30.0
WARMUP_SECONDS = 3.0
MAX_OUTSIDE_SHARE = 0.05


# ---- helpers shared with memory_vs_length.py ----------------------------------------------------------------

def write_tiny_checkpoint(path, network=TINY_NETWORK, seed=0):
    """A freshly initialised UNet, saved in the released checkpoint layout."""
    torch.manual_seed(seed)
    save_released_layout(UNet(**network), path)


def music(seconds):
    """(1, N) float32 music-like audio: a 30 s clip repeated (the cost does not depend on the content)."""
    clip = music_like(min(seconds, CLIP_SECONDS), seed=0)
    n = int(round(seconds * SAMPLE_RATE))
    return np.tile(clip, -(-n // len(clip)))[:n].reshape(1, n)


def _proc_status_mb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field} (peak memory on the CPU needs Linux)")


def reset_peak_memory(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    else:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # resets VmHWM to the current resident set


def memory_mb(device):
    """(current, peak since the last reset) in MiB: allocated tensors on CUDA, resident set on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        return torch.cuda.memory_allocated(device) / 2**20, torch.cuda.max_memory_allocated(device) / 2**20
    return _proc_status_mb("VmRSS"), _proc_status_mb("VmHWM")


def find_unets(restorer):
    """Every UNet module the restorer holds (searched through its module attributes)."""
    found = []
    for value in vars(restorer).values():
        if isinstance(value, torch.nn.Module):
            found += [module for module in value.modules() if isinstance(module, UNet)]
    if not found:
        raise RuntimeError("no UNet found among the Restorer's modules")
    return found


class UNetTimer:
    """Wall time and windows spent inside UNet forward calls, through forward hooks."""

    def __init__(self, unets, device):
        self.sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        self.seconds, self.windows, self._start = 0.0, 0, None
        for unet in unets:
            unet.register_forward_pre_hook(self._enter)
            unet.register_forward_hook(self._leave)

    def reset(self):
        self.seconds, self.windows = 0.0, 0

    def _enter(self, module, inputs):
        self.sync()
        self._start = time.perf_counter()

    def _leave(self, module, inputs, output):
        self.sync()
        self.seconds += time.perf_counter() - self._start
        self.windows += inputs[0].shape[0]


def run_workers(script, cases, options, env=None):
    """Runs `script --worker CASE options` in a fresh process per case; returns their JSON results."""
    results = []
    for case in cases:
        command = [sys.executable, script, "--worker", str(case), *options]
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            sys.exit(f"case {case} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


def print_table(header, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths)))


def default_device():
    return "cuda" if torch.cuda.is_available() else "cpu"


# ---- this benchmark -------------------------------------------------------------------------------------

def worker(args):
    from inference.engine import Restorer

    device = torch.device(args.device)
    restorer = Restorer(network=TINY_NETWORK, checkpoints=[args.checkpoint], t_cutoffs=[], device=args.device,
                        bf16=args.bf16, channels_last=args.channels_last, window_batch=args.window_batch)
    timer = UNetTimer(find_unets(restorer), device)
    audio = music(args.worker)
    restorer.bandwidth_extension(audio[:, :int(WARMUP_SECONDS * SAMPLE_RATE)], cutoff_hz=args.cutoff_hz,
                                 n_steps=2, seed=0)
    timer.reset()
    reset_peak_memory(device)
    start_mb, _ = memory_mb(device)
    start = time.perf_counter()
    restorer.bandwidth_extension(audio, cutoff_hz=args.cutoff_hz, n_steps=args.steps, seed=0)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    wall = time.perf_counter() - start
    _, peak_mb = memory_mb(device)
    print(json.dumps({"seconds": args.worker, "wall": wall, "unet": timer.seconds, "windows": timer.windows,
                      "peak_mb": peak_mb, "start_mb": start_mb}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, nargs="+",
                        help="audio lengths to restore (default: 10 60 on CPU, 10 60 600 on CUDA)")
    parser.add_argument("--steps", type=int, default=3, help="sampling time points (default %(default)s: 2 "
                                                             "network evaluations per window)")
    parser.add_argument("--device", default=default_device(), help="torch device (default %(default)s)")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast for the UNet (CUDA)")
    parser.add_argument("--channels-last", action="store_true", help="UNet in channels_last memory format (CUDA)")
    parser.add_argument("--window-batch", type=int, help="windows per UNet call (default: the engine's choice)")
    parser.add_argument("--cutoff-hz", type=float, default=4000.0, help="band edge (default %(default)s)")
    parser.add_argument("--worker", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        return worker(args)

    lengths = args.seconds or ([10.0, 60.0, 600.0] if args.device.startswith("cuda") else [10.0, 60.0])
    with tempfile.TemporaryDirectory(prefix="a2sb_restore_bench_") as folder:
        checkpoint = os.path.join(folder, "tiny.ckpt")
        write_tiny_checkpoint(checkpoint)
        options = ["--checkpoint", checkpoint, "--steps", str(args.steps), "--device", args.device,
                   "--cutoff-hz", str(args.cutoff_hz)]
        options += ["--bf16"] * args.bf16 + ["--channels-last"] * args.channels_last
        options += ["--window-batch", str(args.window_batch)] if args.window_batch else []
        results = run_workers(os.path.abspath(__file__), lengths, options)

    memory = "max allocated" if args.device.startswith("cuda") else "peak RSS"
    print(f"bandwidth extension at {args.cutoff_hz:g} Hz, tiny UNet {TINY_NETWORK['hidden_channels']}, "
          f"{args.steps} time points, device {args.device}{' bf16' if args.bf16 else ''}"
          f"{' channels_last' if args.channels_last else ''}, one process per length")
    header = ("audio s", "wall s", "audio s / wall s", "windows", "UNet s", "outside UNet",
              f"{memory} MiB", "above start MiB")
    rows = [(f"{r['seconds']:g}", f"{r['wall']:.1f}", f"{r['seconds'] / r['wall']:.3f}", r["windows"],
             f"{r['unet']:.1f}", f"{100 * (1 - r['unet'] / r['wall']):.1f}%", f"{r['peak_mb']:.0f}",
             f"{r['peak_mb'] - r['start_mb']:.0f}") for r in results]
    print_table(header, rows)
    worst = max(1 - r["unet"] / r["wall"] for r in results)
    verdict = "ok" if worst < MAX_OUTSIDE_SHARE else "ABOVE the 5% budget"
    print(f"largest share of time outside the UNet: {100 * worst:.1f}% ({verdict})")


if __name__ == "__main__":
    main()
