"""models/trainer.py: `precision: bf16-mixed-if-native` trains in bf16 only where the CPU computes in it."""
import logging
import os
import sys

import pytest
from lightning.pytorch.accelerators import CPUAccelerator

import models.trainer as trainer_module
from models.trainer import IF_NATIVE, cpu_info, resolve_precision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from main import A2SBCLI, A2SBDataModule, A2SBModule  # noqa: E402

SAPPHIRE_RAPIDS = ("Intel(R) Xeon(R) Platinum 8480+", {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})
EPYC = ("AMD EPYC 7B12", {"avx2", "fma", "sse4_2"})


@pytest.fixture
def cpu(monkeypatch):
    """cpu(info): makes the resolution see a CPU with that (model name, flags)."""
    return lambda info: monkeypatch.setattr(trainer_module, "cpu_info", lambda: info)


@pytest.fixture
def said(caplog):
    """The line the resolution printed."""
    caplog.set_level(logging.INFO)
    return lambda: " ".join(record.getMessage() for record in caplog.records if IF_NATIVE in record.getMessage())


def test_native_bf16_keeps_bf16(cpu, said):
    cpu(SAPPHIRE_RAPIDS)
    assert resolve_precision(IF_NATIVE, "cpu") == "bf16-mixed"
    assert "bf16-mixed" in said() and "avx512_bf16, amx_bf16" in said() and "8480+" in said()


def test_emulated_bf16_falls_back_to_float32(cpu, said):
    cpu(EPYC)
    assert resolve_precision(IF_NATIVE, "cpu") == "32-true"
    assert "32-true" in said() and "AMD EPYC 7B12" in said() and "emulated" in said()


def test_other_accelerators_keep_bf16_a_cpu_instance_does_not(cpu):
    cpu(EPYC)
    assert resolve_precision(IF_NATIVE, "gpu") == "bf16-mixed"
    assert resolve_precision(IF_NATIVE, CPUAccelerator()) == "32-true"


@pytest.mark.parametrize("precision", ["bf16-mixed", "32-true", "16-mixed", None])
def test_an_ordinary_value_is_used_as_given(cpu, precision):
    cpu(EPYC)
    assert resolve_precision(precision, "cpu") == precision


def test_cpu_info_reads_the_flags(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text("processor\t: 0\nmodel name\t: AMD EPYC 7B12\nflags\t\t: fpu avx2 fma\n\n"
                    "processor\t: 1\nmodel name\t: AMD EPYC 7B12\nflags\t\t: fpu avx2 fma\n")
    assert cpu_info(str(path)) == ("AMD EPYC 7B12", {"fpu", "avx2", "fma"})
    assert cpu_info(str(tmp_path / "absent"))[1] == set()


def build(*args):
    """The Trainer that `main.py fit ARGS` would build (the tiny CPU config, nothing run)."""
    cli = A2SBCLI(A2SBModule, A2SBDataModule, trainer_class=trainer_module.Trainer, run=False,
                  args=["--config", os.path.join(ROOT, "configs", "tiny_cpu.yaml"), "--trainer.logger", "false",
                        *args])
    return cli.trainer


def test_the_cli_resolves_the_config_value(cpu):
    cpu(EPYC)
    assert build("--trainer.precision", IF_NATIVE).precision == "32-true"
    cpu(SAPPHIRE_RAPIDS)
    assert build("--trainer.precision", IF_NATIVE).precision == "bf16-mixed"


def test_an_explicit_setting_wins(cpu, tmp_path):
    """A config asking for bf16-mixed-if-native, overridden on the command line: the command line is kept."""
    config = tmp_path / "if_native.yaml"
    config.write_text(f"trainer:\n  precision: {IF_NATIVE}\n")
    cpu(EPYC)
    assert build("--config", str(config)).precision == "32-true"
    assert build("--config", str(config), "--trainer.precision", "bf16-mixed").precision == "bf16-mixed"
