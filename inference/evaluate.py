"""Scores a dataset run: every recon.wav against its original.wav.

    python inference/evaluate.py EXP_DIR

EXP_DIR is `<out-root>/<exp>` as written by A2SB_upsample_dataset.py / A2SB_inpaint_dataset.py, holding
`<dataset>/<task>/<file>/{original,recon}.wav`. Metrics per file (stereo: the mean over channels):
- lsd, log_sispec, sispec, ssim: ssr_eval's AudioMetrics(44100) (STFT 2048, hop 441);
- bandwidth tasks (cutoff_freq=<f>): lsd_low and lsd_high, the same LSD over the bins below f and from f up;
- inpainting tasks: lsd_gap, the LSD over the frames whose centre lies in a gap (the rest is copied input,
  so the whole-file LSD mostly measures how much of the file is gap).
Prints a table per data set and writes results.csv (one row per file) and results.json (rows and means).
"""
import argparse
import csv
import json
import os
import sys
from dataclasses import dataclass
from io import StringIO

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import librosa  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from datasets.audio import load_audio  # noqa: E402
from datasets.constants import SAMPLE_RATE  # noqa: E402
from datasets.cli import run_main  # noqa: E402
from inference.cli_common import parse_task, periodic_gaps  # noqa: E402
from datasets.files import write_text  # noqa: E402

METRIC_N_FFT = 2048  # ssr_eval's STFT, not the representation's: same size, other hop
METRIC_HOP = 441  # ssr_eval's hop at 44.1 kHz (10 ms)
EPS = 1e-12  # ssr_eval's
MAX_LENGTH_MISMATCH = 100  # samples; ssr_eval refuses larger differences
METRICS = ("lsd", "lsd_low", "lsd_high", "lsd_gap", "log_sispec", "sispec", "ssim")
COLUMNS = ("dataset", "task", "file") + METRICS


@dataclass(frozen=True)
class Item:
    dataset: str
    task: str
    file: str
    folder: str


def find_items(exp_dir):
    """Every `<dataset>/<task>/<file>/` under exp_dir that holds both recon.wav and original.wav."""
    items = []
    for dataset in sorted(os.listdir(exp_dir)):
        dataset_dir = os.path.join(exp_dir, dataset)
        if not os.path.isdir(dataset_dir):
            continue
        for task in sorted(os.listdir(dataset_dir)):
            task_dir = os.path.join(dataset_dir, task)
            if parse_task(task) is None or not os.path.isdir(task_dir):
                continue
            for name in sorted(os.listdir(task_dir)):
                folder = os.path.join(task_dir, name)
                if all(os.path.isfile(os.path.join(folder, f)) for f in ("recon.wav", "original.wav")):
                    items.append(Item(dataset, task, name, folder))
    return items


def magnitude(audio):
    """|STFT| (bins x frames) as ssr_eval computes it."""
    return np.abs(librosa.stft(audio, n_fft=METRIC_N_FFT, hop_length=METRIC_HOP))


def lsd(est_mag, ref_mag):
    """Log-spectral distance as ssr_eval defines it: mean over frames of the RMS over bins of the log10 ratio
    of powers. Takes (bins x frames) magnitudes, possibly restricted to some bins or frames."""
    log_ratio = np.log10(ref_mag ** 2 / (est_mag + EPS) ** 2 + EPS)
    return float(np.mean(np.sqrt(np.mean(log_ratio ** 2, axis=0))))


def first_bin_from(cutoff_hz):
    """The first STFT bin at or above cutoff_hz; bin k is at frequency k * sr / n_fft."""
    return int(np.ceil(cutoff_hz * METRIC_N_FFT / SAMPLE_RATE))


def band_lsd(est_mag, ref_mag, cutoff_hz):
    """(lsd below cutoff_hz, lsd at and above it)."""
    split = first_bin_from(cutoff_hz)
    return lsd(est_mag[:split], ref_mag[:split]), lsd(est_mag[split:], ref_mag[split:])


def frames_centred_in_gaps(n_frames, gaps):
    """Frames whose centre (frame j is centred on sample j * hop) lies inside one of the gaps."""
    centres = np.arange(n_frames) * METRIC_HOP / SAMPLE_RATE
    inside = np.zeros(n_frames, dtype=bool)
    for start, end in gaps:
        inside |= (centres >= start) & (centres < end)
    return inside


def score_channel(est, ref, task):
    from ssr_eval.metrics import AudioMetrics

    scores = dict.fromkeys(METRICS)
    scores.update(AudioMetrics(SAMPLE_RATE).evaluation(est, ref, None))
    est_mag, ref_mag = magnitude(est), magnitude(ref)
    kind, value = task
    if kind == "bandwidth":
        scores["lsd_low"], scores["lsd_high"] = band_lsd(est_mag, ref_mag, value)
    else:
        inside = frames_centred_in_gaps(ref_mag.shape[1], periodic_gaps(len(ref) / SAMPLE_RATE, *value))
        if inside.any():
            scores["lsd_gap"] = lsd(est_mag[:, inside], ref_mag[:, inside])
    return scores


def score_item(item):
    """Metrics of one recon.wav against its original.wav, averaged over channels."""
    est, _ = load_audio(os.path.join(item.folder, "recon.wav"), mono=False)
    ref, _ = load_audio(os.path.join(item.folder, "original.wav"), mono=False)
    if est.shape[0] != ref.shape[0]:
        raise ValueError(f"{item.folder}: recon has {est.shape[0]} channels, original {ref.shape[0]}")
    if abs(est.shape[1] - ref.shape[1]) > MAX_LENGTH_MISMATCH:
        raise ValueError(f"{item.folder}: recon has {est.shape[1]} samples, original {ref.shape[1]}")
    n = min(est.shape[1], ref.shape[1])
    per_channel = [score_channel(e[:n], r[:n], parse_task(item.task)) for e, r in zip(est, ref)]
    return {key: _mean([c[key] for c in per_channel]) for key in METRICS}


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def summarize(rows):
    """Mean of every metric per (dataset, task), with the file count."""
    groups = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["task"]), []).append(row)
    return [{"dataset": dataset, "task": task, "n": len(group), **{m: _mean([r[m] for r in group]) for m in METRICS}}
            for (dataset, task), group in groups.items()]


def format_tables(summary):
    shown = [m for m in METRICS if any(s[m] is not None for s in summary)]
    lines = []
    for dataset in dict.fromkeys(s["dataset"] for s in summary):
        lines.append(dataset)
        lines.append(f"  {'task':<30} {'n':>4}" + "".join(f" {m:>10}" for m in shown))
        for s in summary:
            if s["dataset"] == dataset:
                cells = "".join(f" {'-' if s[m] is None else format(s[m], '.4f'):>10}" for m in shown)
                lines.append(f"  {s['task']:<30} {s['n']:>4}" + cells)
    return "\n".join(lines)


def to_csv(rows):
    buffer = StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in COLUMNS})
    return buffer.getvalue()


def evaluate(args):
    if not os.path.isdir(args.exp_dir):
        raise ValueError(f"{args.exp_dir}: not a folder")
    items = find_items(args.exp_dir)
    if not items:
        raise ValueError(f"{args.exp_dir}: no <dataset>/<task>/<file>/ folders with recon.wav and original.wav")
    rows, failures = [], []
    for item in tqdm(items, desc="scoring", unit="file", disable=args.quiet):
        try:
            rows.append({"dataset": item.dataset, "task": item.task, "file": item.file, **score_item(item)})
        except (ValueError, OSError) as error:
            failures.append(f"{item.folder}: {error}")
    summary = summarize(rows)
    if rows:
        print(format_tables(summary))
        write_text(os.path.join(args.exp_dir, "results.csv"), to_csv(rows))
        write_text(os.path.join(args.exp_dir, "results.json"),
                   json.dumps({"summary": summary, "files": rows}, indent=2) + "\n")
        print(f"wrote {os.path.join(args.exp_dir, 'results.csv')} and results.json ({len(rows)} files)")
    for failure in failures:
        print(f"failed: {failure}", file=sys.stderr)
    if failures:
        print(f"error: {len(failures)} of {len(items)} files could not be scored", file=sys.stderr)
        return 1
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        description="Score every recon.wav of a dataset run against its original.wav (LSD, band LSD, "
                    "SI-spec, SSIM) and write results.csv and results.json into the experiment folder.")
    parser.add_argument("exp_dir", metavar="EXP_DIR", help="experiment folder <out-root>/<exp>")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv=None):
    return run_main(evaluate, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
