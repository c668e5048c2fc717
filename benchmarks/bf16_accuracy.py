"""bf16 autocast against float32: how far the restored audio moves when the UNet runs in bfloat16.

Restores one fixed input (music-like audio from datasets/synthetic.py, band-limited at --cutoff-hz) twice
with the same seed: once in float32, once with the UNet under bfloat16 autocast (the representation and
the bridge arithmetic stay float32 either way). Prints, for the bf16 output against the float32 one:
- LSD: ssr_eval's AudioMetrics(44100).evaluation(est, ref, None)["lsd"];
- LSD of the regenerated band: the same LSD over the bins from the cutoff up (inference/evaluate.py);
- max |diff| of the kept band: both outputs low-passed below 0.95 x cutoff (keep_residual returns the input
  there, so this should sit at float32 rounding).

The default network is a tiny UNet with fixed random weights (every parameter drawn from N(0, 0.03^2), the
zero-initialised output convolutions too, so every layer shapes the output); --checkpoints restores with
real weights through a sampling config instead. On CUDA, bf16 is what Restorer(bf16=True) sets. On the
CPU the engine ignores bf16, so this script switches the ensemble's autocast on directly: torch's CPU
autocast rounds the same operations to bfloat16 but runs other kernels, so CPU numbers estimate the CUDA
numerics; the output says which one it is.

    python benchmarks/bf16_accuracy.py                        # tiny random UNet, 5 s, 10 time points
    python benchmarks/bf16_accuracy.py --checkpoints low.ckpt high.ckpt --device cuda
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from audiokit.constants import SAMPLE_RATE  # noqa: E402
from benchmarks.restore import TINY_NETWORK, default_device, print_table  # noqa: E402
from datasets.synthetic import music_like  # noqa: E402
from inference.engine import Restorer  # noqa: E402
from inference.evaluate import band_lsd, magnitude  # noqa: E402
from models.unet import UNet  # noqa: E402
from models.unet_weights import save_released_layout  # noqa: E402

WEIGHT_STD = 0.03
EDGE = 4096  # samples left out of the kept-band difference: the FFT low-pass rings at the file ends


def write_random_checkpoint(path, seed=0):
    """A tiny UNet with every parameter N(0, WEIGHT_STD^2), in the released checkpoint layout."""
    torch.manual_seed(seed)
    net = UNet(**TINY_NETWORK)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.normal_(0, WEIGHT_STD)
    save_released_layout(net, path)


def low_pass(audio, cutoff_hz):
    """Ideal low-pass along the last axis (FFT): everything above cutoff_hz set to zero."""
    spectrum = np.fft.rfft(audio, axis=-1)
    spectrum[..., np.fft.rfftfreq(audio.shape[-1], 1 / SAMPLE_RATE) > cutoff_hz] = 0
    return np.fft.irfft(spectrum, audio.shape[-1], axis=-1)


def compare(est, ref, cutoff_hz):
    """(LSD, LSD from the cutoff up, max |diff| below 0.95 cutoff) of est against ref, both (N,)."""
    from ssr_eval.metrics import AudioMetrics

    whole = AudioMetrics(SAMPLE_RATE).evaluation(est, ref, None)["lsd"]
    _, regenerated = band_lsd(magnitude(est), magnitude(ref), cutoff_hz)
    kept = np.abs(low_pass(est - ref, 0.95 * cutoff_hz)[EDGE:-EDGE]).max()
    return whole, regenerated, kept


def build_restorer(args, folder):
    if args.checkpoints:
        return Restorer.from_config(args.config, checkpoints=args.checkpoints, device=args.device)
    path = os.path.join(folder, "tiny_random.ckpt")
    write_random_checkpoint(path)
    return Restorer(network=TINY_NETWORK, checkpoints=[path], t_cutoffs=[], device=args.device)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", nargs="+", help="expert checkpoints in increasing t (default: tiny "
                                                         "random UNet)")
    parser.add_argument("--config", default=os.path.join(ROOT, "configs", "ensemble_2split_sampling.yaml"),
                        help="sampling config for --checkpoints (default %(default)s)")
    parser.add_argument("--device", default=default_device(), help="torch device (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=5.0, help="input length (default %(default)s)")
    parser.add_argument("--steps", type=int, default=10, help="sampling time points (default %(default)s)")
    parser.add_argument("--cutoff-hz", type=float, default=4000.0, help="band edge (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed, the same for both runs")
    args = parser.parse_args()

    audio = low_pass(music_like(args.seconds, seed=0), args.cutoff_hz).astype(np.float32)
    with tempfile.TemporaryDirectory(prefix="a2sb_bf16_") as folder:
        restorer = build_restorer(args, folder)
        outputs = {}
        for precision in ("fp32", "bf16"):
            restorer.ensemble.bf16 = precision == "bf16"  # what Restorer(bf16=True) sets on CUDA
            outputs[precision] = restorer.bandwidth_extension(audio, args.cutoff_hz, n_steps=args.steps,
                                                              seed=args.seed, progress=False)

    device = restorer.device
    network = "checkpoints " + ", ".join(os.path.basename(p) for p in args.checkpoints) if args.checkpoints \
        else f"tiny UNet {TINY_NETWORK['hidden_channels']} with random weights N(0, {WEIGHT_STD}^2)"
    print(f"bf16 autocast against float32: bandwidth extension of {args.seconds:g} s of music-like audio at "
          f"{args.cutoff_hz:g} Hz, {args.steps} time points, seed {args.seed}, {network}, device {device}")
    if device.type == "cpu":
        print("CPU autocast: an estimate of the CUDA bf16 numerics (same bf16 rounding, other kernels)")
    whole, regenerated, kept = compare(outputs["bf16"], outputs["fp32"], args.cutoff_hz)
    print_table(("LSD", f"LSD >= {args.cutoff_hz:g} Hz", f"max |diff| < {0.95 * args.cutoff_hz:g} Hz",
                 "max |diff| all", "output peak"),
                [(f"{whole:.4f}", f"{regenerated:.4f}", f"{kept:.2e}",
                  f"{np.abs(outputs['bf16'] - outputs['fp32']).max():.2e}", f"{np.abs(outputs['fp32']).max():.3f}")])


if __name__ == "__main__":
    main()
