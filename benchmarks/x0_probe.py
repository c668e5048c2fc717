"""What the network infers from the kept band, without sampling: its x0 estimate of the band above a cutoff.

    python benchmarks/x0_probe.py --config runs/small/config.yaml --audio song.wav runs/small/checkpoints/step=*.ckpt

A restoration's quality is decided at the high times: at t = 0.99 the input above the cutoff is the degradation's
noise alone, so whatever the x0 estimate holds there was inferred from the band below; at t = 0.5 half of the clean
image is in the input and even an untrained-looking model scores well. For each checkpoint and each probe time the
audio's windows (the config's training width) are degraded at --cutoff, taken to x_t on the bridge, and the
estimate of the magnitude channel above the cutoff is compared with the truth:
- corr: correlation over frames of its mean (compressed) magnitude with the truth's: 1 = the estimate rises and
  falls with the music, 0 or below = a steady bed;
- rmse: its root-mean-square error (compressed units);
- level: the RMS of its magnitude over the truth's, decompressed to linear amplitude (the level ratio that
  quality.py reports of restorations): below 1, the estimate is quieter than the music it infers.
This is the cheap learning-curve signal that the training loss hides: at t = 0.99 the loss is dominated by the
phase channels, which the kept band does not determine.
"""
import argparse
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from audiokit.cli import run_main  # noqa: E402
from audiokit.constants import SAMPLE_RATE  # noqa: E402
from audiokit.decoding import load_audio  # noqa: E402
from corrupt.degrade import degrade  # noqa: E402
from corrupt.masks import bandwidth_mask, cutoff_bin  # noqa: E402
from inference.engine import Restorer  # noqa: E402
from models import bridge  # noqa: E402

PROBE_TIMES = (0.99, 0.75, 0.5)
MAX_WINDOWS = 8  # spread over the file; enough for a stable correlation, cheap on a CPU


def probe_windows(image, width, count=MAX_WINDOWS):
    """Up to `count` non-overlapping windows of `width` frames spread over the image (1, 3, H, W) -> (n, 3, H, w)."""
    frames = image.shape[-1]
    if frames < width:
        raise ValueError(f"the audio has {frames} frames, fewer than one window of {width}")
    starts = np.linspace(0, frames - width, min(count, frames // width)).astype(int)
    return torch.cat([image[..., s:s + width] for s in starts])


def x0_probe(restorer, wave, cutoff_hz, times=PROBE_TIMES, seed=0):
    """{t: {"corr", "rmse", "level"}} of the x0 estimate above cutoff_hz for a mono 44.1 kHz waveform (numpy or
    tensor)."""
    wave = torch.as_tensor(np.asarray(wave, dtype=np.float32), device=restorer.device)
    x0 = probe_windows(restorer.representation.encode(wave)[None], restorer.window_frames)
    height, width = x0.shape[-2:]
    row = cutoff_bin(cutoff_hz)
    mask = bandwidth_mask(height, width, row).to(x0.device)
    generator = torch.Generator(device=x0.device).manual_seed(seed)
    x1 = degrade(x0, mask, generator=generator)
    truth = x0[:, 0, row:]
    # The representation's inverse chain starts by undoing the magnitude's power compression.
    decompress = restorer.representation.inverse_transforms[0]
    truth_rms = decompress(x0)[:, 0, row:].pow(2).mean().sqrt()
    results = {}
    with torch.no_grad():
        for t in times:
            noise = torch.randn(x0.shape, generator=generator, device=x0.device)
            x_t = bridge.sample_marginal(x0, x1, torch.full((len(x0),), t), restorer.beta_max, noise=noise)
            full = restorer.ensemble.denoiser(t)(x_t, t).float()
            estimate = full[:, 0, row:]
            corr = np.corrcoef(truth.mean(1).flatten().cpu(), estimate.mean(1).flatten().cpu())[0, 1]
            rmse = (estimate - truth).pow(2).mean().sqrt()
            level = decompress(full)[:, 0, row:].pow(2).mean().sqrt() / truth_rms
            results[t] = {"corr": float(corr), "rmse": float(rmse), "level": float(level)}
    return results


def step_of(path):
    """Training step in a checkpoint name like step=400.ckpt or Lightning's step=400-v1.ckpt (None for last.ckpt
    and other names)."""
    match = re.match(r"step=(\d+)", os.path.basename(path))
    return int(match.group(1)) if match else None


def in_step_order(paths):
    """Checkpoints by training step; names without one (last.ckpt) after them, by name."""
    return sorted(paths, key=lambda path: (step_of(path) is None, step_of(path) or 0, path))


def probe_checkpoints(config, checkpoints, wave, cutoff_hz):
    """One row per checkpoint, in step order: (path, {t: scores})."""
    rows = []
    for path in in_step_order(checkpoints):
        restorer = Restorer.from_config(config, checkpoints=[path], device="cpu")
        rows.append((path, x0_probe(restorer, wave, cutoff_hz)))
    return rows


def probe(args):
    checkpoints = [path for pattern in args.checkpoints for path in sorted(glob.glob(pattern)) or [pattern]]
    wave = load_audio(args.audio, mono=True)[0][0]
    start = int(args.start * SAMPLE_RATE)
    wave = wave[start:start + int(args.seconds * SAMPLE_RATE)] if args.seconds else wave[start:]
    for path, scores in probe_checkpoints(args.config, checkpoints, wave, args.cutoff):
        print(f"{os.path.basename(path):<18} " + "  ".join(
            f"t={t:g}: corr {s['corr']:6.3f} rmse {s['rmse']:.3f} level {s['level']:.2f}" for t, s in scores.items()),
            flush=True)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", help="checkpoint files (glob patterns allowed)")
    parser.add_argument("--config", required=True, help="the training config the checkpoints were made with")
    parser.add_argument("--audio", required=True, help="an audio file with content above the cutoff")
    parser.add_argument("--cutoff", type=float, default=4000.0, help="band edge in Hz (default 4000)")
    parser.add_argument("--start", type=float, default=0.0, help="excerpt start in seconds")
    parser.add_argument("--seconds", type=float, default=0.0, help="excerpt length in seconds (0: whole file)")
    return parser


def main(argv=None):
    return run_main(probe, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
