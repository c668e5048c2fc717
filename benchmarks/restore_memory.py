"""Peak memory of restoring long files: RSS on the CPU, max allocated on CUDA, in a fresh process per length.

    python benchmarks/restore_memory.py --minutes 10 60            # CPU, tiny random UNet, 2 time points
    python benchmarks/restore_memory.py --minutes 10 60 --device cuda

The network is a tiny random UNet (memory is about the engine, not the weights); the audio is music-like
material tiled to length. Reports the peak RSS, the memory held just before restoring (model and
input audio), the working memory (peak - before - the output array, which is as large as the input),
and the share of the time spent outside the UNet.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from audiokit.constants import SAMPLE_RATE  # noqa: E402

NET = dict(hidden_channels=[32, 32, 32, 64], attention_levels=[], num_res_blocks=1, num_heads=1, dropout=0.0)


def rss_mib():
    """Current resident set size of this process (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def long_audio(minutes, channels):
    """A 20 s music-like clip tiled to length, filled in place (no file-sized temporaries)."""
    import numpy as np
    from datasets.synthetic import music_like

    clip = music_like(20.0, seed=0)
    audio = np.empty((channels, int(minutes * 60 * SAMPLE_RATE)), dtype=np.float32)
    for start in range(0, audio.shape[-1], len(clip)):
        piece = clip[:audio.shape[-1] - start]
        for channel in range(channels):
            audio[channel, start:start + len(piece)] = piece * (0.9 - 0.1 * channel)
    return audio


def measure(args):
    """One length in this process; prints a JSON line."""
    import torch
    from inference.engine import Restorer
    from models.unet_weights import save_released_layout
    from models.unet import UNet

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "tiny.ckpt")
        save_released_layout(UNet(**NET), path)
        restorer = Restorer(NET, [path], [], device=args.device, window_batch=args.window_batch,
                            hop_frames=args.hop_frames, chunk_seconds=args.chunk_seconds)
    audio = long_audio(args.measure, args.channels)
    unet_seconds = [0.0]
    sync = torch.cuda.synchronize if restorer.device.type == "cuda" else (lambda: None)

    def start(module, inputs):
        sync()
        unet_seconds[0] -= time.perf_counter()

    def stop(module, inputs, output):
        sync()
        unet_seconds[0] += time.perf_counter()

    net = restorer.ensemble.experts[0]
    net.register_forward_pre_hook(start)
    net.register_forward_hook(stop)
    if restorer.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(restorer.device)
    before = rss_mib()
    began = time.perf_counter()
    out = restorer.bandwidth_extension(audio, 8000, n_steps=args.steps, progress=False)
    wall = time.perf_counter() - began
    result = {
        "minutes": args.measure, "channels": args.channels, "device": str(restorer.device),
        "audio_mib": audio.nbytes / 2 ** 20, "rss_before_mib": before,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "working_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before - audio.nbytes / 2 ** 20,
        "seconds": wall, "unet_seconds": unet_seconds[0], "outside_unet": 1 - unet_seconds[0] / wall,
        "output_ok": bool(out.shape == audio.shape),
    }
    if restorer.device.type == "cuda":
        result["cuda_max_allocated_mib"] = torch.cuda.max_memory_allocated(restorer.device) / 2 ** 20
    print(json.dumps(result), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--steps", type=int, default=2, help="time points (2 = one network call per window)")
    parser.add_argument("--window-batch", type=int, default=None)
    parser.add_argument("--hop-frames", type=int, default=128)
    parser.add_argument("--chunk-seconds", type=float, default=60.0)
    parser.add_argument("--measure", type=float, help=argparse.SUPPRESS)  # internal: one length, this process
    args = parser.parse_args()
    if args.measure is not None:
        measure(args)
        return
    for minutes in args.minutes:
        # A fresh process per length, so that each peak RSS is its own.
        command = [sys.executable, os.path.abspath(__file__), "--measure", str(minutes), "--device", args.device,
                   "--channels", str(args.channels), "--steps", str(args.steps), "--hop-frames", str(args.hop_frames),
                   "--chunk-seconds", str(args.chunk_seconds)]
        if args.window_batch is not None:
            command += ["--window-batch", str(args.window_batch)]
        result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        line = (f"{minutes:5.1f} min x{args.channels} on {result['device']}: audio {result['audio_mib']:.0f} MiB, "
                f"RSS before {result['rss_before_mib']:.0f} MiB, peak RSS {result['peak_rss_mib']:.0f} MiB, "
                f"working {result['working_mib']:.0f} MiB")
        if "cuda_max_allocated_mib" in result:
            line += f", CUDA max allocated {result['cuda_max_allocated_mib']:.0f} MiB"
        line += (f"; {result['seconds']:.0f} s, {100 * result['outside_unet']:.1f}% outside the UNet")
        print(line, flush=True)


if __name__ == "__main__":
    main()
