"""Inpainting of one audio file: regenerate missing time segments (gaps).

    python inference/A2SB_inpaint_api.py -f IN.wav -o OUT.wav --gaps 1.0-1.2,3.7-4.0 [-n 200]
    python inference/A2SB_inpaint_api.py -f IN.wav -o OUT.wav --detect-gaps [--min-gap-ms 20 --threshold-db -80]
    python inference/A2SB_inpaint_api.py -f DIR -o OUTDIR --detect-gaps   # every audio file under DIR (collection.py)

Audio outside the gaps is kept. The output is at 44.1 kHz with the input's channels and sample format; OUT.json
beside it records what made it (inference/provenance.py).
"""
import argparse
import inspect
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from audiokit.cli import run_main  # noqa: E402
from audiokit.constants import SAMPLE_RATE  # noqa: E402
from audiokit.tool_io import output_subtype, read_input  # noqa: E402
from inference import provenance  # noqa: E402
from inference.cli_common import (add_io_options, add_model_options, check_sampling_options, choose_model,  # noqa: E402
                                  finish, load_restorer, prepare_output, write_copy_record, write_record)
from inference.collection import Plan, run_collection  # noqa: E402
from inference.engine import INPAINT_MODES  # noqa: E402
from inference.gaps import detect_gaps, validate_gaps  # noqa: E402

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


class InpaintTask:
    """Inpainting as the tools run it on each file: the gaps given or detected, then the restoration."""
    steps_key = "inpainting_steps"

    def __init__(self, args):
        self.args = args
        self.settings = {"task": "inpainting", "mode": args.mode,
                         "gaps": [list(gap) for gap in args.gaps] if args.gaps else
                         {"detect": True, "min_gap_ms": args.min_gap_ms, "threshold_db": args.threshold_db}}

    def plan(self, path, audio, info):
        """Plan("restore", note, {"gaps": ...}) or Plan("no_gaps", ...); a ValueError for gaps outside the file."""
        if self.args.detect_gaps:
            gaps = detect_gaps(audio, SAMPLE_RATE, min_ms=self.args.min_gap_ms, threshold_db=self.args.threshold_db)
            if not gaps:
                return Plan("no_gaps", f"no gaps found (quieter than {self.args.threshold_db:g} dBFS for "
                                       f"{self.args.min_gap_ms:g} ms)")
            note = f"detected {len(gaps)} gap(s): {describe(gaps)}"
        else:
            gaps, note = self.args.gaps, f"gaps {describe(self.args.gaps)} (given)"
        try:
            validate_gaps(gaps, audio.shape[1] / SAMPLE_RATE)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        return Plan("restore", note, {"gaps": [[round(start, 4), round(end, 4)] for start, end in gaps],
                                      "detected": bool(self.args.detect_gaps)})

    @staticmethod
    def restored_part(plan):
        return describe(plan.params["gaps"]) if plan.status == "restore" else ""

    def restore(self, restorer, audio, plan, steps, progress):
        return restorer.inpaint(audio, [tuple(gap) for gap in plan.params["gaps"]], n_steps=steps,
                                seed=self.args.seed, ode=self.args.ode, mode=self.args.mode, progress=progress)


def inpaint(args):
    check_sampling_options(args)
    task = InpaintTask(args)
    if os.path.isdir(args.input):
        return run_collection(args, task)
    prepare_output(args)
    audio, info = read_input(args.input)
    subtype = output_subtype(info.subtype, args.output, args.subtype)
    plan = task.plan(args.input, audio, info)
    if plan.status == "no_gaps":
        write_copy_record(args, task, plan)
        finish(args, audio, audio, subtype, f"{os.path.basename(args.input)}: no gaps, copied")
        print(f"nothing to do: no gaps found in {args.input}; copied it to {args.output} at 44.1 kHz")
        return 0
    if args.detect_gaps:
        print(plan.message)
    choice = choose_model(args, task.steps_key)
    restorer = load_restorer(args, choice)
    restored = task.restore(restorer, audio, plan, choice.steps, not args.quiet)
    write_record(args, choice, task, plan)
    finish(args, audio, restored, subtype, f"{os.path.basename(args.input)}: inpainted {task.restored_part(plan)}")
    print(f"wrote {args.output} (and {provenance.sidecar_path(args.output)}: what made it)")
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
