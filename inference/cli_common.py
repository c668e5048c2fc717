"""What the restoration tools share: model and output options, early checks, and the dataset output layout
(errors end as one line through audiokit/cli.run_main)."""
import argparse
import hashlib
import inspect
import os
import re
import sys
from dataclasses import dataclass

from tqdm import tqdm

from audiokit.constants import SAMPLE_RATE
from audiokit.plots import save_spectrogram_png
from audiokit.tool_io import InputError, check_output_path, read_input, write_audio
from datasets.manifest import read_manifest
from inference import provenance
from inference.device import resolve_device
from inference.engine import CHECKPOINTS_ENV, Restorer, _read_config
from inference.released import DEFAULT_MODEL, MODELS, check_checkpoint_files, model_config, model_files, \
    resolve_checkpoints
from inference.sharding import shard_slice
from models.bridge import check_steps

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASET_FILES = ("original.wav", "degraded.wav", "recon.wav")
# -n when it is not given and the config has no bandwidth_steps / inpainting_steps: the engine's own default
ENGINE_DEFAULTS = {name: parameter.default for name, parameter in inspect.signature(Restorer).parameters.items()}
COMPILE_FLAGS = {"auto": "auto", "on": True, "off": False}  # --compile: the Restorer's compile setting
READABLE_NAME_CHARS = 80  # of the file's path kept in its output folder name (the end, where the file name is)


# ---- command line ---------------------------------------------------------------------------------------

def add_io_options(parser):
    """Input, output and output-format options of the single-file tools."""
    parser.add_argument("-f", "--input", required=True, metavar="IN",
                        help="audio file to restore (wav, flac, mp3, ...), or a folder: every audio file under it")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="where to write the restored audio (44.1 kHz, the input's channels), and OUT.json with "
                             "what made it; its folder must exist. With a folder as input: the output folder, where "
                             "the input tree is mirrored (WAV and FLAC keep their format, others become WAV)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace OUT (and its PNG) if it exists; with a folder, restore every file again")
    parser.add_argument("--redo-changed", action="store_true",
                        help="with a folder: restore again the outputs made with other settings (model, config, "
                             "steps, seed, cutoff or gaps, input) instead of refusing to run")
    parser.add_argument("--shard", metavar="I/N",
                        help="with a folder: restore shard I of N (from 0) of its files, e.g. 0/4 on the first of "
                             "four GPUs; under torchrun the shard comes from RANK/WORLD_SIZE when this is not given")
    parser.add_argument("--subtype", metavar="SUBTYPE",
                        help="output sample format, e.g. PCM_16, PCM_24, FLOAT (default: the input's PCM_16, "
                             "PCM_24 or FLOAT; other inputs map to the nearest of those)")
    parser.add_argument("--plot", action="store_true",
                        help="also write spectrograms of input and output to a PNG beside OUT (OUT with .png)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def add_model_options(parser, steps_key):
    """Options that choose the models and how the sampler runs them; steps_key: the config's default -n."""
    default_config = os.path.relpath(model_config(DEFAULT_MODEL), REPO_ROOT)
    group = parser.add_argument_group("model and sampling")
    group.add_argument("-n", "--n-steps", type=int,
                       help=f"number of sampling time points (default: the config's {steps_key}); fewer is faster "
                            "and rougher")
    group.add_argument("--model", choices=sorted(MODELS),
                       help="small: the model shipped in this repository (CPU-trained, no download); twosplit, "
                            "onesplit: the authors' released models, whose checkpoints are fetched from the Hugging "
                            "Face Hub into its cache on first use (2.26 GB each). The model's sampling config and, "
                            "unless --ckpt is given, its checkpoints")
    group.add_argument("--config",
                       help="sampling config YAML: network, t_cutoffs, sampling, windows (default: the --model's "
                            f"config, else {default_config})")
    group.add_argument("--ckpt", "--checkpoints", dest="ckpt", action="append", metavar="PATH",
                       help="expert checkpoints in increasing t: repeat the option or separate paths by commas; a "
                            "released file name (e.g. A2SB_onesplit_0.0_1.0_release.ckpt) that is not a local file "
                            "is fetched from the Hub (default: the --model's files, else the comma-separated paths "
                            "in $A2SB_CHECKPOINTS)")
    group.add_argument("--t-cutoffs", type=_float_list, metavar="T[,T...]",
                       help="times where one expert hands over to the next (e.g. 0.5); overrides the config")
    group.add_argument("--device", help="torch device: cpu, cuda, cuda:1, mps (default: cuda when available, else "
                                        "mps when available, else cpu)")
    group.add_argument("--bf16", action="store_true", help="run the network in bfloat16 (faster on recent GPUs)")
    group.add_argument("--compile", choices=sorted(COMPILE_FLAGS),
                       help="torch.compile the network: auto compiles on CUDA when the restoration is long enough "
                            "to win back the compile time (about a minute once, seconds from the cache in "
                            "~/.cache/a2sb/inductor later); on: always; off: never (default: the config's compile, "
                            "else auto)")
    group.add_argument("--window-batch", type=int, metavar="K",
                       help="MultiDiffusion windows sent through the network at once; peak GPU memory grows "
                            "with it, so lower it if you run out of memory (default: the config's window_batch, "
                            "else sized from the free GPU memory; 4 on the CPU)")
    group.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same output")
    group.add_argument("--ode", action="store_true",
                       help="deterministic sampling (the bridge's OT-ODE variant) instead of the stochastic one")


def _float_list(text):
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def sampling_config(args):
    """--config, else the --model's config, else (dataset tools) configs/<EXP>.yaml when it exists, else the
    default model's config."""
    return _sampling_config(args)[0]


def _sampling_config(args):
    """(sampling_config(args), the option or default it came from, for messages)."""
    if args.config:
        return args.config, "--config"
    if args.model:
        return model_config(args.model), f"--model {args.model}"
    named = os.path.join(REPO_ROOT, "configs", f"{getattr(args, 'exp_name', None)}.yaml")
    if os.path.isfile(named):
        return named, f"-exp {args.exp_name}"
    return model_config(DEFAULT_MODEL), f"the default model {DEFAULT_MODEL}"


@dataclass(frozen=True)
class ModelChoice:
    """What the model options resolve to, checked and with released names fetched, before any weights load."""
    model: str | None
    config: str
    checkpoints: list
    overrides: dict
    steps: int  # -n, else the config's default for the task


def _split_paths(values):
    return [path.strip() for value in values for path in value.split(",") if path.strip()]


def choose_model(args, steps_key="bandwidth_steps"):
    """Resolves --model, --config, --ckpt ($A2SB_CHECKPOINTS) and -n; errors name the option that fixes them and
    where the value came from."""
    resolve_device(args.device)  # a device this machine lacks fails before anything is fetched or loaded
    config, config_from = _sampling_config(args)
    settings = _read_config(config)
    if args.ckpt:
        checkpoints, source = _split_paths(args.ckpt), "--ckpt"
    elif args.model:
        checkpoints, source = model_files(args.model), f"--model {args.model}"
    elif os.environ.get(CHECKPOINTS_ENV):
        checkpoints, source = _split_paths([os.environ[CHECKPOINTS_ENV]]), f"${CHECKPOINTS_ENV}"
    else:
        checkpoints, source = [], None
    if not checkpoints:
        names = ", ".join(settings.get("checkpoint_files") or [])
        raise ValueError(f"no checkpoints: pass --model ({', '.join(sorted(MODELS))}), or --ckpt PATH once per expert "
                         f"in increasing t{f' ({names})' if names else ''}, or set {CHECKPOINTS_ENV}=path1,path2 "
                         f"(config {config}, from {config_from})")
    check_checkpoint_files(checkpoints, "--ckpt PATH once per expert, in increasing t", source, fetchable=True)
    t_cutoffs, cutoffs_from = ((args.t_cutoffs, "--t-cutoffs") if args.t_cutoffs is not None
                               else (settings.get("t_cutoffs", []), f"t_cutoffs of {config}"))
    if len(checkpoints) != len(t_cutoffs) + 1:
        raise ValueError(f"{len(checkpoints)} checkpoint(s) from {source} but {len(t_cutoffs)} cut point(s) "
                         f"{list(t_cutoffs)} from {cutoffs_from}, which need {len(t_cutoffs) + 1}: pass --ckpt once "
                         "per expert in increasing t, or --t-cutoffs (or --model / --config for another ensemble)")
    overrides = {name: value for name, value in (("t_cutoffs", args.t_cutoffs), ("window_batch", args.window_batch))
                 if value is not None}
    if args.bf16:
        overrides["bf16"] = True
    if args.compile:
        overrides["compile"] = COMPILE_FLAGS[args.compile]
    steps = args.n_steps if args.n_steps is not None else settings.get(steps_key, ENGINE_DEFAULTS[steps_key])
    return ModelChoice(args.model, config, resolve_checkpoints(checkpoints, source), overrides, int(steps))


def load_restorer(args, choice=None):
    """Builds the Restorer once for the whole run from the chosen model (choose_model(args) when not given);
    says which device and config."""
    choice = choice or choose_model(args)
    device = resolve_device(args.device)
    print(f"device: {device}{'' if args.device else ' (the best available; --device to choose)'}; "
          f"config: {choice.config}")
    return Restorer.from_config(choice.config, checkpoints=choice.checkpoints, device=device, **choice.overrides)


def run_settings(args, choice):
    """The provenance settings that every output of this run shares (inference/provenance.py)."""
    return provenance.model_settings(choice.config, choice.checkpoints, choice.overrides, choice.steps, args.seed,
                                     args.ode)


def run_facts(args, choice):
    return provenance.model_facts(choice.model, choice.config, choice.checkpoints, args.device or "default")


def write_record(args, choice, task, plan):
    """OUT.json beside a single file's output: what made it (inference/provenance.py)."""
    settings = provenance.file_settings(run_settings(args, choice), task.settings, args.input)
    provenance.write_record(args.output, settings, run_facts(args, choice),
                            {"source": os.path.abspath(args.input), **plan.params})


def write_copy_record(args, task, plan):
    """OUT.json beside an input copied through unrestored (no model was used)."""
    provenance.write_record(args.output, provenance.file_settings({}, task.settings, args.input), {},
                            {"source": os.path.abspath(args.input), "copied": plan.message})


def check_sampling_options(args):
    """The sampling options by the engine's own rules, before any model is loaded."""
    if args.n_steps is not None:
        check_steps(args.n_steps, "--n-steps")


def plot_path(output):
    return os.path.splitext(output)[0] + ".png"


def prepare_output(args):
    """Checks OUT (and its PNG) before any model is loaded, so a bad path fails at once."""
    check_output_path(args.output, [args.input], args.overwrite)
    if args.plot:
        check_output_path(plot_path(args.output), [args.input], args.overwrite)


def finish(args, audio_in, audio_out, subtype, title, edge=None):
    """Writes the output (and, with --plot, the spectrogram PNG of input and output; `edge` is an EdgeMark)."""
    write_audio(args.output, audio_out, subtype)
    if args.plot:
        signals = {"input": audio_in.mean(axis=0), "output": audio_out.mean(axis=0)}
        save_spectrogram_png(plot_path(args.output), signals, SAMPLE_RATE, title, edge)


# ---- dataset output layout (the authors'; docs/DESIGN.md, "Dataset tools") ------------------------------

def _number(value):
    """4000.0 -> "4000", 0.3 -> "0.3": short, and parse_task reads back the exact value."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def bandwidth_task(cutoff_hz):
    return f"cutoff_freq={_number(cutoff_hz)}"


def inpaint_task(gap_s, period_s):
    return f"inpaint_{_number(gap_s)}_every_{_number(period_s)}"


_BANDWIDTH_TASK = re.compile(r"cutoff_freq=([0-9.]+)$")
_INPAINT_TASK = re.compile(r"inpaint_([0-9.]+)_every_([0-9.]+)$")


def parse_task(name):
    """("bandwidth", cutoff_hz) or ("inpaint", (gap_s, period_s)) from a task folder name; None otherwise."""
    match = _BANDWIDTH_TASK.match(name)
    if match:
        return "bandwidth", float(match.group(1))
    match = _INPAINT_TASK.match(name)
    if match:
        return "inpaint", (float(match.group(1)), float(match.group(2)))
    return None


def item_folder_name(relative_path):
    """A readable folder name for one data set file that no other file shares.

    The path relative to the manifest's folder with separators as "__" (without ".." parts and leading dots,
    so the folder is never hidden), then 8 hex digits of a hash of that whole path, which tells apart the
    paths that read the same (a/b_c.wav, a_b/c.wav, ../x.wav and x.wav).
    """
    normal = os.path.normpath(relative_path).replace(os.sep, "/")
    parts = [part for part in normal.split("/") if part not in ("", ".", "..")]
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", "__".join(parts))[-READABLE_NAME_CHARS:].lstrip("._-")
    return f"{readable}__{hashlib.sha1(normal.encode()).hexdigest()[:8]}"


def existing_path(path):
    """A relative path as given when it exists here, else under the repository root when it exists there (the
    tools also run from inside inference/); otherwise as given."""
    if os.path.isabs(path) or os.path.exists(path):
        return path
    in_repo = os.path.join(REPO_ROOT, path)
    return in_repo if os.path.exists(in_repo) else path


def add_dataset_options(parser):
    """Which data set and experiment, and which slice of its test rows."""
    parser.add_argument("-dn", "--dataset-name", required=True, metavar="NAME",
                        help="data set name: its manifest is <manifest-dir>/<NAME>_manifest.csv")
    parser.add_argument("-exp", "--exp-name", required=True, metavar="EXP",
                        help="experiment name: outputs go to <out-root>/<EXP>/<NAME>/<task>/<file>/; when "
                             "configs/<EXP>.yaml exists (e.g. -exp ensemble_1split_sampling) and neither --config "
                             "nor --model is given, it is the sampling config")
    parser.add_argument("--manifest-dir", default="manifests",
                        help="folder holding <NAME>_manifest.csv (rows split,file_path,duration[,sr], paths "
                             "relative to this folder; default %(default)s). A relative folder is looked up in the "
                             "current folder, then in the repository root")
    parser.add_argument("--out-root", default="exp",
                        help="root folder of all experiments (default %(default)s). A relative folder that exists "
                             "in the current folder is used, else one that exists in the repository root, else it "
                             "is created in the current folder")
    parser.add_argument("--start", type=int, default=0,
                        help="first test row to process, counting from 0 (default 0); with --end it shards a "
                             "test set across GPUs or machines")
    parser.add_argument("--end", type=int, help="process test rows before this index (default: to the last)")
    parser.add_argument("--shard", metavar="I/N",
                        help="process shard I of N (from 0) of the selected rows, e.g. 0/4 on the first of four "
                             "GPUs; under torchrun the shard comes from RANK/WORLD_SIZE when this is not given")
    parser.add_argument("--redo-changed", action="store_true",
                        help="restore again the files whose recon.wav was made with other settings (model, config, "
                             "steps, seed, input) instead of refusing to run")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def dataset_jobs(args, task):
    """[(audio path, output folder)] for the selected test rows of the data set's manifest (a file listed twice
    is restored once)."""
    if args.start < 0 or (args.end is not None and args.end < args.start):
        raise ValueError(f"--start {args.start} / --end {args.end}: need 0 <= start <= end")
    manifest = os.path.join(existing_path(args.manifest_dir), f"{args.dataset_name}_manifest.csv")
    rows = read_manifest(manifest, splits=["test"])
    if not rows:
        raise ValueError(f"{manifest}: no test rows")
    unique = list({row.path: row for row in reversed(rows)}.values())[::-1]  # the first row of each file
    if len(unique) < len(rows):
        print(f"{manifest}: {len(rows) - len(unique)} test row(s) repeat a file listed earlier; each file is "
              "restored once")
    base = os.path.dirname(os.path.abspath(manifest))
    task_dir = task_folder(args, task)
    selected = unique[args.start:args.end]
    return [(row.path, os.path.join(task_dir, item_folder_name(os.path.relpath(row.path, base))))
            for row in (selected[i] for i in shard_slice(len(selected), args.shard))]


def task_folder(args, task):
    return os.path.join(existing_path(args.out_root), args.exp_name, args.dataset_name, task)


def run_dataset(args, task, degrade, restore, steps_key):
    """Writes original.wav, degraded.wav and recon.wav for each selected test file (docs/DESIGN.md, "Dataset tools").

    degrade(audio) -> degraded audio; restore(restorer, degraded) -> restored audio. Files whose recon.wav
    exists, made with this run's settings (recon.wav.json, inference/provenance.py), are skipped; made with
    others, the run is refused unless --redo-changed; the models are loaded once, and only when some file is left. A failing file is
    reported and the run goes on; the exit status is 1 if any failed.
    """
    jobs = dataset_jobs(args, task)
    task_dir = task_folder(args, task)
    try:  # before any model is loaded or any file sampled
        os.makedirs(task_dir, exist_ok=True)
    except OSError as error:
        raise InputError(f"{task_dir}: cannot create the output folder ({error.strerror})") from None
    if not os.access(task_dir, os.W_OK):
        raise InputError(f"{task_dir}: the output folder is not writable")
    choice = choose_model(args, steps_key)
    settings = run_settings(args, choice)
    wanted = {path: provenance.file_settings(settings, {"task": task, "mode": getattr(args, "mode", None)}, path)
              for path, _ in jobs}
    pending, changed = [], []
    for path, folder in jobs:
        recon = os.path.join(folder, "recon.wav")
        differs = provenance.differences(provenance.read_settings(recon), wanted[path]) \
            if os.path.exists(recon) else None
        if differs is None or (differs and args.redo_changed):
            pending.append((path, folder))
        elif differs:
            changed.append((recon, differs))
    if changed:
        recon, differs = changed[0]
        raise ValueError(f"{task_dir}: {len(changed)} recon.wav were made with other settings than this run's, e.g. "
                         f"{recon}: {'; '.join(differs)}; pass --redo-changed to restore them again with these "
                         "settings, or choose another -exp")
    print(f"{args.dataset_name} {task}: {len(jobs)} test files, {len(jobs) - len(pending)} already done")
    if not pending:
        return 0
    restorer = load_restorer(args, choice)
    failures = []
    for path, folder in tqdm(pending, desc=task, unit="file", disable=args.quiet):
        try:
            original, _ = read_input(path)
            degraded = degrade(original)
            restored = restore(restorer, degraded)
            os.makedirs(folder, exist_ok=True)
            recon = os.path.join(folder, "recon.wav")
            provenance.write_record(recon, wanted[path], run_facts(args, choice), {"source": os.path.abspath(path)})
            # recon.wav goes last: its presence marks the file as done
            for name, audio in zip(DATASET_FILES, (original, degraded, restored)):
                write_audio(os.path.join(folder, name), audio, "FLOAT")
        except Exception as error:  # one bad file (unreadable, too short, out of memory) must not end the run
            reason = str(error) if isinstance(error, (ValueError, OSError)) else f"{type(error).__name__}: {error}"
            reason = reason.removeprefix(f"{path}: ")
            failures.append((path, reason))
            tqdm.write(f"failed: {path}: {reason}", file=sys.stderr)
    done = len(pending) - len(failures)
    print(f"{args.dataset_name} {task}: restored {done}, skipped {len(jobs) - len(pending)}, failed {len(failures)}")
    if failures:
        print(f"error: {len(failures)} of {len(pending)} files failed:", file=sys.stderr)
        for path, reason in failures:
            print(f"  {path}: {reason}", file=sys.stderr)
        return 1
    return 0
