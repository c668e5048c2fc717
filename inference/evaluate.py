"""Scores a dataset run: every recon.wav against its original.wav.

    python inference/evaluate.py EXP_DIR

EXP_DIR is `<out-root>/<exp>` as written by A2SB_upsample_dataset.py / A2SB_inpaint_dataset.py, holding
`<dataset>/<task>/<file>/{original,recon}.wav`. Metrics per file (stereo: the mean over channels):
- lsd, log_sispec, sispec, ssim: ssr_eval's AudioMetrics(44100) (STFT 2048, hop 441);
- bandwidth tasks (cutoff_freq=<f>): lsd_low and lsd_high, the same LSD over the bins below f and from f up;
- inpainting tasks: lsd_gap, the LSD over the frames whose centre lies in a gap (the rest is copied input,
  so the whole-file LSD mostly measures how much of the file is gap).
Whether the regenerated part follows the music (LSD averages over frames, so a steady noise bed at the right
average level can score well; these cannot be fooled that way):
- env_corr: correlation over frames of the regenerated region's level (dB) with the original's. Bandwidth
  tasks: the band from the cutoff to the original's own band edge; inpainting: the gap frames with
  GAP_CONTEXT_FRAMES neighbours on each side, below the edge. 1 follows the music, 0 a steady bed.
- silence_db: the regenerated region's level in the frames where the original is silent there (SILENT_DB
  under its mean level; for inpainting only gap frames), relative to its level where the original is active.
  -96 dB is digital silence kept silent; a steady bed scores about 0.
- lsd_band and lsd_above_edge (bandwidth tasks): lsd_high split at the original's band edge, so a method is
  not judged on a band that the original never had (a codec's empty top octave).
- visqol: ViSQOL v3's MOS-LQO in audio mode (1 to 5, the perceptual score the field reports; visqol-python),
  on the whole file resampled to 48 kHz as ViSQOL's audio mode expects; with --no-visqol it is left out.
The band edge is the one audiokit/band_edge.py finds in the original (its Nyquist when it finds none).
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

from audiokit.cli import run_main  # noqa: E402
from audiokit.constants import SAMPLE_RATE  # noqa: E402
from audiokit.decoding import load_audio  # noqa: E402
from audiokit.files import write_text  # noqa: E402
from corrupt.waveform import periodic_gaps  # noqa: E402
from inference.cli_common import parse_task  # noqa: E402

METRIC_N_FFT = 2048  # ssr_eval's STFT, not the representation's: same size, other hop
METRIC_HOP = 441  # ssr_eval's hop at 44.1 kHz (10 ms)
EPS = 1e-12  # ssr_eval's
MAX_LENGTH_MISMATCH = 100  # samples; ssr_eval refuses larger differences
# Envelope metrics: levels more than ENVELOPE_RANGE_DB under the original's loudest frame all count as that
# floor (digital silence and a -150 dB noise floor are both "off"); frames SILENT_DB under the original's mean
# level are silent, frames within ACTIVE_DB of it active; fewer than MIN_SILENT_FRAMES silent frames: no score.
ENVELOPE_RANGE_DB = 80.0
SILENT_DB = 50.0
ACTIVE_DB = 20.0
MIN_SILENT_FRAMES = 3
MIN_LEVEL_SPREAD_DB = 1.0  # an original whose level hardly moves gives no envelope to follow
GAP_CONTEXT_FRAMES = 10  # 0.1 s each side of a gap: the envelope must join its surroundings
VISQOL_RATE = 48000  # ViSQOL's audio mode works at 48 kHz
METRICS = ("lsd", "lsd_low", "lsd_high", "lsd_band", "lsd_above_edge", "lsd_gap", "env_corr", "silence_db",
           "log_sispec", "sispec", "ssim", "visqol")
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


def band_edge_hz(ref):
    """The original's own band edge: where audiokit/band_edge.py finds one, else its Nyquist frequency."""
    from audiokit.band_edge import detect_band_edge

    found = detect_band_edge(ref[None])
    return found.edge_hz if found.status == "edge" else SAMPLE_RATE / 2


def frame_levels_db(mag, bins):
    """Per-frame power (dB) of the rows in `bins` of a (bins x frames) magnitude."""
    return 10 * np.log10(np.mean(mag[bins] ** 2, axis=0) + EPS)


def envelope_scores(est_mag, ref_mag, bins, frames=None, judged=None):
    """(env_corr, silence_db) of the rows `bins` over the frames `frames` (bool, all when None); silence is
    judged in the frames `judged` (a subset of `frames`, all of them when None). None where undefined."""
    n_frames = ref_mag.shape[1]
    frames = np.ones(n_frames, bool) if frames is None else frames
    judged = frames if judged is None else judged & frames
    if not frames.any() or bins.start >= bins.stop:
        return None, None
    ref_db, est_db = frame_levels_db(ref_mag, bins), frame_levels_db(est_mag, bins)
    floor = ref_db[frames].max() - ENVELOPE_RANGE_DB
    ref_env, est_env = np.maximum(ref_db[frames], floor), np.maximum(est_db[frames], floor)
    corr = None
    if ref_env.std() * 2 >= MIN_LEVEL_SPREAD_DB:
        # a restoration whose level never moves follows nothing: correlation 0, not undefined
        corr = float(np.corrcoef(ref_env, est_env)[0, 1]) if est_env.std() > 0 else 0.0
    mean_db = 10 * np.log10(np.mean(10 ** (ref_db[frames] / 10)))
    silent = judged & (ref_db < mean_db - SILENT_DB)
    active = frames & (ref_db >= mean_db - ACTIVE_DB)
    silence = None
    if silent.sum() >= MIN_SILENT_FRAMES and active.any():
        est_power = 10 ** (est_db / 10)
        silence = float(10 * np.log10((est_power[silent].mean() + EPS) / (est_power[active].mean() + EPS)))
    return corr, silence


def gap_frames(n_frames, gaps, context=0):
    """Frames whose centre lies in a gap, widened by `context` frames on each side."""
    inside = frames_centred_in_gaps(n_frames, gaps)
    if context:
        inside = np.convolve(inside, np.ones(2 * context + 1), mode="same") > 0
    return inside


def visqol_score(est, ref):
    """ViSQOL v3 MOS-LQO in audio mode of est against ref (mono, 44.1 kHz)."""
    import soxr
    from visqol import VisqolApi

    api = VisqolApi()
    api.create(mode="audio")
    up = [soxr.resample(np.asarray(x, np.float64), SAMPLE_RATE, VISQOL_RATE) for x in (ref, est)]
    return float(api.measure_from_arrays(up[0], up[1], VISQOL_RATE).moslqo)


def frames_centred_in_gaps(n_frames, gaps):
    """Frames whose centre (frame j is centred on sample j * hop) lies inside one of the gaps."""
    centres = np.arange(n_frames) * METRIC_HOP / SAMPLE_RATE
    inside = np.zeros(n_frames, dtype=bool)
    for start, end in gaps:
        inside |= (centres >= start) & (centres < end)
    return inside


def score_channel(est, ref, task, gaps=None, visqol=True):
    """Every metric of one channel; `gaps` (seconds) overrides the task's periodic gaps."""
    from ssr_eval.metrics import AudioMetrics

    scores = dict.fromkeys(METRICS)
    scores.update(AudioMetrics(SAMPLE_RATE).evaluation(est, ref, None))
    est_mag, ref_mag = magnitude(est), magnitude(ref)
    edge = first_bin_from(band_edge_hz(ref))
    kind, value = task
    if kind == "bandwidth":
        scores["lsd_low"], scores["lsd_high"] = band_lsd(est_mag, ref_mag, value)
        low = first_bin_from(value)
        if edge > low:
            scores["lsd_band"] = lsd(est_mag[low:edge], ref_mag[low:edge])
            scores["env_corr"], scores["silence_db"] = envelope_scores(est_mag, ref_mag, slice(low, edge))
        if edge < ref_mag.shape[0]:
            scores["lsd_above_edge"] = lsd(est_mag[max(low, edge):], ref_mag[max(low, edge):])
    else:
        gaps = periodic_gaps(len(ref) / SAMPLE_RATE, *value) if gaps is None else gaps
        inside = gap_frames(ref_mag.shape[1], gaps)
        if inside.any():
            scores["lsd_gap"] = lsd(est_mag[:, inside], ref_mag[:, inside])
            around = gap_frames(ref_mag.shape[1], gaps, GAP_CONTEXT_FRAMES)
            scores["env_corr"], scores["silence_db"] = envelope_scores(est_mag, ref_mag, slice(0, edge), around,
                                                                       inside)
    if visqol:
        scores["visqol"] = visqol_score(est, ref)
    return scores


def score_item(item, visqol=True):
    """Metrics of one recon.wav against its original.wav, averaged over channels."""
    est, _ = load_audio(os.path.join(item.folder, "recon.wav"), mono=False)
    ref, _ = load_audio(os.path.join(item.folder, "original.wav"), mono=False)
    if est.shape[0] != ref.shape[0]:
        raise ValueError(f"{item.folder}: recon has {est.shape[0]} channels, original {ref.shape[0]}")
    if abs(est.shape[1] - ref.shape[1]) > MAX_LENGTH_MISMATCH:
        raise ValueError(f"{item.folder}: recon has {est.shape[1]} samples, original {ref.shape[1]}")
    n = min(est.shape[1], ref.shape[1])
    per_channel = [score_channel(e[:n], r[:n], parse_task(item.task), visqol=visqol) for e, r in zip(est, ref)]
    return {key: mean([c[key] for c in per_channel]) for key in METRICS}


def mean(values):
    """Mean of the values that are not None; None when none is."""
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def summarize(rows, keys=("dataset", "task"), metrics=METRICS):
    """Mean of every metric per group of rows sharing `keys`, with the row count, groups in order of appearance."""
    groups = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    return [{**dict(zip(keys, key)), "n": len(group), **{m: mean([r[m] for r in group]) for m in metrics}}
            for key, group in groups.items()]


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


def to_csv(rows, columns=COLUMNS):
    """CSV text of the rows' `columns`, None as an empty cell."""
    buffer = StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in columns})
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
            rows.append({"dataset": item.dataset, "task": item.task, "file": item.file,
                         **score_item(item, visqol=args.visqol)})
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
    parser.add_argument("--no-visqol", dest="visqol", action="store_false",
                        help="leave out ViSQOL (its audio mode takes about 3 s per 10 s of audio on a 2-core CPU)")
    return parser


def main(argv=None):
    return run_main(evaluate, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
