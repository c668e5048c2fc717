"""Bandwidth extension of one audio file: regenerate everything above a cutoff frequency.

    python inference/A2SB_upsample_api.py -f DEGRADED.wav -o RESTORED.wav [-n 50] [--cutoff 4000]

Without --cutoff the cutoff is the band edge detected from the spectrum (a file recorded below 44.1 kHz has
at most its own Nyquist frequency); the detected edge and its confidence are printed. Where the detector
sees no clear edge it refuses, says what it saw, and asks for --cutoff: it never restores on a guess. A file
that is already full-band is copied through (resampled to 44.1 kHz) with a "nothing to do" note, even with
--cutoff, unless --force is given.
The output is at 44.1 kHz with the input's channels and sample format.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from datasets.constants import SAMPLE_RATE  # noqa: E402
from datasets.cli import run_main  # noqa: E402
from inference.cli_common import (add_io_options, add_model_options, check_sampling_options, finish,  # noqa: E402
                                  load_restorer, prepare_output)
from inference.engine import check_cutoff  # noqa: E402
from datasets.band_edge import detect_band_edge  # noqa: E402
from datasets.audio_io import output_subtype, read_input  # noqa: E402
from datasets.plots import EdgeMark  # noqa: E402


def upsample(args):
    check_sampling_options(args)
    if args.cutoff is not None:
        check_cutoff(args.cutoff, "--cutoff")
    prepare_output(args)
    audio, info = read_input(args.input)
    subtype = output_subtype(info.subtype, args.output, args.subtype)
    found = detect_band_edge(audio, SAMPLE_RATE, source_sr=info.sample_rate)
    if found.status == "full_band" and not args.force:
        finish(args, audio, audio, subtype, f"{os.path.basename(args.input)}: full band, copied",
               edge_mark(args, found, None, f"full band (confidence {found.confidence:.2f})"))
        print(f"nothing to do: {args.input} is already full-band ({found.message}); copied it to {args.output} "
              "at 44.1 kHz (--force --cutoff HZ restores it anyway)")
        return 0
    if args.cutoff is not None:
        cutoff, note = args.cutoff, f"cutoff {args.cutoff:g} Hz (given); detector: {found.status}"
    elif found.status == "edge":
        cutoff = found.edge_hz
        check_cutoff(cutoff, f"{args.input}: detected band edge", "; pass --cutoff HZ")
        note = f"detected band edge {cutoff:.0f} Hz, confidence {found.confidence:.2f}"
        print(f"detected cutoff: {cutoff:.0f} Hz, confidence {found.confidence:.2f} ({found.message})")
    elif found.status == "full_band":
        raise ValueError(f"{args.input}: the input is full-band, so --force needs --cutoff HZ (what to regenerate)")
    else:
        raise ValueError(f"{args.input}: {found.message}; pass --cutoff HZ")
    restorer = load_restorer(args)
    restored = restorer.bandwidth_extension(audio, cutoff, n_steps=args.n_steps, seed=args.seed, ode=args.ode,
                                            progress=not args.quiet)
    finish(args, audio, restored, subtype, f"{os.path.basename(args.input)}: bandwidth extension above {cutoff:.0f} Hz",
           edge_mark(args, found, cutoff, note))
    print(f"wrote {args.output}")
    return 0


def edge_mark(args, found, edge_hz, title):
    """What --plot shows beside the spectrograms: the average spectrum the detector saw, with the edge marked."""
    return EdgeMark(edge_hz, found.spectrum_hz, found.spectrum_db, title) if args.plot else None


def build_parser():
    parser = argparse.ArgumentParser(
        description="A2SB bandwidth extension of one audio file: keeps the band below the cutoff and "
                    "regenerates everything above it.")
    add_io_options(parser)
    parser.add_argument("--cutoff", type=float, metavar="HZ",
                        help="frequency above which audio is regenerated, in [500, 22050) Hz (default: the band "
                             "edge detected from the input's spectrum; without a clear edge the tool refuses)")
    parser.add_argument("--force", action="store_true",
                        help="restore even when the input looks full-band (then --cutoff is needed); without it "
                             "a full-band input is copied through to OUT with a 'nothing to do' note")
    add_model_options(parser, "bandwidth_steps")
    return parser


def main(argv=None):
    return run_main(upsample, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
