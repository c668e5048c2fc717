"""benchmarks/gradient_reach.py and benchmarks/learnability.py: the measurements behind the question whether the
recipe learns conditional structure."""
import json

import pytest
import torch
from torch import nn

from benchmarks import gradient_reach, learnability
from models import bridge


class PixelWise(nn.Module):
    """A network that looks at each pixel alone (a 1x1 convolution): it cannot see the kept band at all."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x, emb):
        return self.conv(x)


class RowMean(nn.Module):
    """Every output pixel is the mean of its frame over all rows: it sees every row alike."""

    def forward(self, x, emb):
        return x.mean(dim=(1, 2), keepdim=True).expand_as(x)


def test_gradient_reach_of_networks_with_known_reach():
    image = torch.randn(1, 3, 1024, 16)
    embedding = bridge.TimeEmbedding()
    local = gradient_reach.reach(PixelWise(), embedding, image, cutoff_row=185, row=700, t=1.0)
    assert local == pytest.approx({"below_cutoff": 0.0, "within_32_rows": 1.0, "beyond_4_frames": 0.0})
    spread = gradient_reach.reach(RowMean(), embedding, image, cutoff_row=185, row=700, t=1.0)
    assert spread == pytest.approx({"below_cutoff": 185 / 1024, "within_32_rows": 65 / 1024, "beyond_4_frames": 0.0})


def test_gradient_reach_prints_each_model(capsys):
    assert gradient_reach.main(["--model", "tiny=configs/tiny_cpu.yaml", "--frames", "16"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("tiny") and "below_cutoff" in lines[-1]


@pytest.mark.slow
def test_learnability_trains_restores_and_scores(tmp_path):
    out = tmp_path / "overfit"
    assert learnability.main(["--out", str(out), "--steps", "2", "--sampling-steps", "3", "--inpaint"]) == 0
    report = json.loads((out / "results.json").read_text())
    assert report["experiment"] == "overfit" and report["steps"] == 2
    means = report["means"]
    # band replication follows this music's envelope closely and keeps its rests silent; the scores are real
    assert means["bwe4000"]["band replication"]["env_corr"] > 0.95
    assert means["bwe4000"]["band replication"]["silence_db"] < -40
    assert set(means["bwe4000"]["model"]) >= {"env_corr", "silence_db", "lsd_band"}
    assert set(means["inpaint"]["LPC"]) >= {"env_corr", "lsd_gap"}
    assert (out / "clip0000_bwe.png").is_file() and (out / "checkpoints" / "last.ckpt").is_file()
