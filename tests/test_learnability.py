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


def test_gradient_reach_probes_one_expert_of_a_two_expert_config():
    name, network, _ = gradient_reach.load_network(
        "high=configs/small_sampling.yaml:pretrained/small/small_high_t.safetensors")
    assert name == "high" and network.extension_modules()  # the shipped high-t expert, frequency attention and all


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
    assert set(report["x0_probe"]["clip0000"]) == {"0.99", "0.75", "0.5"}


@pytest.mark.slow
def test_x0_probe_command_scores_each_checkpoint(tmp_path, capsys):
    from benchmarks import x0_probe
    out = tmp_path / "overfit"
    assert learnability.main(["--out", str(out), "--steps", "2", "--sampling-steps", "2"]) == 0
    capsys.readouterr()
    assert x0_probe.main(["--config", str(out / "config.yaml"), "--audio", str(out / "data" / "clip0000.wav"),
                          "--seconds", "3", str(out / "checkpoints" / "*.ckpt")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["step=2.ckpt", "last.ckpt"]
    assert all("t=0.99: corr" in line and "t=0.5: corr" in line and " level " in line for line in lines)


class FakeRestorer:
    """What x0_probe uses of a Restorer, with a denoiser chosen by the test."""

    def __init__(self, estimate):
        from models.representation import Representation
        self.representation = Representation()
        self.window_frames, self.device, self.beta_max = 64, "cpu", 1.0
        self.ensemble = self
        self.estimate = estimate

    def denoiser(self, t):
        return self.estimate


def test_x0_probe_scores_an_oracle_and_a_steady_bed():
    from benchmarks import x0_probe
    from datasets.synthetic import structured_music
    wave = structured_music(4.0, seed=0)
    truth = x0_probe.probe_windows(FakeRestorer(None).representation.encode(torch.from_numpy(wave))[None], 64)
    assert truth.shape == (5, 3, 1024, 64)  # 4 s = 345 frames: as many whole 64-frame windows as fit (up to 8)

    oracle = x0_probe.x0_probe(FakeRestorer(lambda x_t, t: truth), wave, 4000.0)
    assert list(oracle) == [0.99, 0.75, 0.5]
    for scores in oracle.values():
        assert scores["corr"] == pytest.approx(1.0) and scores["rmse"] == pytest.approx(0.0, abs=1e-6)
        assert scores["level"] == pytest.approx(1.0)

    row = 185  # cutoff_bin(4000)
    # Half the compressed magnitude is 1/16 of the amplitude (the inverse power law is 4).
    halved = truth.clone()
    halved[:, 0, row:] *= 0.5
    assert x0_probe.x0_probe(FakeRestorer(lambda x_t, t: halved), wave, 4000.0)[0.99]["level"] == pytest.approx(1 / 16)
    level = truth[:, 0, row:].mean()
    bed = truth.clone()
    bed[:, 0, row:] = level + 0.01 * torch.randn(bed[:, 0, row:].shape, generator=torch.Generator().manual_seed(0))
    scores = x0_probe.x0_probe(FakeRestorer(lambda x_t, t: bed), wave, 4000.0)[0.99]
    assert abs(scores["corr"]) < 0.3
    assert scores["rmse"] == pytest.approx(float((bed - truth)[:, 0, row:].pow(2).mean().sqrt()), rel=1e-5)


def test_x0_probe_orders_checkpoints_by_step():
    from benchmarks import x0_probe
    names = ["last.ckpt", "step=1200.ckpt", "step=400.ckpt", "step=800.ckpt"]
    assert x0_probe.step_of("runs/x/step=400.ckpt") == 400 and x0_probe.step_of("last.ckpt") is None
    assert x0_probe.step_of("step=250-v1.ckpt") == 250 and x0_probe.step_of("last-v1.ckpt") is None
    assert x0_probe.in_step_order(names) == ["step=400.ckpt", "step=800.ckpt", "step=1200.ckpt", "last.ckpt"]
