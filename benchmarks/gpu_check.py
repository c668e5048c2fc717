"""One-shot GPU check: times every CUDA path of the project once, with the released-size UNet (random weights).

Checks, in order (each wrapped: a failure, out-of-memory included, is reported in its row and the rest run):
  forward fp32 / bf16 autocast / bf16 + channels_last     ms per 3 x 1024 x 256 window, batch 1
  peak memory per window batch 1, 2, 4, 8                 bf16 forward, inference
  window batch from free memory                           the engine's automatic choice, then one call at that
                                                          size next to a 60 s chunk's sampler state (no OOM)
  bandwidth extension, 60 s stereo                        the engine end to end (bf16, 5 time points)
  training, batch 1 and 2                                 the released recipe (pretrain config's network) with
                                                          bf16 autocast and gradient checkpointing, steps/s
  forward bf16 + channels_last + torch.compile            compile time apart from the steady state
Prints one table and writes it as JSON (--out). A check whose estimated time no longer fits --budget-s is
skipped (reported as such). --dry-run runs every check on the CPU with a tiny UNet in seconds (compile
with the eager backend), so the script is exercised without a GPU.

    python benchmarks/gpu_check.py --out gpu_check.json
    python benchmarks/gpu_check.py --dry-run --out /tmp/gpu_check.json
"""

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from datasets.synthetic import music_like  # noqa: E402
from inference.chunking import frames_for  # noqa: E402
from inference.engine import STATE_IMAGES, Restorer  # noqa: E402
from datasets.files import write_text  # noqa: E402
from models.a2sb_module import A2SBModule  # noqa: E402
from models.bridge import TimeEmbedding  # noqa: E402
from datasets.constants import N_BINS, SAMPLE_RATE  # noqa: E402
from models.unet import UNet  # noqa: E402

PRETRAIN_CONFIG = os.path.join(ROOT, "configs", "pretrain.yaml")
# Attention only in the middle (128 x 4 positions of a 32-frame window): the dry run takes seconds.
DRY_RUN_NETWORK = {"hidden_channels": [32, 32, 64, 64], "attention_levels": [], "num_res_blocks": 1, "num_heads": 1}
WINDOW_FRAMES = 256
PEAK_MEMORY_BATCHES = (1, 2, 4, 8)
TRAIN_BATCHES = (1, 2)
GRADIENT_CLIP = 0.5  # the released recipe's gradient_clip_val
# Rough seconds per check on one H100/H200, used to skip what no longer fits the budget.
ESTIMATED_SECONDS = {"forward": 5, "peak memory": 5, "window batch": 15, "bandwidth extension": 30,
                     "training": 20, "compile": 60}


class Setup:
    """What the checks share: device, sizes, and one Restorer whose expert is the UNet under test."""

    def __init__(self, dry_run: bool, folder: str):
        self.dry_run = dry_run
        self.device = torch.device("cpu" if dry_run else "cuda")
        with open(PRETRAIN_CONFIG) as file:
            pretrain = yaml.safe_load(file)
        released = pretrain["model"]["vf_model"]["init_args"]
        self.network = DRY_RUN_NETWORK if dry_run else released
        self.segment_samples = 15872 if dry_run else pretrain["data"]["segment_samples"]
        self.lr = pretrain["model"]["lr"]
        self.window_frames = 32 if dry_run else WINDOW_FRAMES
        self.runs = 1 if dry_run else 3
        self.train_steps = 2 if dry_run else 20
        self.audio_seconds = 3.0 if dry_run else 60.0
        checkpoint = os.path.join(folder, "random_unet.ckpt")
        torch.manual_seed(0)
        with self.device:
            state = {f"vf_model.{k}": v.cpu() for k, v in UNet(**self.network).state_dict().items()}
        state["t_to_emb.multipliers"] = TimeEmbedding().multipliers
        torch.save({"state_dict": state}, checkpoint)
        del state
        self.restorer = Restorer(self.network, [checkpoint], [], device=self.device, bf16=True,
                                 window_frames=self.window_frames, hop_frames=self.window_frames // 2)
        self.net = self.restorer.ensemble.experts[0]

    def window(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.randn(batch, 3, N_BINS, self.window_frames, device=self.device)
        return x, torch.randn(batch, self.net.time_emb_dim, device=self.device)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    synchronize(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_mib(device: torch.device):
    """Peak allocated GPU memory since the last reset_peak, in MiB (None on the CPU)."""
    synchronize(device)
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def timed_forward(setup: Setup, net, x, t_emb, bf16: bool) -> float:
    """Median seconds of setup.runs forwards after one warm-up."""
    times = []
    for run in range(1 + setup.runs):
        synchronize(setup.device)
        start = time.perf_counter()
        with torch.inference_mode(), torch.autocast(setup.device.type, torch.bfloat16, enabled=bf16):
            net(x, t_emb)
        synchronize(setup.device)
        if run:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def forward_check(bf16: bool, channels_last: bool):
    def check(setup: Setup) -> dict:
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        net = setup.net.to(memory_format=memory_format)
        x, t_emb = setup.window(1)
        try:
            reset_peak(setup.device)
            seconds = timed_forward(setup, net, x.contiguous(memory_format=memory_format), t_emb, bf16)
        finally:
            net.to(memory_format=torch.contiguous_format)
        return {"value": 1000 * seconds, "unit": "ms/window", "peak_mib": peak_mib(setup.device)}

    return check


def compile_check(setup: Setup) -> dict:
    net = setup.net.to(memory_format=torch.channels_last)
    x, t_emb = setup.window(1)
    x = x.contiguous(memory_format=torch.channels_last)
    try:
        compiled = torch.compile(net, backend="eager" if setup.dry_run else "inductor")
        start = time.perf_counter()
        with torch.inference_mode(), torch.autocast(setup.device.type, torch.bfloat16):
            compiled(x, t_emb)
        synchronize(setup.device)
        compile_seconds = time.perf_counter() - start
        reset_peak(setup.device)
        seconds = timed_forward(setup, compiled, x, t_emb, bf16=True)
    finally:
        net.to(memory_format=torch.contiguous_format)
    return {"value": 1000 * seconds, "unit": "ms/window", "peak_mib": peak_mib(setup.device),
            "note": f"compile {compile_seconds:.1f} s"}


def peak_memory_check(batch: int):
    def check(setup: Setup) -> dict:
        x, t_emb = setup.window(batch)
        reset_peak(setup.device)
        seconds = timed_forward(setup, setup.net, x, t_emb, bf16=True)
        return {"value": 1000 * seconds / batch, "unit": "ms/window", "peak_mib": peak_mib(setup.device)}

    return check


def window_batch_check(setup: Setup) -> dict:
    frames = min(setup.restorer.chunk_frames, frames_for(setup.audio_seconds))
    # Sized as the engine sizes it when a stereo chunk starts, then run with the chunk's state allocated.
    batch = setup.restorer._window_batch(2 * 3 * N_BINS * frames)
    state = torch.zeros(STATE_IMAGES, 2, 3, N_BINS, frames, device=setup.device)
    x = torch.randn(batch, 3, N_BINS, setup.window_frames, device=setup.device)
    reset_peak(setup.device)
    start = time.perf_counter()
    with torch.inference_mode():
        setup.restorer.ensemble(x, 0.5)
    synchronize(setup.device)
    seconds = time.perf_counter() - start
    total = torch.cuda.get_device_properties(setup.device).total_memory / 2**20 if setup.device.type == "cuda" else None
    note = f"one call {seconds:.2f} s" + ("" if total is None else f", of {total:.0f} MiB")
    del state
    return {"value": batch, "unit": "windows/call", "peak_mib": peak_mib(setup.device), "note": note}


def bandwidth_extension_check(setup: Setup) -> dict:
    n = int(setup.audio_seconds * SAMPLE_RATE)
    audio = np.stack([music_like(setup.audio_seconds, seed=seed)[:n] for seed in (0, 1)])
    steps = 3 if setup.dry_run else 5
    reset_peak(setup.device)
    start = time.perf_counter()
    out = setup.restorer.bandwidth_extension(audio, cutoff_hz=4000, n_steps=steps, progress=False)
    seconds = time.perf_counter() - start
    if out.shape != audio.shape or not np.isfinite(out).all():
        raise RuntimeError(f"restored audio has shape {out.shape} or non-finite samples")
    return {"value": seconds, "unit": "s wall", "peak_mib": peak_mib(setup.device),
            "note": f"{setup.audio_seconds:.0f} s stereo, {steps} steps, {setup.audio_seconds / seconds:.2f}x realtime"}


def training_check(batch: int):
    def check(setup: Setup) -> dict:
        torch.manual_seed(0)
        with setup.device:
            module = A2SBModule(UNet(**{**setup.network, "checkpointing": True}), lr=setup.lr).train()
        optimizer = module.configure_optimizers()
        audio = torch.from_numpy(music_like(batch * setup.segment_samples / SAMPLE_RATE + 1, seed=batch))
        data = {"audio": audio[:batch * setup.segment_samples].reshape(batch, -1).to(setup.device),
                "max_bin": torch.full((batch,), N_BINS, device=setup.device)}
        reset_peak(setup.device)
        times = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # self.log without a Trainer
            for step in range(1 + setup.train_steps):
                start = time.perf_counter()
                with torch.autocast(setup.device.type, torch.bfloat16):
                    loss = module.training_step(data, step)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(module.parameters(), GRADIENT_CLIP)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                synchronize(setup.device)
                if step:
                    times.append(time.perf_counter() - start)
        if not torch.isfinite(loss):
            raise RuntimeError(f"training loss is {loss.item()}")
        return {"value": len(times) / sum(times), "unit": "steps/s", "peak_mib": peak_mib(setup.device),
                "note": f"{setup.train_steps} steps, loss {loss.item():.3f}"}

    return check


def checks():
    """(row name, budget key, check function) in the order they run."""
    yield "forward fp32", "forward", forward_check(bf16=False, channels_last=False)
    yield "forward bf16 autocast", "forward", forward_check(bf16=True, channels_last=False)
    yield "forward bf16 + channels_last", "forward", forward_check(bf16=True, channels_last=True)
    for batch in PEAK_MEMORY_BATCHES:
        yield f"window batch {batch} (bf16)", "peak memory", peak_memory_check(batch)
    yield "window batch from free memory", "window batch", window_batch_check
    yield "bandwidth extension, stereo", "bandwidth extension", bandwidth_extension_check
    for batch in TRAIN_BATCHES:
        yield f"training batch {batch} (bf16, checkpointing)", "training", training_check(batch)
    yield "forward bf16 + channels_last + compile", "compile", compile_check


def run_checks(setup: Setup, budget_s: float, started: float) -> list[dict]:
    rows = []
    for name, kind, check in checks():
        elapsed = time.perf_counter() - started
        row = {"check": name, "status": "ok", "value": None, "unit": "", "peak_mib": None, "note": "",
               "seconds": 0.0}
        if not setup.dry_run and elapsed + ESTIMATED_SECONDS[kind] > budget_s:
            row["status"] = f"skipped: {elapsed:.0f} s of the {budget_s:.0f} s budget spent"
        else:
            start = time.perf_counter()
            try:
                row.update(check(setup))
            except Exception as error:  # one failing path must not hide the others
                first_line = (str(error).strip().splitlines() or [""])[0][:200]
                row["status"] = f"failed: {type(error).__name__}: {first_line}"
            row["seconds"] = time.perf_counter() - start
            gc.collect()
            if setup.device.type == "cuda":
                torch.cuda.empty_cache()
        rows.append(row)
        print(f"  {name}: {row['status']} ({row['seconds']:.1f} s)", file=sys.stderr, flush=True)
    return rows


def format_table(rows: list[dict]) -> str:
    header = ("check", "value", "unit", "peak MiB", "s", "status / note")
    lines = []
    for row in rows:
        value = "" if row["value"] is None else f"{row['value']:.4g}"
        peak = "" if row["peak_mib"] is None else f"{row['peak_mib']:.0f}"
        status = row["note"] if row["status"] == "ok" else row["status"]
        lines.append((row["check"], value, row["unit"], peak, f"{row['seconds']:.1f}", status))
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in [header, *lines])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="gpu_check.json", help="JSON file for the table")
    parser.add_argument("--budget-s", type=float, default=150.0,
                        help="wall-clock budget; checks that no longer fit are skipped")
    parser.add_argument("--dry-run", action="store_true", help="every check on the CPU with a tiny UNet")
    args = parser.parse_args(argv)
    if not args.dry_run and not torch.cuda.is_available():
        parser.error("no CUDA device: run on a GPU machine, or pass --dry-run to exercise the script on the CPU")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        setup = Setup(args.dry_run, folder)
        rows = run_checks(setup, args.budget_s, started)
    device = "cpu (dry run)" if args.dry_run else torch.cuda.get_device_name(setup.device)
    total = time.perf_counter() - started
    print(f"GPU check on {device}, torch {torch.__version__}, UNet {setup.network['hidden_channels']}, "
          f"{total:.0f} s in all")
    print(format_table(rows))
    report = {"device": device, "torch": torch.__version__, "dry_run": args.dry_run, "budget_s": args.budget_s,
              "total_s": total, "network": setup.network, "rows": rows}
    write_text(args.out, json.dumps(report, indent=2) + "\n")
    print(f"written: {args.out}")
    return 0 if all(row["status"] == "ok" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
