"""Training steps per second of a CPU config: float32 with plain UNet kernels, float32 with the default
(Winograd) forward, and bf16 mixed precision (autocast; on a CPU with AVX512_BF16 or AMX its matrix kernels
are faster; elsewhere bf16 is emulated and much slower, so it is left out unless --variants names it). It first
prints the CPU's model name and the features that decide which kernels run: AVX2, AVX-512, native bf16
(AVX512_BF16, AMX) and torch's CPU kernel set.

Builds the config's model and data module (on the built-in demo data, written to a temporary folder) and
runs Lightning's fit for --warmup + --steps steps per run, timing only the steps after the warm-up, with
validation, logging and checkpoints off. The variants alternate run by run in one process, so a change
in machine load hits both alike; the median steps/s of --repeats runs is reported.

    python benchmarks/train_speed.py                                  # configs/tiny_cpu.yaml
    python benchmarks/train_speed.py --config my_cpu.yaml --steps 10 --repeats 3
    python benchmarks/train_speed.py --config configs/small_cpu.yaml --variants winograd,bf16-mixed
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

import lightning as L
import torch
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from datasets.datamodule import A2SBDataModule  # noqa: E402
from datasets.synthetic import write_demo_dataset  # noqa: E402
from models.a2sb_module import A2SBModule  # noqa: E402
from models.trainer import NATIVE_BF16_FLAGS, cpu_info, native_bf16  # noqa: E402
from models.unet import UNet  # noqa: E402

VARIANTS = {"plain": (False, "32-true"), "winograd": (True, "32-true"), "bf16-mixed": (True, "bf16-mixed")}
CPU_FEATURES = ("avx2", "avx512f", *NATIVE_BF16_FLAGS)


class StepTimer(L.Callback):
    """Wall time of each training step after the first `warmup` ones."""

    def __init__(self, warmup: int):
        self.warmup = warmup
        self.seconds = []
        self._start = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step > self.warmup:
            self.seconds.append(time.perf_counter() - self._start)


def describe_cpu() -> str:
    """One line: the CPU's model name, which of CPU_FEATURES it has, and the kernel set torch dispatches to."""
    name, flags = cpu_info()
    features = ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in CPU_FEATURES)
    return (f"CPU: {name}; {features}; torch CPU kernels {torch.backends.cpu.get_cpu_capability()}; "
            f"bf16 {'native' if native_bf16(flags) else 'emulated (slower than float32)'}")


def default_variants() -> list:
    """All variants where bf16 is native; float32 only where it is emulated (a bf16 run of the small config
    took minutes per step there)."""
    if native_bf16(cpu_info()[1]):
        return list(VARIANTS)
    print("bf16-mixed left out: emulated on this CPU (--variants plain,winograd,bf16-mixed times it anyway)")
    return ["plain", "winograd"]


def parse_variants(text: str) -> list:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in VARIANTS]
    if unknown or not names:
        raise SystemExit(f"--variants: expected some of {', '.join(VARIANTS)}, got {text!r}")
    return names


def read_config(path: str) -> dict:
    with open(path) as file:
        config = yaml.safe_load(file)
    network = config["model"]["vf_model"]
    if network.get("class_path") != "models.unet.UNet":
        raise SystemExit(f"{path}: model.vf_model must be models.unet.UNet, got {network.get('class_path')}")
    others = {key: value for key, value in config["model"].items() if key != "vf_model"}
    nested = [key for key, value in others.items() if isinstance(value, dict)]
    if nested:
        raise SystemExit(f"{path}: model settings {nested} are objects; this benchmark takes plain values only")
    return config


def steps_per_second(config: dict, data_root: str, winograd: bool, precision: str, warmup: int, steps: int) -> float:
    torch.manual_seed(0)
    model_args = {key: value for key, value in config["model"].items() if key != "vf_model"}
    net = UNet(**config["model"]["vf_model"].get("init_args", {}), winograd=winograd)
    module = A2SBModule(net, **model_args)
    data_args = dict(config["data"])
    data_args["mix_dataset_config"] = {"demo": {"root_folder": data_root, "filename": "demo_manifest.csv"}}
    timer = StepTimer(warmup)
    trainer_config = config.get("trainer", {})
    trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=warmup + steps, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        limit_val_batches=0, num_sanity_val_steps=0, callbacks=[timer],
                        precision=precision,
                        gradient_clip_val=trainer_config.get("gradient_clip_val"))
    trainer.fit(module, A2SBDataModule(**data_args))
    return len(timer.seconds) / sum(timer.seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=os.path.join(ROOT, "configs", "tiny_cpu.yaml"))
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps at the start of each run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per variant (the median is reported)")
    parser.add_argument("--variants", help=f"comma-separated from {','.join(VARIANTS)}, the first is the "
                                           f"reference (default: all; float32 only where bf16 is emulated)")
    args = parser.parse_args()
    variants = parse_variants(args.variants) if args.variants else None
    config = read_config(args.config)
    print(describe_cpu(), flush=True)
    variants = variants or default_variants()
    results = {name: [] for name in variants}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        write_demo_dataset(folder, n_train=8, n_val=1, n_test=1, seconds=4.0)
        for repeat in range(args.repeats):
            for name in variants:
                winograd, precision = VARIANTS[name]
                rate = steps_per_second(config, folder, winograd, precision, args.warmup, args.steps)
                results[name].append(rate)
                print(f"  run {repeat}: {name} {rate:.3f} steps/s", file=sys.stderr, flush=True)
    load_after = os.getloadavg()[0]
    reference = statistics.median(results[variants[0]])
    print(f"{os.path.basename(args.config)}: {args.steps} steps after {args.warmup} warm-up, {torch.get_num_threads()} "
          f"threads, alternated, median of {args.repeats}; load average {load_before:.1f} before, {load_after:.1f} after")
    print(f"{'variant':10}  {'steps/s':8}  {'runs':24}  vs {variants[0]} "
          f"(the config's own precision is not used)")
    for name, rates in results.items():
        median = statistics.median(rates)
        runs = " ".join(f"{r:.3f}" for r in rates)
        print(f"{name:10}  {median:<8.3f}  {runs:24}  {median / reference:.2f}x")


if __name__ == "__main__":
    main()
