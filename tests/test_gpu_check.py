import json
import os
import subprocess
import sys

import pytest
import torch

from benchmarks.gpu_check import checks
from inference.engine import CPU_WINDOW_BATCH

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "gpu_check.py")


@pytest.mark.slow  # the whole plan with a tiny UNet: several minutes on the shared 2-core CPU
def test_dry_run_runs_every_check_and_writes_the_table(tmp_path):
    out = tmp_path / "gpu_check.json"
    result = subprocess.run([sys.executable, SCRIPT, "--dry-run", "--out", str(out)], capture_output=True,
                            text=True, timeout=1800)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert report["dry_run"] is True
    rows = {row["check"]: row for row in report["rows"]}
    # The child processes' checks give their own rows; every other check gives one.
    children = ["first song, fresh process, cold cache", "further song, same process", "LSD fast path vs eager fp32",
                "per window, compiled vs eager bf16", "first song, fresh process, warm cache"]
    expected = children + [name for name, kind, _ in checks() if kind not in ("songs", "warm cache")]
    assert list(rows) == expected
    assert {name: row["status"] for name, row in rows.items() if row["status"] != "ok"} == {}
    assert all(row["value"] is not None and row["seconds"] > 0 for row in rows.values())
    assert "window passes" in rows["first song, fresh process, cold cache"]["note"]
    # The fast path is compiled (eager backend here) bf16 that the CPU ignores: equal to eager fp32.
    assert rows["LSD fast path vs eager fp32"]["value"] < 1e-3
    for card in ("uncapped", "24 GB card", "16 GB card"):
        assert rows[f"memory: {card}"]["batch"] == CPU_WINDOW_BATCH
    assert "vs uncapped: LSD 0.00e+00" in rows["memory: 16 GB card"]["note"]
    assert "first step (compile)" in rows["training largest batch (bf16, checkpointing, compiled)"]["note"]
    # The printed table has one line per row.
    assert all(name in result.stdout for name in rows)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_without_cuda_the_script_says_what_to_do(tmp_path):
    result = subprocess.run([sys.executable, SCRIPT, "--out", str(tmp_path / "x.json")], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 2
    assert "no CUDA device" in result.stderr and "--dry-run" in result.stderr
    assert not (tmp_path / "x.json").exists()
