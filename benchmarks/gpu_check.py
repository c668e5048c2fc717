"""One-shot GPU check of issue 24's goals, with the released-size two-split ensemble (random weights), in one run.

Checks, in order of priority (each wrapped: a failure, out-of-memory included, is reported in its row and the
rest run; a check whose estimated time no longer fits --budget-s is skipped and says so):
  songs, fresh process        a child process (cold inductor cache) restores two 3-minute stereo songs, file in
                              to file out, bandwidth extension from 4 kHz, 50 time points, bf16, compile="auto":
                              time to the first song from the process's start (load and compile included), the
                              second song alone, the cost model's passes, batch and compile time; then the first
                              --lsd-seconds of song 1 by that fast path and by the eager fp32 path: LSD between
                              them and the kept band's error against the input; eager against compiled ms/window
  warm cache, fresh process   a second child compiles the same graphs from the cache the first one filled
  memory caps                 uncapped, 24 GB and 16 GB cards (torch.cuda.set_per_process_memory_fraction, the
                              card less CONTEXT_GIB for the CUDA context): one full 60 s stereo chunk (the largest
                              sampler state) at --cap-steps, eager bf16: window batch, time, peak, the song's time
                              projected, output against the uncapped one
  training                    the released recipe in bf16, with and without gradient checkpointing, batches 1, 2
                              and the largest that the two measured peaks say fits; then with torch.compile
  forwards                    one window fp32 / bf16 / bf16 + channels_last, and bf16 at window batch 1 to 8
Prints one table and writes it as JSON (--out, by default benchmarks/results/gpu_check_<date>.json).
--dry-run runs the same plan on the CPU with a tiny UNet, short songs and compile's eager backend, so the
whole script is exercised without a GPU.

    python benchmarks/gpu_check.py
    python benchmarks/gpu_check.py --dry-run --out /tmp/gpu_check.json
"""

import argparse
import datetime
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import numpy as np
import torch
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from audiokit.constants import HOP_LENGTH, N_BINS, N_FFT, SAMPLE_RATE  # noqa: E402
from audiokit.files import write_text  # noqa: E402
from audiokit.tool_io import read_input, write_audio  # noqa: E402
from datasets.synthetic import music_like  # noqa: E402
from inference.chunking import frames_for  # noqa: E402
from inference.engine import Restorer  # noqa: E402
from models.a2sb_module import A2SBModule  # noqa: E402
from models.bridge import TimeEmbedding  # noqa: E402
from models.unet import UNet  # noqa: E402

PRETRAIN_CONFIG = os.path.join(ROOT, "configs", "pretrain.yaml")
SAMPLING_CONFIG = os.path.join(ROOT, "configs", "ensemble_2split_sampling.yaml")
RESULTS = os.path.join(ROOT, "benchmarks", "results")
# Attention only in the middle (128 x 4 positions of a 32-frame window): the dry run takes a few minutes.
DRY_RUN_NETWORK = {"hidden_channels": [32, 32, 64, 64], "attention_levels": [], "num_res_blocks": 1, "num_heads": 1}
WINDOW_FRAMES = 256
CUTOFF_HZ = 4000.0
KEPT_BELOW = 0.9  # of the cutoff: the kept band's error is read there, clear of the STFT's leakage across it
PEAK_MEMORY_BATCHES = (1, 2, 4, 8)
TRAIN_BATCHES = (1, 2)
MAX_TRAIN_BATCH = 64
TRAIN_MEMORY_FRACTION = 0.9  # of the card, for the largest training batch read off the two measured peaks
CARDS_GB = (24, 16)
CONTEXT_GIB = 1.0  # of a card's memory taken by the CUDA context and the display, outside the allocator's cap
GRADIENT_CLIP = 0.5  # the released recipe's gradient_clip_val
# Rough seconds per check on one H200, to skip what no longer fits the budget (compile about a minute a graph).
ESTIMATED_SECONDS = {"songs": 300, "warm cache": 40, "memory cap": 25, "training": 15, "forward": 5,
                     "peak memory": 5, "training, compiled": 150}


class Setup:
    """What the checks share: sizes, the random experts' checkpoints, the sampling config, the songs, and one
    Restorer of the two-split ensemble (eager bf16) whose first expert is the UNet of the forward checks."""

    def __init__(self, dry_run: bool, folder: str):
        self.dry_run = dry_run
        self.folder = folder
        self.device = torch.device("cpu" if dry_run else "cuda")
        with open(PRETRAIN_CONFIG) as file:
            pretrain = yaml.safe_load(file)
        released = pretrain["model"]["vf_model"]["init_args"]
        self.network = DRY_RUN_NETWORK if dry_run else released
        self.segment_samples = 15872 if dry_run else pretrain["data"]["segment_samples"]
        self.lr = pretrain["model"]["lr"]
        self.window_frames = 32 if dry_run else WINDOW_FRAMES
        self.runs = 1 if dry_run else 3
        self.train_steps = 1 if dry_run else 20
        self.song_seconds = 2.0 if dry_run else 180.0
        self.steps = 3 if dry_run else 50
        self.lsd_seconds = 1.0 if dry_run else 30.0
        self.chunk_seconds = 1.0 if dry_run else 60.0
        self.overlap_seconds = 0.3 if dry_run else 3.0
        self.cap_steps = 2 if dry_run else 5
        # The dry run traces with the eager backend: inductor would take minutes on a CPU for nothing measured.
        self.compile_options = {"backend": "eager"} if dry_run else {}
        self.checkpoints = []
        for seed in (0, 1):
            torch.manual_seed(seed)
            with self.device:
                state = {f"vf_model.{k}": v.cpu() for k, v in UNet(**self.network).state_dict().items()}
            state["t_to_emb.multipliers"] = TimeEmbedding().multipliers
            self.checkpoints.append(os.path.join(folder, f"random_expert{seed}.ckpt"))
            torch.save({"state_dict": state}, self.checkpoints[-1])
            del state
        with open(SAMPLING_CONFIG) as file:
            config = yaml.safe_load(file)
        config.pop("checkpoint_files")
        config.update(network=self.network, window_frames=self.window_frames, hop_frames=self.window_frames // 2,
                      chunk_seconds=self.chunk_seconds, overlap_seconds=self.overlap_seconds, bf16=True)
        self.config = os.path.join(folder, "sampling.yaml")
        write_text(self.config, yaml.safe_dump(config))
        n = int(self.song_seconds * SAMPLE_RATE)
        self.songs = []
        for song in (0, 1):
            audio = np.stack([music_like(self.song_seconds, seed=2 * song + c)[:n] for c in (0, 1)])
            self.songs.append(os.path.join(folder, f"song{song}.wav"))
            write_audio(self.songs[-1], audio, "FLOAT")
        self.restorer = Restorer.from_config(self.config, self.checkpoints, device=self.device, compile=False)
        self.net = self.restorer.ensemble.experts[0]
        self.uncapped = None  # the memory checks' reference output
        self.train_peaks = {}  # checkpointing -> {batch: peak MiB}, for the largest training batch

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


def log_power(audio: np.ndarray) -> torch.Tensor:
    """log10 STFT power (channels, bins, frames), floored as inference/evaluate.py floors it (1e-8)."""
    window = torch.hann_window(N_FFT, dtype=torch.float64)
    spec = torch.stft(torch.from_numpy(audio).double(), N_FFT, HOP_LENGTH, window=window, return_complex=True)
    return torch.log10(spec.abs() ** 2 + 1e-8)


def band_errors(out: np.ndarray, ref: np.ndarray, cutoff_hz: float) -> tuple[float, float, float]:
    """(LSD over the whole band, LSD at and above cutoff_hz, max |out - ref| below KEPT_BELOW x cutoff_hz).
    LSD as inference/evaluate.py defines it (mean over frames of the RMS over bins of the log power ratio), on
    this project's STFT, averaged over the channels; evaluate.py itself needs librosa, which the GPU machine
    lacks."""
    difference = log_power(out) - log_power(ref)
    split = int(np.ceil(cutoff_hz * N_FFT / SAMPLE_RATE))
    whole = float(difference.pow(2).mean(dim=1).sqrt().mean())
    high = float(difference[:, split:].pow(2).mean(dim=1).sqrt().mean())
    spectrum = np.fft.rfft(out - ref, axis=-1)
    spectrum[..., int(KEPT_BELOW * cutoff_hz / SAMPLE_RATE * out.shape[-1]):] = 0
    kept = float(np.max(np.abs(np.fft.irfft(spectrum, out.shape[-1], axis=-1))))
    return whole, high, kept


# ---- the child processes: what a user's own process does -------------------------------------------------

def songs_worker(args) -> None:
    """Restores the songs file to file with compile="auto", then the LSD and speed comparisons; prints one JSON
    line per event, so that the parent can time each from this process's start."""
    setup = json.loads(args.worker_setup)
    device = torch.device(setup["device"])
    restorer = Restorer.from_config(setup["config"], setup["checkpoints"], device=device,
                                    compile=setup["compile"], compile_options=setup["compile_options"])
    for index, path in enumerate(setup["songs"]):
        start = time.perf_counter()
        audio, _ = read_input(path)
        out = restorer.bandwidth_extension(audio, CUTOFF_HZ, n_steps=setup["steps"], progress=False)
        write_audio(os.path.splitext(path)[0] + "_restored.wav", out, "FLOAT")
        print(json.dumps({"event": "song", "index": index, "seconds": time.perf_counter() - start,
                          "passes": restorer.window_passes, "batch": restorer.compiled_batch,
                          "compile_s": restorer.compile_seconds}), flush=True)
    if not setup["lsd_seconds"]:
        return
    audio, _ = read_input(setup["songs"][0])
    excerpt = audio[:, :int(setup["lsd_seconds"] * SAMPLE_RATE)]
    fast = restorer.bandwidth_extension(excerpt, CUTOFF_HZ, n_steps=setup["steps"], progress=False)
    batch = restorer.compiled_batch
    x = torch.randn(batch or 1, 3, N_BINS, restorer.window_frames, device=device)
    compiled, restorer.ensemble.compiled = restorer.ensemble.compiled, []
    eager_ms = 1000 * timed_call(restorer, x) / len(x)
    restorer.ensemble.compiled = compiled
    compiled_ms = 1000 * timed_call(restorer, x) / len(x) if compiled else None
    del restorer
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    reference = Restorer.from_config(setup["config"], setup["checkpoints"], device=device, bf16=False, compile=False)
    exact = reference.bandwidth_extension(excerpt, CUTOFF_HZ, n_steps=setup["steps"], progress=False)
    whole, high, _ = band_errors(fast, exact, CUTOFF_HZ)
    print(json.dumps({"event": "lsd", "lsd": whole, "lsd_high": high,
                      "kept_fast": band_errors(fast, excerpt, CUTOFF_HZ)[2],
                      "kept_exact": band_errors(exact, excerpt, CUTOFF_HZ)[2],
                      "eager_ms": eager_ms, "compiled_ms": compiled_ms, "batch": batch}), flush=True)


def timed_call(restorer: Restorer, x: torch.Tensor) -> float:
    """Seconds of one ensemble call on the window batch x (after a warm-up), as the sampler makes it."""
    for _ in range(2):
        synchronize(x.device)
        start = time.perf_counter()
        with torch.inference_mode():
            restorer.ensemble(x, 0.25)
        synchronize(x.device)
    return time.perf_counter() - start


def run_worker(setup: Setup, cache: str, songs: list, lsd_seconds: float, compile_choice, timeout: float):
    """Runs songs_worker in a fresh process with `cache` as its inductor cache; returns [(seconds since the
    start, event)], and raises with the child's last words if it failed."""
    worker = {"device": str(setup.device), "config": setup.config, "checkpoints": setup.checkpoints,
              "songs": songs, "steps": setup.steps, "lsd_seconds": lsd_seconds, "compile": compile_choice,
              "compile_options": setup.compile_options}
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache, "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker-setup", json.dumps(worker)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    watchdog = threading.Timer(timeout, child.kill)  # the budget ends the child, whatever it is doing
    watchdog.start()
    events = []
    try:
        for line in child.stdout:
            if line.startswith("{"):
                events.append((time.perf_counter() - start, json.loads(line)))
        code = child.wait()
    finally:
        watchdog.cancel()
    if code != 0:
        last = (child.stderr.read().strip().splitlines() or ["no output"])[-1][:200]
        raise RuntimeError(f"worker ended with {code} after {len(events)} event(s): {last}")
    return events


# ---- the checks ----------------------------------------------------------------------------------------

def songs_check(setup: Setup, rows: list, timeout: float) -> None:
    """First and further song in a fresh process, and the fast path against eager fp32 (rows appended here:
    one child run gives several)."""
    cache = os.path.join(setup.folder, "inductor")
    choice = True if setup.dry_run else "auto"  # the dry run's songs are too short for the cost model
    events = run_worker(setup, cache, setup.songs, setup.lsd_seconds, choice, timeout)
    songs = [(at, event) for at, event in events if event["event"] == "song"]
    (first_at, first), *further = songs
    rows.append(ok("first song, fresh process, cold cache", first_at, "s wall",
                   f"{setup.song_seconds:.0f} s stereo, {setup.steps} steps, {first['passes']} window passes, "
                   f"compile {fmt(first['compile_s'])} s at batch {first['batch']}; restoration alone "
                   f"{first['seconds']:.1f} s"))
    for at, event in further:
        rows.append(ok("further song, same process", event["seconds"], "s wall",
                       f"{event['passes']} window passes"))
    lsd_event = next(event for _, event in events if event["event"] == "lsd")
    rows.append(ok("LSD fast path vs eager fp32", lsd_event["lsd"], "LSD",
                   f"first {setup.lsd_seconds:.0f} s of song 1; above {CUTOFF_HZ:.0f} Hz {lsd_event['lsd_high']:.4f}; "
                   f"kept band max error {lsd_event['kept_fast']:.2e} fast, {lsd_event['kept_exact']:.2e} fp32"))
    rows.append(ok("per window, compiled vs eager bf16", lsd_event["compiled_ms"], "ms/window",
                   f"eager {lsd_event['eager_ms']:.2f} ms/window at batch {lsd_event['batch']}"))


def warm_cache_check(setup: Setup, rows: list, timeout: float) -> None:
    """A second fresh process compiles the same graphs from the cache the songs' process filled."""
    cache = os.path.join(setup.folder, "inductor")
    choice = True if setup.dry_run else "auto"
    (at, event), = run_worker(setup, cache, setup.songs[:1], 0, choice, timeout)
    rows.append(ok("first song, fresh process, warm cache", at, "s wall",
                   f"compile {fmt(event['compile_s'])} s from the cache; restoration alone {event['seconds']:.1f} s"))


def memory_cap_check(card_gb):
    def check(setup: Setup) -> dict:
        restorer = setup.restorer
        device = setup.device
        audio = read_input(setup.songs[0])[0][:, :int(setup.chunk_seconds * SAMPLE_RATE)]
        if device.type == "cuda":
            gc.collect()
            torch.cuda.empty_cache()
            total = torch.cuda.get_device_properties(device).total_memory
            fraction = 1.0 if card_gb is None else (card_gb * 1e9 - CONTEXT_GIB * 2**30) / total
            torch.cuda.set_per_process_memory_fraction(fraction, device)
        try:
            batch = restorer._window_batch(2 * 3 * N_BINS * frames_for(setup.chunk_seconds))
            reset_peak(device)
            start = time.perf_counter()
            out = restorer.bandwidth_extension(audio, CUTOFF_HZ, n_steps=setup.cap_steps, progress=False)
            seconds = time.perf_counter() - start
        finally:
            if device.type == "cuda":
                torch.cuda.set_per_process_memory_fraction(1.0, device)
        passes = restorer.window_passes
        song_passes = passes / (setup.cap_steps - 1) * (setup.steps - 1) * setup.song_seconds / setup.chunk_seconds
        note = (f"{setup.chunk_seconds:.0f} s stereo, {setup.cap_steps} steps, batch {batch}, {passes} passes; "
                f"song at {setup.steps} steps about {seconds / passes * song_passes:.0f} s eager")
        if card_gb is None:
            setup.uncapped = out
        else:
            whole, _, _ = band_errors(out, setup.uncapped, CUTOFF_HZ)
            note += f"; vs uncapped: LSD {whole:.2e}, max |diff| {np.max(np.abs(out - setup.uncapped)):.2e}"
        if device.type != "cuda":
            note += " (no cap on the CPU)"
        return {"value": seconds, "unit": "s wall", "peak_mib": peak_mib(device), "note": note, "batch": batch}

    return check


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


def peak_memory_check(batch: int):
    def check(setup: Setup) -> dict:
        x, t_emb = setup.window(batch)
        reset_peak(setup.device)
        seconds = timed_forward(setup, setup.net, x, t_emb, bf16=True)
        return {"value": 1000 * seconds / batch, "unit": "ms/window", "peak_mib": peak_mib(setup.device)}

    return check


def largest_batch(setup: Setup, checkpointing: bool) -> int:
    """The training batch that the peaks at batches 1 and 2 say fits TRAIN_MEMORY_FRACTION of the card."""
    peaks = setup.train_peaks.get(checkpointing, {})
    if setup.device.type != "cuda":
        return 3
    if len(peaks) < 2:
        raise RuntimeError("the batches 1 and 2 of this setting did not run")
    total = torch.cuda.get_device_properties(setup.device).total_memory / 2**20
    slope = max(peaks[2] - peaks[1], 1.0)
    return int(min(MAX_TRAIN_BATCH, 1 + (TRAIN_MEMORY_FRACTION * total - peaks[1]) // slope))


def training_check(batch, checkpointing: bool, compiled: bool = False):
    """batch: a number, or None for the largest that fits."""

    def check(setup: Setup) -> dict:
        size = largest_batch(setup, checkpointing) if batch is None else batch
        torch.manual_seed(0)
        with setup.device:
            module = A2SBModule(UNet(**{**setup.network, "checkpointing": checkpointing}), lr=setup.lr).train()
        compile_seconds = None
        if compiled:  # as A2SBModule.setup does for model.compile, with the check's backend
            module.__dict__["_compiled_net"] = torch.compile(module.vf_model, **setup.compile_options)
        optimizer = module.configure_optimizers()
        audio = torch.from_numpy(music_like(size * setup.segment_samples / SAMPLE_RATE + 1, seed=size))
        data = {"audio": audio[:size * setup.segment_samples].reshape(size, -1).to(setup.device),
                "max_bin": torch.full((size,), N_BINS, device=setup.device)}
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
                else:
                    compile_seconds = time.perf_counter() - start
        if not torch.isfinite(loss):
            raise RuntimeError(f"training loss is {loss.item()}")
        peak = peak_mib(setup.device)
        if batch is not None and not compiled and peak is not None:
            setup.train_peaks.setdefault(checkpointing, {})[batch] = peak
        note = f"batch {size}, {setup.train_steps} steps, loss {loss.item():.3f}"
        if compiled:
            note += f", first step (compile) {compile_seconds:.1f} s"
        return {"value": len(times) / sum(times), "unit": "steps/s", "peak_mib": peak, "note": note, "batch": size}

    return check


def ok(name: str, value, unit: str, note: str) -> dict:
    return {"check": name, "status": "ok", "value": value, "unit": unit, "peak_mib": None, "note": note}


def fmt(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def checks():
    """(row name, budget key, check function) in the order they run; the songs and warm-cache checks add their
    own rows."""
    yield "songs, fresh process", "songs", songs_check
    yield "warm cache, fresh process", "warm cache", warm_cache_check
    yield "memory: uncapped", "memory cap", memory_cap_check(None)
    for card in CARDS_GB:
        yield f"memory: {card} GB card", "memory cap", memory_cap_check(card)
    for checkpointing in (True, False):
        label = "checkpointing" if checkpointing else "no checkpointing"
        for batch in TRAIN_BATCHES:
            yield f"training batch {batch} (bf16, {label})", "training", training_check(batch, checkpointing)
        yield f"training largest batch (bf16, {label})", "training", training_check(None, checkpointing)
    yield "forward fp32", "forward", forward_check(bf16=False, channels_last=False)
    yield "forward bf16 autocast", "forward", forward_check(bf16=True, channels_last=False)
    yield "forward bf16 + channels_last", "forward", forward_check(bf16=True, channels_last=True)
    for batch in PEAK_MEMORY_BATCHES:
        yield f"window batch {batch} (bf16)", "peak memory", peak_memory_check(batch)
    for checkpointing in (True, False):
        label = "checkpointing" if checkpointing else "no checkpointing"
        yield (f"training largest batch (bf16, {label}, compiled)", "training, compiled",
               training_check(None, checkpointing, compiled=True))


def run_checks(setup: Setup, budget_s: float, started: float) -> list[dict]:
    rows = []
    for name, kind, check in checks():
        elapsed = time.perf_counter() - started
        row = {"check": name, "status": "ok", "value": None, "unit": "", "peak_mib": None, "note": "",
               "seconds": 0.0}
        start = time.perf_counter()
        if not setup.dry_run and elapsed + ESTIMATED_SECONDS[kind] > budget_s:
            row["status"] = f"skipped: {elapsed:.0f} s of the {budget_s:.0f} s budget spent"
            rows.append(row)
        else:
            found = []  # the rows a child process's check gave before any failure
            try:
                if check in (songs_check, warm_cache_check):
                    # A child process: it may take what is left of the budget, less the other checks' share.
                    check(setup, found, 3600.0 if setup.dry_run else max(60.0, budget_s - elapsed - 120.0))
                else:
                    found.append(check(setup))
            except Exception as error:  # one failing path must not hide the others
                first_line = (str(error).strip().splitlines() or [""])[0][:200]
                found.append({"status": f"failed: {type(error).__name__}: {first_line}"})
            seconds = time.perf_counter() - start  # a child's rows all carry the whole child run's time
            rows.extend({**row, **found_row, "seconds": seconds} for found_row in found)
            gc.collect()
            if setup.device.type == "cuda":
                torch.cuda.empty_cache()
        print(f"  {name}: {rows[-1]['status']} ({rows[-1]['seconds']:.1f} s)", file=sys.stderr, flush=True)
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
    parser.add_argument("--out", help="JSON file for the table (default: benchmarks/results/gpu_check_<date>.json)")
    parser.add_argument("--budget-s", type=float, default=480.0,
                        help="wall-clock budget; checks that no longer fit are skipped")
    parser.add_argument("--dry-run", action="store_true", help="the whole plan on the CPU with a tiny UNet")
    parser.add_argument("--worker-setup", help=argparse.SUPPRESS)  # the child processes' settings (JSON)
    args = parser.parse_args(argv)
    if args.worker_setup:
        songs_worker(args)
        return 0
    if not args.dry_run and not torch.cuda.is_available():
        parser.error("no CUDA device: run on a GPU machine, or pass --dry-run to exercise the script on the CPU")
    out = args.out or os.path.join(RESULTS, f"gpu_check_{datetime.date.today().isoformat()}.json")
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
    write_text(out, json.dumps(report, indent=2) + "\n")
    print(f"written: {out}")
    return 0 if all(row["status"] == "ok" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
