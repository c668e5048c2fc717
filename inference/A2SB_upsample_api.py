"""Bandwidth extension of one audio file: regenerate everything above a cutoff frequency.

    python inference/A2SB_upsample_api.py -f DEGRADED.wav -o RESTORED.wav [-n 50] [--cutoff 4000]

Without --cutoff the cutoff is detected from the spectrum. A file that is already full-band is copied
through (resampled to 44.1 kHz) with a "nothing to do" note, even with --cutoff, unless --force is given.
The output is at 44.1 kHz with the input's channels and sample format.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from datasets.constants import SAMPLE_RATE  # noqa: E402
from inference.cli_common import (add_io_options, add_model_options, check_cutoff, check_steps,  # noqa: E402
                                  finish, load_restorer, prepare_output, run_main)
from datasets.band_edge import detect_cutoff  # noqa: E402
from inference.io import output_subtype, read_input  # noqa: E402


def upsample(args):
    check_steps(args.n_steps)
    if args.cutoff is not None:
        check_cutoff(args.cutoff)
    prepare_output(args)
    audio, info = read_input(args.input)
    subtype = output_subtype(info.subtype, args.output, args.subtype)
    detected = detect_cutoff(audio, SAMPLE_RATE)
    if detected is None and not args.force:
        finish(args, audio, audio, subtype, f"{os.path.basename(args.input)}: full band, copied")
        print(f"nothing to do: {args.input} is already full-band; copied it to {args.output} at 44.1 kHz "
              "(--force --cutoff HZ restores it anyway)")
        return 0
    cutoff = args.cutoff if args.cutoff is not None else detected
    if cutoff is None:
        raise ValueError(f"{args.input}: the input is full-band, so --force needs --cutoff HZ (what to regenerate)")
    if args.cutoff is None:
        check_cutoff(cutoff, f"{args.input}: detected cutoff")
        print(f"detected cutoff: {cutoff:.0f} Hz")
    restorer = load_restorer(args)
    restored = restorer.bandwidth_extension(audio, cutoff, n_steps=args.n_steps, seed=args.seed, ode=args.ode,
                                            progress=not args.quiet)
    finish(args, audio, restored, subtype, f"{os.path.basename(args.input)}: bandwidth extension above {cutoff:.0f} Hz")
    print(f"wrote {args.output}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        description="A2SB bandwidth extension of one audio file: keeps the band below the cutoff and "
                    "regenerates everything above it.")
    add_io_options(parser)
    parser.add_argument("--cutoff", type=float, metavar="HZ",
                        help="frequency above which audio is regenerated, in [500, 22050) Hz "
                             "(default: detected from the input's spectrum)")
    parser.add_argument("--force", action="store_true",
                        help="restore even when the input looks full-band (then --cutoff is needed); without it "
                             "a full-band input is copied through to OUT with a 'nothing to do' note")
    add_model_options(parser, "bandwidth_steps")
    return parser


def main(argv=None):
    return run_main(upsample, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
