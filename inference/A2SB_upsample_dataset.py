"""Bandwidth extension over the test split of a data set, for evaluation.

    python inference/A2SB_upsample_dataset.py -dn NAME -exp EXP -cf 4000 [--manifest-dir DIR] [--start 0 --end 100]

For each test file, writes <out-root>/<EXP>/<NAME>/cutoff_freq=<cf>/<file>/ with original.wav, degraded.wav
(resampled down to 2 cf and back up to 44.1 kHz) and recon.wav. Score them with inference/evaluate.py.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from audiokit.cli import run_main  # noqa: E402
from corrupt.waveform import band_limit  # noqa: E402
from inference.cli_common import (add_dataset_options, add_model_options, bandwidth_task,  # noqa: E402
                                  check_sampling_options, run_dataset)
from inference.engine import check_cutoff  # noqa: E402


def upsample_dataset(args):
    check_sampling_options(args)
    check_cutoff(args.cutoff_freq, "-cf")

    def restore(restorer, degraded):
        return restorer.bandwidth_extension(degraded, args.cutoff_freq, n_steps=args.n_steps, seed=args.seed,
                                            ode=args.ode, progress=False)

    return run_dataset(args, bandwidth_task(args.cutoff_freq), lambda audio: band_limit(audio, args.cutoff_freq),
                       restore, "bandwidth_steps")


def build_parser():
    parser = argparse.ArgumentParser(
        description="A2SB bandwidth extension of every test file of a data set: writes original, degraded "
                    "(band-limited) and recon audio per file; files already done are skipped.")
    add_dataset_options(parser)
    parser.add_argument("-cf", "--cutoff-freq", type=float, required=True, metavar="HZ",
                        help="degrade by resampling to 2 HZ and back, then regenerate above HZ ([500, 22050))")
    add_model_options(parser, "bandwidth_steps")
    return parser


def main(argv=None):
    return run_main(upsample_dataset, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
