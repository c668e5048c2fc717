import json
import os
import subprocess
import sys

import pytest
import torch

from benchmarks.gpu_check import checks
from inference.engine import CPU_WINDOW_BATCH

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "gpu_check.py")


@pytest.mark.slow
def test_dry_run_runs_every_check_and_writes_the_table(tmp_path):
    out = tmp_path / "gpu_check.json"
    result = subprocess.run([sys.executable, SCRIPT, "--dry-run", "--out", str(out)], capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert report["dry_run"] is True
    rows = {row["check"]: row for row in report["rows"]}
    assert list(rows) == [name for name, _, _ in checks()]
    assert {name: row["status"] for name, row in rows.items() if row["status"] != "ok"} == {}
    assert all(row["value"] > 0 and row["seconds"] > 0 for row in rows.values())
    assert rows["window batch from free memory"]["value"] == CPU_WINDOW_BATCH
    assert "compile" in rows["forward bf16 + channels_last + compile"]["note"]
    for batch in (1, 2):
        assert "loss" in rows[f"training batch {batch} (bf16, checkpointing)"]["note"]
    # The printed table has one line per check.
    assert all(name in result.stdout for name in rows)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_without_cuda_the_script_says_what_to_do(tmp_path):
    result = subprocess.run([sys.executable, SCRIPT, "--out", str(tmp_path / "x.json")], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 2
    assert "no CUDA device" in result.stderr and "--dry-run" in result.stderr
    assert not (tmp_path / "x.json").exists()
