"""Inpainting over the test split of a data set, for evaluation.

    python inference/A2SB_inpaint_dataset.py -dn NAME -exp EXP -inp_len 0.3 -inp_every 5.0 [--start 0 --end 100]

For each test file, writes <out-root>/<EXP>/<NAME>/inpaint_<len>_every_<every>/<file>/ with original.wav,
degraded.wav (a gap of <len> seconds centred in every <every> seconds, zeroed) and recon.wav. Score them
with inference/evaluate.py (it reports the LSD inside the gaps too).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from audiokit.cli import run_main  # noqa: E402
from corrupt.waveform import file_gaps, periodic_gaps, silence_gaps  # noqa: E402
from inference.cli_common import (add_dataset_options, add_model_options, check_sampling_options,  # noqa: E402
                                  inpaint_task, run_dataset)
from inference.engine import INPAINT_MODES  # noqa: E402


def inpaint_dataset(args):
    check_sampling_options(args)
    periodic_gaps(0.0, args.inp_len, args.inp_every)  # checks 0 < len < every before any model is loaded

    def degrade(audio):
        return silence_gaps(audio, file_gaps(audio, args.inp_len, args.inp_every))

    def restore(restorer, degraded):
        return restorer.inpaint(degraded, file_gaps(degraded, args.inp_len, args.inp_every), n_steps=args.n_steps,
                                seed=args.seed, ode=args.ode, mode=args.mode, progress=False)

    return run_dataset(args, inpaint_task(args.inp_len, args.inp_every), degrade, restore, "inpainting_steps")


def build_parser():
    parser = argparse.ArgumentParser(
        description="A2SB inpainting of every test file of a data set: writes original, degraded (periodic "
                    "gaps zeroed) and recon audio per file; files already done are skipped.")
    add_dataset_options(parser)
    parser.add_argument("-inp_len", "--inp-len", type=float, required=True, metavar="SECONDS",
                        help="length of each gap in seconds, e.g. 0.3")
    parser.add_argument("-inp_every", "--inp-every", type=float, required=True, metavar="SECONDS",
                        help="one gap is centred in every period of this many seconds, e.g. 5.0")
    parser.add_argument("--mode", choices=INPAINT_MODES, default="auto",
                        help="shortcut (one model window around each gap), full (whole file) or auto (default: the "
                             "shortcut where it is valid)")
    add_model_options(parser, "inpainting_steps")
    return parser


def main(argv=None):
    return run_main(inpaint_dataset, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
