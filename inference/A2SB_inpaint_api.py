"""Inpainting of one audio file: regenerate missing time segments (gaps).

    python inference/A2SB_inpaint_api.py -f IN.wav -o OUT.wav --gaps 1.0-1.2,3.7-4.0 [-n 200]
    python inference/A2SB_inpaint_api.py -f IN.wav -o OUT.wav --detect-gaps [--min-gap-ms 20 --threshold-db -80]

Audio outside the gaps is kept. The output is at 44.1 kHz with the input's channels and sample format.
"""
import argparse
import inspect
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from datasets.constants import SAMPLE_RATE  # noqa: E402
from datasets.cli import run_main  # noqa: E402
from inference.cli_common import (add_io_options, add_model_options, check_sampling_options, finish,  # noqa: E402
                                  load_restorer, prepare_output)
from inference.engine import INPAINT_MODES  # noqa: E402
from inference.gaps import detect_gaps, validate_gaps  # noqa: E402
from datasets.audio_io import output_subtype, read_input  # noqa: E402

_DETECT_DEFAULTS = {name: p.default for name, p in inspect.signature(detect_gaps).parameters.items()}


def parse_gaps(text):
    """'1.0-1.2,3.7-4.0' -> [(1.0, 1.2), (3.7, 4.0)] (seconds)."""
    gaps = []
    for part in text.split(","):
        start, sep, end = part.strip().partition("-")
        try:
            gaps.append((float(start), float(end)))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"bad gap {part.strip()!r}: expected START-END in seconds, e.g. 1.0-1.2") from None
        if not sep:
            raise argparse.ArgumentTypeError(f"bad gap {part.strip()!r}: expected START-END in seconds")
    return gaps


def describe(gaps):
    return ", ".join(f"{start:.3f}-{end:.3f} s" for start, end in gaps)


def inpaint(args):
    check_sampling_options(args)
    prepare_output(args)
    audio, info = read_input(args.input)
    subtype = output_subtype(info.subtype, args.output, args.subtype)
    duration = audio.shape[1] / SAMPLE_RATE
    if args.detect_gaps:
        gaps = detect_gaps(audio, SAMPLE_RATE, min_ms=args.min_gap_ms, threshold_db=args.threshold_db)
        if not gaps:
            finish(args, audio, audio, subtype, f"{os.path.basename(args.input)}: no gaps, copied")
            print(f"nothing to do: no gaps found in {args.input}; copied it to {args.output} at 44.1 kHz")
            return 0
        print(f"detected {len(gaps)} gap(s): {describe(gaps)}")
    else:
        gaps = args.gaps
    try:
        validate_gaps(gaps, duration)
    except ValueError as error:
        raise ValueError(f"{args.input}: {error}") from None
    restorer = load_restorer(args)
    restored = restorer.inpaint(audio, gaps, n_steps=args.n_steps, seed=args.seed, ode=args.ode, mode=args.mode,
                                progress=not args.quiet)
    finish(args, audio, restored, subtype, f"{os.path.basename(args.input)}: inpainted {describe(gaps)}")
    print(f"wrote {args.output}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        description="A2SB inpainting of one audio file: regenerates the given time gaps and keeps the rest.")
    add_io_options(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--gaps", type=parse_gaps, metavar="S-E[,S-E...]",
                       help="gaps to regenerate, in seconds: START-END pairs separated by commas, e.g. 1.0-1.2,3.7-4.0")
    which.add_argument("--detect-gaps", action="store_true",
                       help="find the gaps automatically: stretches quieter than --threshold-db lasting at least "
                            "--min-gap-ms (dropouts); a file without any is copied through")
    parser.add_argument("--min-gap-ms", type=float, default=_DETECT_DEFAULTS.get("min_ms"),
                        help="shortest silent stretch counted as a gap, in ms (default %(default)s)")
    parser.add_argument("--threshold-db", type=float, default=_DETECT_DEFAULTS.get("threshold_db"),
                        help="level in dBFS below which audio counts as missing (default %(default)s)")
    parser.add_argument("--mode", choices=INPAINT_MODES, default="auto",
                        help="shortcut: sample only one model window around each gap (fast; for short gaps "
                             "far apart); full: sample the whole file; auto (default): shortcut when it is valid")
    add_model_options(parser, "inpainting_steps")
    return parser


def main(argv=None):
    return run_main(inpaint, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
