"""Bandwidth extension of one audio file: regenerate everything above a cutoff frequency.

    python inference/A2SB_upsample_api.py -f DEGRADED.wav -o RESTORED.wav [-n 50] [--cutoff 4000]
    python inference/A2SB_upsample_api.py -f DIR -o OUTDIR [...]      # every audio file under DIR (collection.py)

Without --cutoff the cutoff is the band edge detected from the spectrum (a file recorded below 44.1 kHz has
at most its own Nyquist frequency); the detected edge and its confidence are printed. Where the detector
sees no clear edge it refuses, says what it saw, and asks for --cutoff: it never restores on a guess. A file
that is already full-band is copied through (resampled to 44.1 kHz) with a "nothing to do" note, even with
--cutoff, unless --force is given.
The output is at 44.1 kHz with the input's channels and sample format; OUT.json beside it records what made
it (inference/provenance.py).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from audiokit.band_edge import detect_band_edge  # noqa: E402
from audiokit.cli import run_main  # noqa: E402
from audiokit.constants import SAMPLE_RATE  # noqa: E402
from audiokit.plots import EdgeMark  # noqa: E402
from audiokit.tool_io import output_subtype, read_input  # noqa: E402
from inference import provenance  # noqa: E402
from inference.cli_common import (add_io_options, add_model_options, check_sampling_options, choose_model,  # noqa: E402
                                  finish, load_restorer, prepare_output, write_copy_record, write_record)
from inference.collection import Plan, run_collection  # noqa: E402
from inference.engine import check_cutoff  # noqa: E402


class BandwidthTask:
    """Bandwidth extension as the tools run it on each file: the cutoff given or detected, then the restoration."""
    steps_key = "bandwidth_steps"

    def __init__(self, args):
        self.cutoff, self.force, self.seed, self.ode = args.cutoff, args.force, args.seed, args.ode
        self.settings = {"task": "bandwidth_extension", "cutoff_hz": args.cutoff if args.cutoff is not None
                         else "detect", "force": args.force}

    def plan(self, path, audio, info):
        """Plan("restore", note, {"cutoff_hz": ...}) or Plan("full_band", ...); a ValueError where the file has no
        clear band edge and no --cutoff was given."""
        found = detect_band_edge(audio, SAMPLE_RATE, source_sr=info.sample_rate)
        if found.status == "full_band" and not self.force:
            return Plan("full_band", f"already full-band ({found.message})", detail=found)
        if self.cutoff is not None:
            return Plan("restore", f"cutoff {self.cutoff:g} Hz (given); detector: {found.status}",
                        {"cutoff_hz": self.cutoff, "detected": False}, found)
        if found.status == "edge":
            check_cutoff(found.edge_hz, f"{path}: detected band edge", "; pass --cutoff HZ")
            return Plan("restore", f"detected band edge {found.edge_hz:.0f} Hz, confidence {found.confidence:.2f}",
                        {"cutoff_hz": round(found.edge_hz, 1), "detected": True,
                         "confidence": round(found.confidence, 3)}, found)
        if found.status == "full_band":
            raise ValueError(f"{path}: the input is full-band, so --force needs --cutoff HZ (what to regenerate)")
        raise ValueError(f"{path}: {found.message}; pass --cutoff HZ")

    @staticmethod
    def restored_part(plan):
        return f"above {plan.params['cutoff_hz']:.0f} Hz" if plan.status == "restore" else ""

    def restore(self, restorer, audio, plan, steps, progress):
        return restorer.bandwidth_extension(audio, plan.params["cutoff_hz"], n_steps=steps, seed=self.seed,
                                            ode=self.ode, progress=progress)


def upsample(args):
    check_sampling_options(args)
    if args.cutoff is not None:
        check_cutoff(args.cutoff, "--cutoff")
    task = BandwidthTask(args)
    if os.path.isdir(args.input):
        return run_collection(args, task)
    prepare_output(args)
    audio, info = read_input(args.input)
    subtype = output_subtype(info.subtype, args.output, args.subtype)
    plan = task.plan(args.input, audio, info)
    found = plan.detail
    if plan.status == "full_band":
        write_copy_record(args, task, plan)
        finish(args, audio, audio, subtype, f"{os.path.basename(args.input)}: full band, copied",
               edge_mark(args, found, None, f"full band (confidence {found.confidence:.2f})"))
        print(f"nothing to do: {args.input} is already full-band ({found.message}); copied it to {args.output} "
              "at 44.1 kHz (--force --cutoff HZ restores it anyway)")
        return 0
    cutoff = plan.params["cutoff_hz"]
    if plan.params["detected"]:
        print(f"detected cutoff: {cutoff:.0f} Hz, confidence {found.confidence:.2f} ({found.message})")
    choice = choose_model(args, task.steps_key)
    restorer = load_restorer(args, choice)
    restored = task.restore(restorer, audio, plan, choice.steps, not args.quiet)
    write_record(args, choice, task, plan)
    finish(args, audio, restored, subtype, f"{os.path.basename(args.input)}: bandwidth extension above {cutoff:.0f} Hz",
           edge_mark(args, found, cutoff, plan.message))
    print(f"wrote {args.output} (and {provenance.sidecar_path(args.output)}: what made it)")
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
