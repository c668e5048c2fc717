"""Restoration quality on real music: the degraded input, a classical baseline and this project's models.

    python benchmarks/quality.py --manifest real_manifest.csv --model small=configs/small_cpu.yaml:last.ckpt
    python benchmarks/quality.py --folder my_music/ --model a=cfg.yaml:x.ckpt --model b=cfg.yaml:lo.ckpt,hi.ckpt \\
        --tasks bwe4000,inpaint --steps 5,10,25,50 --samplers sde,ode --out quality_run

From each test file (a manifest's split, or every audio file of a folder) --excerpts-per-file mono excerpts are
taken (one by default), the k-th at a position drawn from (seed, file name) in the k-th equal stretch of the
file. Each task degrades them as the dataset tools do:
- bweF: bandwidth extension from F Hz, degraded by resampling down to 2F and back
  (corrupt/waveform.band_limit);
- inpaint: gaps of 0.3 s centred in every 5 s, zeroed (corrupt/waveform.silence_gaps).
Methods, all given the same excerpts: the degraded input itself, the classical baseline of the task
(benchmarks/baselines.py: spectral band replication, LPC interpolation), and every --model at every
--steps and --samplers (same seed for all). Scores are inference/evaluate.py's, computed on the files it
would read, so `python inference/evaluate.py OUT/runs/<method>` prints the same numbers.

Level sweep: each model also restores the excerpts scaled by --gains (x0.03, x0.3; x1 is the main run), at
the largest --steps and the first sampler; the output is scaled back before scoring. Per gain it reports
the LSD of the regenerated part (above the cutoff / inside the gaps) and the level ratio there (restored
RMS over the original's RMS, 1 = right level): a quiet master should come back as well as a loud one.
--level-norm both runs every model with and without the engine's input-level normalisation
(normalize_level) to show the sweep before and after.

OUT holds:
- results.md: every table (with, per model, the share of excerpts where it beats the baseline); per task
  <task>.md, <task>.csv (one row per method and file), <task>.json (means and rows), <task>.png
  (spectrograms of the first excerpt: original, degraded, baseline, models);
- excerpts/<task>/<file>/{original,degraded}.wav, and runs/<method>/gain=<g>/<task>/<file>/recon.wav
  (evaluate.py's layout, with original.wav linked in, and degraded.wav too at gain 1, for listening) plus
  time.json (compute seconds) and scores.json.
A rerun into the same OUT restores and scores only what is missing; it refuses an OUT made with other
excerpt settings.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from audiokit.cli import run_main  # noqa: E402
from audiokit.constants import SAMPLE_RATE  # noqa: E402
from audiokit.decoding import info, load_audio, read_segment  # noqa: E402
from audiokit.files import write_text  # noqa: E402
from audiokit.plots import save_spectrogram_png  # noqa: E402
from audiokit.tool_io import write_audio  # noqa: E402
from benchmarks.baselines import band_replication, lpc_inpaint  # noqa: E402
from corrupt.waveform import band_limit, file_gaps, periodic_gaps, silence_gaps  # noqa: E402
from datasets.manifest import read_manifest  # noqa: E402
from datasets.prepare_manifest import find_audio  # noqa: E402
from inference import evaluate  # noqa: E402
from inference import released  # noqa: E402
from inference.cli_common import bandwidth_task, inpaint_task, item_folder_name  # noqa: E402
from inference.engine import Restorer  # noqa: E402
from inference.engine import check_cutoff  # noqa: E402
from models.bridge import check_steps  # noqa: E402

GAP_SECONDS, GAP_PERIOD = 0.3, 5.0
MIN_EXCERPT_SECONDS = 3.0  # room for the first 0.3 s gap (2.35-2.65 s) and some context after it
SAMPLERS = ("sde", "ode")
BASELINE_LABELS = {"bandwidth": "band replication", "inpaint": "LPC interpolation"}
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*$")
RESERVED_NAMES = ("degraded", "baseline")
SETTINGS_FILE = "settings.json"


# ---- what is measured ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Task:
    name: str  # as given: bwe4000, inpaint
    folder: str  # evaluate.py's task folder name
    kind: str  # "bandwidth" | "inpaint"
    cutoff_hz: float = 0.0

    def degrade(self, audio):
        if self.kind == "bandwidth":
            return band_limit(audio, self.cutoff_hz)
        return silence_gaps(audio, self.gaps(audio))

    def gaps(self, audio):
        return file_gaps(audio, GAP_SECONDS, GAP_PERIOD)

    @property
    def region_metric(self):
        return "lsd_high" if self.kind == "bandwidth" else "lsd_gap"


def parse_tasks(text):
    tasks = []
    for name in (part.strip() for part in text.split(",") if part.strip()):
        if name == "inpaint":
            tasks.append(Task(name, inpaint_task(GAP_SECONDS, GAP_PERIOD), "inpaint"))
        elif re.fullmatch(r"bwe[0-9]+", name):
            cutoff = float(name[3:])
            check_cutoff(cutoff, f"--tasks {name}")
            tasks.append(Task(name, bandwidth_task(cutoff), "bandwidth", cutoff))
        else:
            raise ValueError(f"--tasks: unknown task {name!r} (expected bwe<cutoff Hz>, e.g. bwe4000, or inpaint)")
    if not tasks:
        raise ValueError("--tasks: no task given")
    return tasks


@dataclass(frozen=True)
class Excerpt:
    name: str  # folder name: inference/cli_common.item_folder_name of the file's relative path
    path: str
    start_s: float
    seconds: float


def choose_excerpts(files, excerpt_seconds, max_files, seed, per_file=1):
    """[(relative name, path)] -> Excerpts: max_files files drawn by a hash of (seed, name), `per_file` excerpts
    from each, the k-th at a position drawn from the same hash inside the k-th of per_file equal stretches of
    the file (so they never overlap), and the choice does not depend on listing order. Unreadable files, and
    files too short for one excerpt per stretch, are skipped: returns (excerpts, ["path: reason"])."""
    keyed = sorted(files, key=lambda item: _hash(seed, item[0]))
    excerpts, skipped, n_files = [], [], 0
    for relative, path in keyed:
        if max_files is not None and n_files == max_files:
            break
        try:
            duration = info(path).duration
        except ValueError as error:  # AudioReadError: its message names the file
            skipped.append(str(error))
            continue
        stretch = duration / per_file
        seconds = min(excerpt_seconds, stretch)
        if seconds < MIN_EXCERPT_SECONDS:
            need = MIN_EXCERPT_SECONDS * per_file
            skipped.append(f"{path}: too short ({duration:.2f} s, need {need:g} s)")
            continue
        n_files += 1
        for k in range(per_file):
            key = relative if k == 0 else f"{relative}#{k}"
            room = stretch - seconds
            start = round(k * stretch + room * (_hash(seed + 1, key) % 10 ** 6) / 10 ** 6, 2)
            name = item_folder_name(relative) + ("" if per_file == 1 else f"__{k}")
            excerpts.append(Excerpt(name, path, start, seconds))
    return sorted(excerpts, key=lambda e: e.name), skipped


def _hash(seed, text):
    return int(hashlib.sha256(f"{seed}\0{text}".encode()).hexdigest()[:15], 16)


def input_files(args):
    """[(name relative to the manifest or folder, absolute path)] of the files to measure."""
    if args.folder:
        if not os.path.isdir(args.folder):
            raise ValueError(f"{args.folder}: not a folder")
        return [(relative, os.path.join(args.folder, relative)) for relative in find_audio(args.folder)]
    base = os.path.dirname(os.path.abspath(args.manifest))
    return [(os.path.relpath(row.path, base), row.path) for row in read_manifest(args.manifest, splits=[args.split])]


# ---- methods -------------------------------------------------------------------------------------------

@dataclass
class Model:
    """A --model group: loaded on first use, once for the whole run."""
    name: str
    config: str
    checkpoints: list
    device: str | None
    overrides: dict
    _restorer: Restorer | None = None

    def load(self):
        if self._restorer is None:
            self._restorer = Restorer.from_config(self.config, checkpoints=self.checkpoints, device=self.device,
                                                  **self.overrides)
        return self._restorer


def parse_model(text, device, level_norm):
    """NAME=CONFIG:CKPT[,CKPT...], or a model name of inference/released.py (`small`: its config and files)
    -> [Model]: one, or with level_norm "both" NAME-norm and NAME-raw."""
    if text in released.MODELS:
        name, config, checkpoints = text, released.model_config(text), released.model_files(text)
    else:
        name, _, rest = text.partition("=")
        config, _, checkpoints = rest.partition(":")
        checkpoints = [path for path in checkpoints.split(",") if path]
    if not (name and config and checkpoints):
        raise ValueError(f"--model {text!r}: expected NAME=CONFIG:CKPT[,CKPT...] or one of "
                         f"{', '.join(released.MODELS)}")
    if not MODEL_NAME.match(name) or name in RESERVED_NAMES:
        raise ValueError(f"--model {text!r}: NAME must be letters, digits, '_', '.', '-' and not one of "
                         f"{', '.join(RESERVED_NAMES)}")
    for path in (config, *checkpoints):
        if not os.path.isfile(path):
            raise ValueError(f"--model {name}: {path}: file not found")
    if level_norm == "both":
        return [Model(f"{name}-norm", config, checkpoints, device, {"normalize_level": True}),
                Model(f"{name}-raw", config, checkpoints, device, {"normalize_level": False})]
    overrides = {} if level_norm == "config" else {"normalize_level": level_norm == "on"}
    return [Model(name, config, checkpoints, device, overrides)]


@dataclass(frozen=True)
class Method:
    slug: str  # folder under OUT/runs
    model: Model | None = None
    sampler: str = ""
    steps: int = 0

    def label(self, task):
        if self.model is None:
            return "degraded input" if self.slug == "degraded" else BASELINE_LABELS[task.kind]
        return self.model.name

    def restore(self, task, degraded, seed):
        if self.slug == "degraded":
            return degraded
        if self.model is None:
            if task.kind == "bandwidth":
                return band_replication(degraded, task.cutoff_hz)
            return lpc_inpaint(degraded, task.gaps(degraded))
        options = {"n_steps": self.steps, "seed": seed, "ode": self.sampler == "ode", "progress": False}
        if task.kind == "bandwidth":
            return self.model.load().bandwidth_extension(degraded, task.cutoff_hz, **options)
        return self.model.load().inpaint(degraded, task.gaps(degraded), **options)


def all_methods(models, samplers, steps):
    methods = [Method("degraded"), Method("baseline")]
    for model in models:
        methods += [Method(f"{model.name}_{sampler}_{n}", model, sampler, n) for sampler in samplers for n in steps]
    return methods


def sweep_method(methods, model, samplers, steps):
    """The model's run that the level sweep repeats: the first sampler at the most steps."""
    return next(m for m in methods if m.model is model and m.sampler == samplers[0] and m.steps == max(steps))


# ---- running -------------------------------------------------------------------------------------------

def gain_folder(gain):
    return f"gain={gain:g}"


def excerpt_dir(out, task, excerpt):
    return os.path.join(out, "excerpts", task.folder, excerpt.name)


def run_dir(out, method, gain, task, excerpt):
    return os.path.join(out, "runs", method.slug, gain_folder(gain), task.folder, excerpt.name)


def write_excerpts(out, tasks, excerpts):
    """excerpts/<task>/<file>/original.wav and degraded.wav, once."""
    for excerpt in excerpts:
        audio = None
        for task in tasks:
            folder = excerpt_dir(out, task, excerpt)
            if os.path.isfile(os.path.join(folder, "degraded.wav")):
                continue
            if audio is None:
                audio = read_segment(excerpt.path, excerpt.start_s, round(excerpt.seconds * SAMPLE_RATE))[None]
            os.makedirs(folder, exist_ok=True)
            write_audio(os.path.join(folder, "original.wav"), audio)
            write_audio(os.path.join(folder, "degraded.wav"), task.degrade(audio))


def link_or_copy(source, target):
    if not os.path.exists(target):
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)


def restore_all(args, method, task, excerpts, gain):
    """Restores every excerpt not done yet: recon.wav (last, it marks the item done) and time.json."""
    todo = [e for e in excerpts if not os.path.isfile(os.path.join(run_dir(args.out, method, gain, task, e),
                                                                   "recon.wav"))]
    if todo and method.model is not None:
        method.model.load()  # outside the timed calls
    desc = f"{method.slug} {task.name} {gain_folder(gain)}"
    for excerpt in tqdm(todo, desc=desc, unit="file", disable=args.quiet or not todo):
        source = excerpt_dir(args.out, task, excerpt)
        folder = run_dir(args.out, method, gain, task, excerpt)
        os.makedirs(folder, exist_ok=True)
        original, _ = load_audio(os.path.join(source, "original.wav"))
        degraded = task.degrade(original * np.float32(gain))
        began = time.perf_counter()
        restored = method.restore(task, degraded, args.seed) / np.float32(gain)
        seconds = time.perf_counter() - began
        link_or_copy(os.path.join(source, "original.wav"), os.path.join(folder, "original.wav"))
        if gain == 1:  # what went in, beside what came out, for listening
            link_or_copy(os.path.join(source, "degraded.wav"), os.path.join(folder, "degraded.wav"))
        write_text(os.path.join(folder, "time.json"), json.dumps({"compute_s": seconds}) + "\n")
        write_audio(os.path.join(folder, "recon.wav"), restored)


def level_ratio(folder, task):
    """RMS of the restored audio over the original's in the regenerated region (evaluate.py's STFT: the bins
    from the cutoff up, or the frames whose whole window lies in a gap, so no context leaks into the level)."""
    original = load_audio(os.path.join(folder, "original.wav"))[0][0]
    est = evaluate.magnitude(load_audio(os.path.join(folder, "recon.wav"))[0][0])
    ref = evaluate.magnitude(original)
    if task.kind == "bandwidth":
        region = np.s_[evaluate.first_bin_from(task.cutoff_hz):, :]
    else:
        half = evaluate.METRIC_N_FFT / 2 / SAMPLE_RATE
        gaps = periodic_gaps(len(original) / SAMPLE_RATE, GAP_SECONDS, GAP_PERIOD)
        inner = [(start + half, end - half) for start, end in gaps]
        region = np.s_[:, evaluate.frames_centred_in_gaps(ref.shape[1], inner)]
    return float(np.sqrt(np.sum(est[region] ** 2) / max(np.sum(ref[region] ** 2), evaluate.EPS)))


def scores_of(args, method, task, excerpt, gain):
    """evaluate.py's metrics of one restored excerpt, plus the level ratio and compute time (cached)."""
    folder = run_dir(args.out, method, gain, task, excerpt)
    cache = os.path.join(folder, "scores.json")
    if os.path.isfile(cache):
        with open(cache) as f:
            scores = json.load(f)
        if set(evaluate.METRICS) <= set(scores) and (scores["visqol"] is not None or not args.visqol):
            return scores  # else scored before a metric was added (or without ViSQOL): score again
    item = evaluate.Item(gain_folder(gain), task.folder, excerpt.name, folder)
    scores = evaluate.score_item(item, visqol=args.visqol)
    scores["level_ratio"] = level_ratio(folder, task)
    with open(os.path.join(folder, "time.json")) as f:
        scores["compute_s"] = json.load(f)["compute_s"]
    write_text(cache, json.dumps(scores) + "\n")
    return scores


# ---- reporting -----------------------------------------------------------------------------------------

def task_rows(args, methods, task, excerpts):
    """One row per method and excerpt at gain 1."""
    rows = []
    for method in methods:
        for excerpt in excerpts:
            scores = scores_of(args, method, task, excerpt, 1.0)
            rows.append({"method": method.label(task), "sampler": method.sampler, "steps": method.steps or "",
                         "file": excerpt.name, "seconds": excerpt.seconds, **scores})
    return rows


def summarize(rows, keys):
    """evaluate.summarize over the metrics and the level ratio, plus compute time as seconds per second of audio."""
    summary = evaluate.summarize(rows, keys, (*evaluate.METRICS, "level_ratio"))
    for entry in summary:
        group = [row for row in rows if all(row[k] == entry[k] for k in keys)]
        entry["compute_s_per_s"] = sum(r["compute_s"] for r in group) / sum(r["seconds"] for r in group)
    return summary


def markdown_table(summary, columns):
    """columns: [(header, key, format)]."""
    lines = ["| " + " | ".join(h for h, _, _ in columns) + " |", "|" + "---|" * len(columns)]
    for row in summary:
        cells = ["-" if row[key] in (None, "") else format(row[key], fmt) for _, key, fmt in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def task_columns(task):
    band = [("LSD low", "lsd_low", ".3f"), ("LSD high", "lsd_high", ".3f"), ("LSD to edge", "lsd_band", ".3f"),
            ("LSD above edge", "lsd_above_edge", ".3f")] if task.kind == "bandwidth" else \
        [("LSD gap", "lsd_gap", ".3f")]
    return [("method", "method", ""), ("sampler", "sampler", ""), ("steps", "steps", ""), ("files", "n", "d"),
            ("LSD", "lsd", ".3f"), *band, ("envelope corr", "env_corr", ".2f"),
            ("level in silence dB", "silence_db", ".1f"), ("ViSQOL", "visqol", ".2f"),
            ("log-SiSpec", "log_sispec", ".3f"), ("SiSpec", "sispec", ".3f"), ("SSIM", "ssim", ".4f"),
            ("compute s / audio s", "compute_s_per_s", ".3f")]


def task_report(args, methods, task, excerpts):
    """Writes <task>.md/.csv/.json; returns the Markdown section and the summary rows."""
    rows = task_rows(args, methods, task, excerpts)
    summary = summarize(rows, ("method", "sampler", "steps"))
    title = f"## {task.name} ({task.folder}), {len(excerpts)} excerpts of up to {args.excerpt_seconds:g} s"
    section = f"{title}\n\n{markdown_table(summary, task_columns(task))}\n"
    write_text(os.path.join(args.out, f"{task.name}.md"), section)
    columns = ["method", "sampler", "steps", "file", "seconds", *evaluate.METRICS, "level_ratio", "compute_s"]
    write_text(os.path.join(args.out, f"{task.name}.csv"), evaluate.to_csv(rows, columns))
    write_text(os.path.join(args.out, f"{task.name}.json"),
               json.dumps({"task": task.folder, "summary": summary, "files": rows}, indent=2) + "\n")
    return section, summary


def steps_section(tasks, summaries):
    """Per model, sampler and steps: the regenerated part's LSD in each task and the compute per audio second."""
    rows = {}
    for task, summary in zip(tasks, summaries):
        for row in summary:
            if row["sampler"]:
                entry = rows.setdefault((row["method"], row["sampler"], row["steps"]), {"compute": []})
                entry[task.name] = row[task.region_metric]
                entry["compute"].append(row["compute_s_per_s"])
    table = [{"model": model, "sampler": sampler, "steps": steps, **entry, "compute": evaluate.mean(entry["compute"])}
             for (model, sampler, steps), entry in rows.items()]
    columns = [("model", "model", ""), ("sampler", "sampler", ""), ("steps", "steps", ""),
               *[(f"{t.name} {t.region_metric.replace('_', ' ')}", t.name, ".3f") for t in tasks],
               ("compute s / audio s (mean)", "compute", ".3f")]
    return f"## Steps and samplers (LSD of the regenerated part)\n\n{markdown_table(table, columns)}\n"


def baseline_section(args, methods, tasks, excerpts):
    """Per model run and task: on how many excerpts its regenerated part's LSD is lower than the classical
    baseline's, and the mean difference (model - baseline; negative: the model is better)."""
    baseline = next(m for m in methods if m.slug == "baseline")
    rows = []
    for method in (m for m in methods if m.model):
        for task in tasks:
            diffs = [scores_of(args, method, task, e, 1.0)[task.region_metric]
                     - scores_of(args, baseline, task, e, 1.0)[task.region_metric] for e in excerpts]
            rows.append({"model": method.model.name, "sampler": method.sampler, "steps": method.steps,
                         "task": task.name, "wins": f"{sum(d < 0 for d in diffs)} of {len(diffs)}",
                         "diff": evaluate.mean(diffs)})
    columns = [("model", "model", ""), ("sampler", "sampler", ""), ("steps", "steps", ""), ("task", "task", ""),
               ("excerpts where the model is better", "wins", ""), ("mean difference", "diff", "+.3f")]
    return ("## Excerpt by excerpt against the classical baseline (LSD of the regenerated part)\n\n"
            f"{markdown_table(rows, columns)}\n")


def level_section(args, methods, models, tasks, excerpts):
    rows = []
    for model in models:
        method = sweep_method(methods, model, args.samplers, args.steps)
        for task in tasks:
            for gain in sorted([*args.gains, 1.0]):
                scores = [scores_of(args, method, task, e, gain) for e in excerpts]
                rows.append({"model": model.name, "task": task.name, "gain": f"x{gain:g}",
                             "region": evaluate.mean([s[task.region_metric] for s in scores]),
                             "level_ratio": evaluate.mean([s["level_ratio"] for s in scores])})
    columns = [("model", "model", ""), ("task", "task", ""), ("input gain", "gain", ""),
               ("LSD of the regenerated part", "region", ".3f"), ("level ratio", "level_ratio", ".3f")]
    return ("## Level sweep (input scaled, output scaled back; level ratio = restored / original RMS in the "
            f"regenerated part)\n\n{markdown_table(rows, columns)}\n")


def picture(args, methods, task, excerpt):
    """Spectrograms of one excerpt: original, degraded, baseline and each model's main run."""
    source = excerpt_dir(args.out, task, excerpt)
    signals = {"original": load_audio(os.path.join(source, "original.wav"))[0][0],
               "degraded": load_audio(os.path.join(source, "degraded.wav"))[0][0]}
    shown = [m for m in methods if m.slug == "baseline" or
             (m.model and m.sampler == args.samplers[0] and m.steps == max(args.steps))]
    for method in shown:
        recon = os.path.join(run_dir(args.out, method, 1.0, task, excerpt), "recon.wav")
        label = method.label(task) + (f" ({method.sampler}, {method.steps} steps)" if method.model else "")
        signals[label] = load_audio(recon)[0][0]
    title = f"{task.name}: {os.path.basename(excerpt.path)} from {excerpt.start_s:g} s"
    save_spectrogram_png(os.path.join(args.out, f"{task.name}.png"), signals, SAMPLE_RATE, title)


# ---- command line --------------------------------------------------------------------------------------

def check_settings(out, settings):
    """A rerun may resume an OUT only with the same excerpts and tasks' data."""
    path = os.path.join(out, SETTINGS_FILE)
    if os.path.isfile(path):
        with open(path) as f:
            previous = json.load(f)
        if previous != settings:
            raise ValueError(f"{out}: holds a run with other excerpt settings ({path}); choose another --out")
    else:
        write_text(path, json.dumps(settings, indent=2) + "\n")


def quality(args):
    check_arguments(args)
    tasks = parse_tasks(args.tasks)
    models = [model for text in args.model or [] for model in parse_model(text, args.device, args.level_norm)]
    if len({m.name for m in models}) < len(models):
        raise ValueError("--model: two models share a NAME")
    excerpts, skipped = choose_excerpts(input_files(args), args.excerpt_seconds, args.max_files, args.seed,
                                        args.excerpts_per_file)
    for line in skipped:
        print(f"skipped: {line}")
    if not excerpts:
        raise ValueError("no file long enough to measure")
    os.makedirs(args.out, exist_ok=True)
    check_settings(args.out, {"seed": args.seed, "excerpts": [vars(e) for e in excerpts]})
    methods = all_methods(models, args.samplers, args.steps)
    write_excerpts(args.out, tasks, excerpts)
    for method in methods:
        for task in tasks:
            restore_all(args, method, task, excerpts, 1.0)
    for model in models:
        for task in tasks:
            for gain in args.gains:
                restore_all(args, sweep_method(methods, model, args.samplers, args.steps), task, excerpts, gain)
    reports = [task_report(args, methods, task, excerpts) for task in tasks]
    sections = [section for section, _ in reports]
    if models:
        sections.append(steps_section(tasks, [summary for _, summary in reports]))
        sections.append(baseline_section(args, methods, tasks, excerpts))
        sections.append(level_section(args, methods, models, tasks, excerpts))
    for task in tasks:
        picture(args, methods, task, excerpts[0])
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    header = (f"# Restoration quality\n\n{len(excerpts)} mono excerpts of up to {args.excerpt_seconds:g} s, "
              f"seed {args.seed}; scores from inference/evaluate.py; models on {device}.\n")
    report = "\n".join([header, *sections])
    write_text(os.path.join(args.out, "results.md"), report)
    print(report)
    print(f"wrote {os.path.join(args.out, 'results.md')}")
    return 0


def _int_list(text):
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    try:
        return sorted({check_steps(value, "--steps") for value in values})
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _gain_list(text):
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not all(0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"gains must lie in (0, 1], got {text!r}")
    return sorted(set(values) - {1.0})


def _sampler_list(text):
    values = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not values or any(v not in SAMPLERS for v in values):
        raise argparse.ArgumentTypeError(f"samplers: comma-separated from {', '.join(SAMPLERS)}, got {text!r}")
    return values


def build_parser():
    parser = argparse.ArgumentParser(
        description="Restoration quality on real music: degrade excerpts (bandwidth extension from given "
                    "cutoffs, 0.3 s gaps every 5 s), restore them with a classical baseline and with models, "
                    "and score all of them with inference/evaluate.py into Markdown/CSV/JSON tables and "
                    "spectrogram PNGs. Reruns into the same --out only do what is missing.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--manifest", metavar="M.csv",
                        help="manifest (split,file_path,duration[,sr]) to take files from")
    source.add_argument("--folder", metavar="DIR", help="measure every audio file under DIR instead")
    parser.add_argument("--split", default="test", help="manifest split to measure (default %(default)s)")
    parser.add_argument("--model", action="append", metavar="NAME=CONFIG:CKPT[,CKPT...]",
                        help="a model row: NAME labels it, CONFIG is a sampling or training config, CKPTs the expert "
                             "checkpoints in increasing t; or a model name (small: the shipped model); repeat to "
                             "compare models")
    parser.add_argument("--tasks", default="bwe4000,bwe8000,inpaint",
                        help="comma-separated: bwe<cutoff Hz> and/or inpaint (default %(default)s)")
    parser.add_argument("--steps", type=_int_list, default=[50],
                        help="sampling time points; several (e.g. 5,10,25,50) sweep quality against compute "
                             "(default 50)")
    parser.add_argument("--samplers", type=_sampler_list, default=["sde"],
                        help="sde, ode or sde,ode to compare them at equal steps (default sde)")
    parser.add_argument("--ode", dest="samplers", action="store_const", const=["ode"],
                        help="shorthand for --samplers ode")
    parser.add_argument("--gains", type=_gain_list, default=[0.03, 0.3],
                        help="input gains of the models' level sweep besides x1 (default 0.03,0.3; '1' turns the "
                             "sweep off)")
    parser.add_argument("--level-norm", choices=("config", "on", "off", "both"), default="config",
                        help="input-level normalisation of the models (engine setting normalize_level): as the "
                             "config says (default; on unless it sets it), on, off, or both: every model twice, "
                             "as NAME-norm and NAME-raw")
    parser.add_argument("--excerpt-seconds", type=float, default=10.0,
                        help=f"length of the excerpt taken from each file (default %(default)s; at least "
                             f"{MIN_EXCERPT_SECONDS:g})")
    parser.add_argument("--excerpts-per-file", type=int, default=1, metavar="K",
                        help="K excerpts from each file, one in each K-th of it (default %(default)s); more "
                             "excerpts make the comparison of methods less dependent on where they fall")
    parser.add_argument("--max-files", type=int, help="measure at most this many files (drawn by --seed)")
    parser.add_argument("--seed", type=int, default=0,
                        help="chooses files and excerpt positions, and seeds the samplers (default 0)")
    parser.add_argument("--device", help="torch device for the models (default: cuda when available)")
    parser.add_argument("--out", default="quality_run", help="output folder (default %(default)s)")
    parser.add_argument("--no-visqol", dest="visqol", action="store_false",
                        help="leave out the ViSQOL score (about 3 s per 10 s excerpt and method on a 2-core CPU)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return parser


def check_arguments(args):
    if args.excerpt_seconds < MIN_EXCERPT_SECONDS:
        raise ValueError(f"--excerpt-seconds must be at least {MIN_EXCERPT_SECONDS:g}")
    if args.excerpts_per_file < 1:
        raise ValueError("--excerpts-per-file must be positive")
    if args.max_files is not None and args.max_files < 1:
        raise ValueError("--max-files must be positive")


def main(argv=None):
    return run_main(quality, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
