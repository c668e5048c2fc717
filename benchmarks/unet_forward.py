"""Forward-pass speed of the released UNet configuration (random weights) on 3 x 1024 x 256 windows.

Default mode: one table of the median time over --runs timed forwards after --warmup untimed ones, in ms
per window and windows per second. CPU runs fp32; on CUDA also bf16 autocast, channels_last and
torch.compile.

--compare-reference: this project's UNet against the plain eager module (the same module with
set_winograd(False): the same weights, every fast path off) in one process, the variants alternated run by
run so that a change in machine load hits all of them alike. Each variant's output must equal the plain
module's to float rounding (relative difference below 1e-4, asserted). Variants: `winograd` (the
default forward), `channels_last` (plain kernels, module and input in channels_last), `compile`
(torch.compile of the default module; its compile time is reported apart from the steady state).

    python benchmarks/unet_forward.py                       # batch 1 and 4, 3 runs each
    python benchmarks/unet_forward.py --batch-sizes 1 --runs 2 --device cpu
    python benchmarks/unet_forward.py --compare-reference                   # plain vs winograd, 256 frames
    python benchmarks/unet_forward.py --compare-reference --frames 64 --variants winograd channels_last compile
"""

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from audiokit.constants import N_BINS  # noqa: E402
from models.unet import UNet  # noqa: E402

FRAMES = 256
MAX_RELATIVE_DIFFERENCE = 1e-4
COMPARED_VARIANTS = ("winograd", "channels_last", "compile")


def median_seconds(model, x, t_emb, runs: int, warmup: int, autocast_dtype=None) -> float:
    def forward():
        with torch.inference_mode(), torch.autocast(x.device.type, autocast_dtype, enabled=autocast_dtype is not None):
            model(x, t_emb)
        if x.device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(warmup):
        forward()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        forward()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def variants(device: torch.device):
    """(name, autocast dtype, channels_last, compiled); ordered so the model is converted only once."""
    yield "fp32", None, False, False
    if device.type == "cuda":
        yield "bf16 autocast", torch.bfloat16, False, False
        yield "bf16 autocast + channels_last", torch.bfloat16, True, False
        yield "bf16 autocast + channels_last + compile", torch.bfloat16, True, True


def print_table(header, widths, rows) -> None:
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))


def speed_table(args) -> None:
    device = torch.device(args.device)
    torch.manual_seed(0)
    with device:
        model = UNet().eval()
    compiled = None
    rows = []
    for name, autocast_dtype, channels_last, use_compile in variants(device):
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        model = model.to(memory_format=memory_format)
        if use_compile and compiled is None:
            compiled = torch.compile(model)
        for batch in args.batch_sizes:
            x = torch.randn(batch, 3, N_BINS, args.frames, device=device).contiguous(memory_format=memory_format)
            t_emb = torch.randn(batch, model.time_emb_dim, device=device)
            runner = compiled if use_compile else model
            seconds = median_seconds(runner, x, t_emb, args.runs, args.warmup, autocast_dtype)
            rows.append((str(device), name, batch, f"{1000 * seconds / batch:.1f}", f"{batch / seconds:.3f}"))

    millions = sum(p.numel() for p in model.parameters()) / 1e6
    print(
        f"UNet released config, {millions:.0f} M parameters, 3 x {N_BINS} x {args.frames} windows, "
        f"median of {args.runs} runs after {args.warmup} warm-up"
    )
    print_table(("device", "variant", "batch", "ms/window", "windows/s"), (8, 40, 6, 10, 10), rows)


class Variant:
    """One way of running the shared module: `prepare` puts the module and input in shape, `forward` runs it."""

    def __init__(self, name: str, model: UNet):
        self.name, self.model = name, model
        self.compiled = None
        self.compile_seconds = None

    def prepare(self, x: torch.Tensor, t_emb: torch.Tensor) -> torch.Tensor:
        """The input in the variant's memory format; compiles on the first call (timed apart)."""
        channels_last = self.name == "channels_last"
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model.to(memory_format=memory_format).set_winograd(self.name != "plain" and not channels_last)
        x = x.contiguous(memory_format=memory_format)
        if self.name == "compile" and self.compiled is None:
            start = time.perf_counter()
            self.compiled = torch.compile(self.model)
            self.forward(x, t_emb)
            self.compile_seconds = time.perf_counter() - start
        return x

    def forward(self, x: torch.Tensor, t_emb: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return (self.model if self.compiled is None else self.compiled)(x, t_emb)


def compare_reference(args) -> None:
    torch.manual_seed(0)
    model = UNet().eval()
    x = torch.randn(args.batch_sizes[0], 3, N_BINS, args.frames)
    t_emb = torch.randn(x.shape[0], model.time_emb_dim)
    runners = [Variant(name, model) for name in ("plain", *args.variants)]
    load_before = os.getloadavg()[0]
    outputs, times = {}, {runner.name: [] for runner in runners}
    for run in range(args.warmup + args.runs):
        for runner in runners:
            inputs = runner.prepare(x, t_emb)
            start = time.perf_counter()
            out = runner.forward(inputs, t_emb)
            if run >= args.warmup:
                times[runner.name].append(time.perf_counter() - start)
            outputs.setdefault(runner.name, out)
            print(f"  run {run}: {runner.name} {time.perf_counter() - start:.2f} s", file=sys.stderr, flush=True)
    load_after = os.getloadavg()[0]

    plain = outputs["plain"]
    rows = []
    for runner in runners:
        difference = ((outputs[runner.name] - plain).norm() / plain.norm()).item()
        if difference >= MAX_RELATIVE_DIFFERENCE:
            raise SystemExit(f"{runner.name}: output differs from the plain module by {difference:.1e} (relative)")
        seconds = statistics.median(times[runner.name])
        ratio = seconds / statistics.median(times["plain"])
        compile_s = "" if runner.compile_seconds is None else f"{runner.compile_seconds:.1f}"
        rows.append((runner.name, f"{seconds:.2f}", " ".join(f"{t:.1f}" for t in times[runner.name]),
                     f"{ratio:.2f}", f"{difference:.1e}", compile_s))
    print(
        f"UNet released config, {x.shape[0]} x 3 x {N_BINS} x {args.frames} input, {torch.get_num_threads()} threads, "
        f"alternated, median of {args.runs} after {args.warmup} warm-up; load average {load_before:.1f} before, "
        f"{load_after:.1f} after"
    )
    print_table(("variant", "median s", "runs s", "vs plain", "rel diff", "compile s (first call)"),
                (14, 9, 24, 9, 9, 10), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4],
                        help="windows per forward (--compare-reference uses the first)")
    parser.add_argument("--frames", type=int, default=FRAMES, help="window width in frames (a multiple of 32)")
    parser.add_argument("--runs", type=int, default=3, help="timed forwards per row (the median is reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed forwards before timing")
    parser.add_argument("--compare-reference", action="store_true",
                        help="CPU: time variants against the plain eager module, alternated, in one process")
    parser.add_argument("--variants", nargs="+", choices=COMPARED_VARIANTS, default=["winograd"],
                        help="variants timed against the plain module with --compare-reference")
    args = parser.parse_args()
    if args.frames <= 0 or args.frames % 32:
        parser.error(f"--frames must be a positive multiple of 32 (the UNet has 5 levels), got {args.frames}")
    if args.compare_reference:
        compare_reference(args)
    else:
        speed_table(args)


if __name__ == "__main__":
    main()
