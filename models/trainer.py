"""Lightning's Trainer with one more precision value, `bf16-mixed-if-native`, for configs that run on any CPU.

bf16 mixed precision pays on a CPU whose matrix units compute in bf16 (AVX512_BF16 or AMX: 1.68x the steps/s of
float32 for configs/small_cpu.yaml); elsewhere torch emulates bf16 and a training step is several times slower
than in float32. `precision: bf16-mixed-if-native` resolves to `bf16-mixed` on such a CPU (and on any other
accelerator) and to `32-true` on the others, printing which and why. Any ordinary value, from the config or
`--trainer.precision` on the command line, is used as given.
"""
import platform
from typing import Literal, Optional, Union

import lightning as L
import torch
from lightning.fabric.connector import _PRECISION_INPUT
from lightning.pytorch.accelerators import CPUAccelerator
from lightning.pytorch.utilities import rank_zero_info

IF_NATIVE = "bf16-mixed-if-native"
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of CPUs that compute in bf16
CPUINFO = "/proc/cpuinfo"


def cpu_info(path: str = CPUINFO) -> tuple[str, set]:
    """(model name, set of feature flags) of the first CPU in /proc/cpuinfo (x86 `flags`, Arm `Features`);
    (the platform's processor name, no flags) where there is no such file (macOS, Windows)."""
    fields = {}
    try:
        with open(path) as file:
            for line in file:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine()
    return name, set((fields.get("flags") or fields.get("Features") or "").split())


def native_bf16(flags: set) -> list:
    """The flags among `flags` that make bf16 native (empty: bf16 is emulated)."""
    return [flag for flag in NATIVE_BF16_FLAGS if flag in flags]


def runs_on_cpu(accelerator) -> bool:
    """Whether a Trainer with this accelerator setting trains on the CPU."""
    if isinstance(accelerator, str) and accelerator != "auto":
        return accelerator == "cpu"
    if accelerator is None or accelerator == "auto":
        return not (torch.cuda.is_available() or torch.backends.mps.is_available())
    return isinstance(accelerator, CPUAccelerator)


def resolve_precision(precision, accelerator):
    """The precision to train in: `precision` itself unless it is IF_NATIVE, which becomes bf16-mixed where
    bf16 is native and 32-true on a CPU without it (with one line saying which and why)."""
    if precision != IF_NATIVE:
        return precision
    if not runs_on_cpu(accelerator):
        rank_zero_info(f"trainer.precision {IF_NATIVE}: bf16-mixed (not training on the CPU)")
        return "bf16-mixed"
    name, flags = cpu_info()
    native = native_bf16(flags)
    if native:
        rank_zero_info(f"trainer.precision {IF_NATIVE}: bf16-mixed, the CPU ({name}) computes in bf16 "
                       f"({', '.join(native)})")
        return "bf16-mixed"
    rank_zero_info(f"trainer.precision {IF_NATIVE}: 32-true, the CPU ({name}) has no native bf16 "
                   f"({' or '.join(NATIVE_BF16_FLAGS)}), where bf16 is emulated and slower than float32")
    return "32-true"


class Trainer(L.Trainer):
    """Lightning's Trainer; `precision` also takes bf16-mixed-if-native (see the module's docstring)."""

    def __init__(self, *, precision: Optional[Union[_PRECISION_INPUT, Literal["bf16-mixed-if-native"]]] = None,
                 **kwargs):
        super().__init__(precision=resolve_precision(precision, kwargs.get("accelerator", "auto")), **kwargs)
