"""Does the training recipe learn conditional structure? Trains a model on generated music whose upper partials
follow the lower ones (datasets/synthetic.py, structured_music) and checks that its restorations follow the music.

    python benchmarks/learnability.py --out learn_run/overfit --experiment overfit --steps 400
    python benchmarks/learnability.py --out learn_run/synthetic --experiment synthetic --steps 1500

- overfit: one 4 s clip is the whole data set (train, valid and test). A model that can learn anything
  conditional reproduces that clip's high band from its low band.
- synthetic: 24 training clips, restoring 4 held-out clips of the same kind.
The model is main.py's recipe on a training config (--config, tiny_cpu.yaml by default; --set KEY=YAML
overrides one of its keys, e.g. --set model.vf_model.init_args.attention_levels=[2,3]). Every test clip is then
band-limited at --cutoff and restored by the engine, and by spectral band replication for comparison; with
--inpaint also silenced in 0.3 s gaps every second and restored. Scores are inference/evaluate.py's envelope
metrics: env_corr (1 = the regenerated band's level follows the original's frame by frame, 0 = a steady bed)
and silence_db (the band's level where the original is silent, relative to where it sounds); and
benchmarks/x0_probe.py's score of the network's x0 estimate above the cutoff at high times, without sampling.
OUT keeps the data, config.yaml, checkpoints/, results.json and spectrograms (PNG) of every restoration;
a rerun resumes the training from checkpoints/last.ckpt up to --steps and rescores.
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import yaml  # noqa: E402

from audiokit.cli import run_main  # noqa: E402
from audiokit.constants import SAMPLE_RATE  # noqa: E402
from audiokit.files import write_text  # noqa: E402
from audiokit.plots import save_spectrogram_png  # noqa: E402
from benchmarks.baselines import band_replication, lpc_inpaint  # noqa: E402
from benchmarks.x0_probe import x0_probe  # noqa: E402
from corrupt.waveform import band_limit, periodic_gaps, silence_gaps  # noqa: E402
from datasets.synthetic import structured_music  # noqa: E402
from inference import evaluate  # noqa: E402
from inference.engine import Restorer  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENTS = {  # seeds of the clips in each split, and their length in seconds
    "overfit": ({"train": [0], "valid": [0], "test": [0]}, 4.0),
    "synthetic": ({"train": list(range(1, 25)), "valid": [1001], "test": [1001, 1002, 1003, 1004]}, 6.0),
}
GAP_SECONDS, GAP_PERIOD = 0.3, 1.0


def write_data(folder, experiment):
    """The clips and their manifest; returns the test files."""
    splits, seconds = EXPERIMENTS[experiment]
    os.makedirs(folder, exist_ok=True)
    rows, tests = [], []
    for seed in sorted({seed for seeds in splits.values() for seed in seeds}):
        name = f"clip{seed:04d}.wav"
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            sf.write(path, structured_music(seconds, seed=seed), SAMPLE_RATE, subtype="FLOAT")
        rows += [f"{split},{name},{seconds}" for split, seeds in splits.items() if seed in seeds]
        if seed in splits["test"]:
            tests.append(path)
    write_text(os.path.join(folder, "manifest.csv"), "\n".join(rows) + "\n")
    return tests


def _set(config, dotted, value):
    keys = dotted.split(".")
    node = config
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


def write_config(args):
    """The training config with this experiment's data, step count, output folders and --set overrides."""
    with open(args.config) as file:
        config = yaml.safe_load(file)
    out = os.path.abspath(args.out)
    config["data"]["mix_dataset_config"] = {"learn": {"root_folder": os.path.join(out, "data"),
                                                      "filename": "manifest.csv", "apply_sr_loss_mask": False}}
    trainer = config["trainer"]
    trainer.update(max_steps=args.steps, max_time=None, val_check_interval=args.steps, max_epochs=-1)
    trainer["logger"]["init_args"].update(save_dir=out, name="logs")
    for callback in trainer["callbacks"]:
        if callback["class_path"].endswith("ModelCheckpoint"):
            callback["init_args"].update(dirpath=os.path.join(out, "checkpoints"), every_n_train_steps=args.steps)
    trainer["callbacks"] = [c for c in trainer["callbacks"] if "RestoredAudioWriter" not in c["class_path"]]
    for item in args.set:
        key, _, value = item.partition("=")
        _set(config, key, yaml.safe_load(value))
    path = os.path.join(out, "config.yaml")
    write_text(path, yaml.safe_dump(config, sort_keys=False))
    return path


def train(args, config):
    last = os.path.join(args.out, "checkpoints", "last.ckpt")
    command = [sys.executable, os.path.join(REPO, "main.py"), "fit", "--config", config]
    if os.path.isfile(last):
        command += ["--ckpt_path", last]
    subprocess.run(command, check=True, cwd=REPO)
    return last


def score(est, ref, task, gaps=None):
    keys = ("env_corr", "silence_db", "lsd_band", "lsd_high", "lsd_gap")
    scores = evaluate.score_channel(est, ref, task, gaps=gaps, visqol=False)
    return {key: scores[key] for key in keys if scores[key] is not None}


def evaluate_model(args, config, checkpoint, tests):
    restorer = Restorer.from_config(config, checkpoints=[checkpoint], device="cpu")
    results, probes = [], {}
    for path in tests:
        clean = sf.read(path, dtype="float32")[0]
        name = os.path.splitext(os.path.basename(path))[0]
        probes[name] = x0_probe(restorer, clean, args.cutoff)
        degraded = band_limit(clean[None], args.cutoff)[0]
        restored = restorer.bandwidth_extension(degraded, args.cutoff, n_steps=args.sampling_steps, seed=0,
                                                progress=False)
        baseline = band_replication(degraded, args.cutoff)
        task = ("bandwidth", args.cutoff)
        row = {"file": name, "task": f"bwe{args.cutoff:g}",
               "model": score(restored, clean, task), "band replication": score(baseline, clean, task)}
        results.append(row)
        save_spectrogram_png(os.path.join(args.out, f"{name}_bwe.png"),
                             {"original": clean, "degraded": degraded, "band replication": baseline,
                              "model": restored}, title=f"{name}: bandwidth extension from {args.cutoff:g} Hz")
        if args.inpaint:
            gaps = periodic_gaps(len(clean) / SAMPLE_RATE, GAP_SECONDS, GAP_PERIOD)
            holed = silence_gaps(clean[None], gaps)[0]
            restored = restorer.inpaint(holed, gaps, n_steps=args.sampling_steps, seed=0, progress=False)
            baseline = lpc_inpaint(holed, gaps)
            task = ("inpaint", (GAP_SECONDS, GAP_PERIOD))
            results.append({"file": name, "task": "inpaint", "model": score(restored, clean, task, gaps),
                            "LPC": score(baseline, clean, task, gaps)})
            save_spectrogram_png(os.path.join(args.out, f"{name}_inpaint.png"),
                                 {"original": clean, "degraded": holed, "LPC": baseline, "model": restored},
                                 title=f"{name}: inpainting of {GAP_SECONDS:g} s gaps")
    return results, probes


def mean_scores(results):
    """Mean of every score per (task, method)."""
    groups = {}
    for row in results:
        for method, scores in row.items():
            if isinstance(scores, dict):
                for key, value in scores.items():
                    groups.setdefault(row["task"], {}).setdefault(method, {}).setdefault(key, []).append(value)
    return {task: {method: {k: float(np.mean(v)) for k, v in scores.items()} for method, scores in methods.items()}
            for task, methods in groups.items()}


def learnability(args):
    os.makedirs(args.out, exist_ok=True)
    tests = write_data(os.path.join(args.out, "data"), args.experiment)
    config = write_config(args)
    checkpoint = train(args, config)
    results, probes = evaluate_model(args, config, checkpoint, tests)
    means = mean_scores(results)
    report = {"experiment": args.experiment, "steps": args.steps, "sets": args.set, "cutoff_hz": args.cutoff,
              "sampling_steps": args.sampling_steps, "means": means, "files": results, "x0_probe": probes}
    write_text(os.path.join(args.out, "results.json"), json.dumps(report, indent=2) + "\n")
    for task, methods in means.items():
        for method, scores in methods.items():
            print(f"{task:<10} {method:<18} " + "  ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    for name, scores in probes.items():
        print(f"x0 estimate above the cutoff, {name}: " + "  ".join(
            f"t={t:g} corr {s['corr']:.3f} rmse {s['rmse']:.3f}" for t, s in scores.items()))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for data, checkpoints and results")
    parser.add_argument("--experiment", choices=sorted(EXPERIMENTS), default="overfit")
    parser.add_argument("--config", default=os.path.join(REPO, "configs", "tiny_cpu.yaml"),
                        help="training config (default: configs/tiny_cpu.yaml)")
    parser.add_argument("--steps", type=int, default=400, help="training steps (a rerun continues up to this)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=YAML",
                        help="override a config key, e.g. model.lr=3e-4 (repeatable)")
    parser.add_argument("--cutoff", type=float, default=4000.0, help="bandwidth-extension cutoff in Hz")
    parser.add_argument("--sampling-steps", type=int, default=10, help="time points of the restorations")
    parser.add_argument("--inpaint", action="store_true", help="also score inpainting of 0.3 s gaps every second")
    return parser


def main(argv=None):
    return run_main(learnability, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
