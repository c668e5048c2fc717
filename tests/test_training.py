"""Training through main.py and the Lightning module: checkpoints, learning, T-finetuning, recipe configs."""
import csv
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from datasets.synthetic import write_demo_dataset
from helpers import TRAINING_NETWORK, tiny_config
from models.a2sb_module import A2SBModule
from models.unet import UNet
from models.unet_weights import CheckpointError, load_into, load_unet_weights

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def run_main(*args, timeout=300):
    env = dict(os.environ, OMP_NUM_THREADS="2", PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_fit_writes_checkpoints_pictures_and_resumes(tmp_path):
    manifest = write_demo_dataset(str(tmp_path / "data"), n_train=4, n_val=1, n_test=1, seconds=2.0)
    config, out = tiny_config(tmp_path, manifest)
    result = run_main("fit", "--config", config)
    assert result.returncode == 0, result.stderr[-3000:]
    ckpts = sorted(os.listdir(os.path.join(out, "ckpt")))
    assert ckpts == ["last.ckpt", "step=12.ckpt", "step=24.ckpt"]
    pictures = os.listdir(os.path.join(out, "tiny", "validation_pictures", "step=24"))
    assert {"demo_bandwidth_0.png", "demo_inpainting_0.png", "demo_bandwidth_0_restored.wav"} <= set(pictures)

    # The checkpoint has the released layout: the UNet under vf_model. plus the time-embedding buffer.
    state = torch.load(os.path.join(out, "ckpt", "last.ckpt"), weights_only=True)["state_dict"]
    assert {k for k in state if not k.startswith("vf_model.")} == {"t_to_emb.multipliers"}
    unet = UNet(**TRAINING_NETWORK)
    load_into(unet, load_unet_weights(os.path.join(out, "ckpt", "step=24.ckpt")), "step=24.ckpt")

    # Resuming continues from step 24 instead of starting over; a run that stops between two periodic saves
    # (here at 40, saves every 12) still leaves its last step in last.ckpt.
    result = run_main("fit", "--config", config, "--trainer.max_steps", "40",
                      "--ckpt_path", os.path.join(out, "ckpt", "last.ckpt"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "step=36.ckpt" in os.listdir(os.path.join(out, "ckpt"))
    assert torch.load(os.path.join(out, "ckpt", "last.ckpt"), weights_only=True)["global_step"] == 40

    # test scores sampled restorations of the test split.
    result = run_main("test", "--config", config, "--model.test_sampling_steps", "2",
                      "--ckpt_path", os.path.join(out, "ckpt", "last.ckpt"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test/demo/bandwidth/lsd" in result.stdout and "test/demo/inpainting/ssim" in result.stdout

    # predict restores the test split and writes one WAV per file, as long as the file.
    result = run_main("predict", "--config", config, "--model.test_sampling_steps", "2",
                      "--ckpt_path", os.path.join(out, "ckpt", "last.ckpt"))
    assert result.returncode == 0, result.stderr[-3000:]
    audio, rate = sf.read(os.path.join(out, "predictions", "demo", "00000_test_005.wav"))
    assert rate == 44100 and audio.shape == (2 * 44100,) and np.isfinite(audio).all()


@pytest.mark.slow
def test_overfitting_one_batch_lowers_the_loss(music):
    torch.manual_seed(0)
    module = A2SBModule(UNet(**TRAINING_NETWORK), lr=1e-2)
    audio = torch.from_numpy(music(1.0, seed=3))[: 31 * 512].reshape(1, -1).repeat(2, 1)
    batch = {"audio": audio, "max_bin": torch.tensor([1024, 1024])}
    optimizer = module.configure_optimizers()
    losses = []
    for _ in range(50):
        torch.manual_seed(1)  # the same masks, times and noise every step: one fixed batch
        loss = module.training_step(batch, 0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.65 * losses[0], losses


def test_loss_matches_hand_written_masked_mse(music):
    """bridge_loss = sum(mask (net - target)^2) / sum(mask), with the true-band rows excluded."""
    torch.manual_seed(0)
    module = A2SBModule(UNet(**TRAINING_NETWORK))
    x0 = module.representation.encode(torch.from_numpy(music(0.5))[: 31 * 512])[None]
    mask = torch.zeros(1, 1, 1024, 32)
    mask[..., 500:, :] = 1.0
    t = torch.tensor([0.3])
    generator = torch.Generator().manual_seed(5)
    loss = module.bridge_loss(x0, mask, torch.tensor([800]), t, generator)

    generator = torch.Generator().manual_seed(5)
    noise_degrade = torch.randn(x0.shape, generator=generator)
    noise_marginal = torch.randn(x0.shape, generator=generator)
    x1 = x0 * (1 - mask) + mask * 0.5 * noise_degrade
    s1, s2 = (0.3 ** 3 / 3) ** 0.5, (1 / 12 - 0.3 ** 3 / 3) ** 0.5  # sigma_fwd(0.3), sigma_rev(0.3) at t <= 0.5
    a, b = s2 ** 2 / (s1 ** 2 + s2 ** 2), s1 ** 2 / (s1 ** 2 + s2 ** 2)
    x_t = a * x0 + b * x1 + (s1 ** 2 * s2 ** 2 / (s1 ** 2 + s2 ** 2)) ** 0.5 * noise_marginal
    target = (x_t - x0) / s1
    with torch.no_grad():
        pred = module.denoiser.network_output(x_t, t)
    region = torch.zeros_like(x0)
    region[:, :, 500:800, :] = 1.0
    expected = (region * (pred - target) ** 2).sum() / region.sum()
    assert torch.allclose(loss, expected, rtol=1e-4)


def test_t_finetuning_starts_from_checkpoint_weights(tmp_path):
    torch.manual_seed(0)
    source = A2SBModule(UNet(**TRAINING_NETWORK))
    path = tmp_path / "pretrained.ckpt"
    torch.save({"state_dict": source.state_dict(), "global_step": 1000}, path)
    torch.manual_seed(1)
    expert = A2SBModule(UNet(**TRAINING_NETWORK), train_t_min=0.5, train_t_max=1.0, init_weights_from=str(path))
    assert not torch.equal(expert.vf_model.input_projection.weight, source.vf_model.input_projection.weight)
    expert.setup("fit")
    for key, value in source.vf_model.state_dict().items():
        assert torch.equal(expert.vf_model.state_dict()[key], value), key

    missing = A2SBModule(UNet(**TRAINING_NETWORK), init_weights_from=str(tmp_path / "nope.ckpt"))
    with pytest.raises(FileNotFoundError, match="model.init_weights_from: checkpoint not found"):
        missing.setup("fit")


def test_init_weights_from_extends_a_network_trained_without_frequency_attention(tmp_path):
    torch.manual_seed(0)
    source = A2SBModule(UNet(**TRAINING_NETWORK))
    path = tmp_path / "plain.ckpt"
    torch.save({"state_dict": source.state_dict(), "global_step": 1000}, path)
    extended = A2SBModule(UNet(**TRAINING_NETWORK, freq_attention_levels=[2]), init_weights_from=str(path))
    extended.setup("fit")
    x, t = torch.randn(1, 3, 64, 16), torch.full((1,), 0.7)
    with torch.no_grad():  # the new blocks start as the identity: the same network as the checkpoint's
        assert torch.equal(extended.denoiser.network_output(x, t), source.denoiser.network_output(x, t))
    # only the new blocks' keys may be missing: a checkpoint of another network still fails in one line
    other = A2SBModule(UNet(**dict(TRAINING_NETWORK, hidden_channels=[32, 32, 64, 64, 128]), freq_attention_levels=[2]),
                       init_weights_from=str(path))
    with pytest.raises(CheckpointError, match="weights do not fit UNet"):
        other.setup("fit")


def test_a_batch_whose_files_all_failed_to_decode_is_skipped():
    """The data module leaves out files that fail to decode, so a batch can be empty: every step skips it
    (validation and test used to fail inside the STFT)."""
    module = A2SBModule(UNet(**TRAINING_NETWORK))
    empty = {"audio": torch.zeros(0, 15 * 512), "max_bin": torch.zeros(0, dtype=torch.long),
             "index": torch.zeros(0, dtype=torch.long)}
    assert module.training_step(empty, 0) is None
    assert module.validation_step(empty, 0) is None
    assert module.test_step(empty, 0) is None


def test_training_times_stay_in_the_configured_range():
    module = A2SBModule(UNet(**TRAINING_NETWORK), train_t_min=0.5, train_t_max=1.0)
    seen = []
    module.bridge_loss = lambda x0, mask, max_bin, t, generator=None: seen.append(t) or torch.zeros(())
    batch = {"audio": torch.zeros(64, 15 * 512), "max_bin": torch.full((64,), 1024)}
    module.training_step(batch, 0)
    assert seen[0].min() >= 0.5 and seen[0].max() < 1.0 and seen[0].std() > 0.1


@pytest.mark.slow
def test_released_recipe_configs_print():
    result = run_main("fit", "--config", "configs/pretrain.yaml", "--print_config")
    assert result.returncode == 0, result.stderr[-2000:]
    config = yaml.safe_load(result.stdout)
    trainer, model = config["trainer"], config["model"]
    assert (trainer["num_nodes"], trainer["devices"], trainer["precision"]) == (4, 8, "bf16-mixed")
    assert (trainer["gradient_clip_val"], trainer["gradient_clip_algorithm"]) == (0.5, "norm")
    assert trainer["val_check_interval"] == 1000
    assert (model["lr"], model["weight_decay"], model["train_t_min"], model["train_t_max"]) == (8e-5, 1e-8, 0.0, 1.0)
    assert model["vf_model"]["init_args"]["hidden_channels"] == [128, 256, 512, 768, 1024, 2048]
    assert config["data"]["batch_size"] == 10
    for name, (lo, hi) in {"t_finetune_2split_0.0_0.5": (0.0, 0.5), "t_finetune_2split_0.5_1.0": (0.5, 1.0)}.items():
        with open(os.path.join(ROOT, "configs", name + ".yaml")) as f:
            finetune = yaml.safe_load(f)
        assert (finetune["model"]["train_t_min"], finetune["model"]["train_t_max"]) == (lo, hi)
        assert finetune["model"]["init_weights_from"]


@pytest.mark.slow
def test_missing_manifest_names_the_key(tmp_path):
    result = run_main("fit", "--config", "configs/tiny_cpu.yaml", "--data.mix_dataset_config",
                      '{"demo": {"filename": "%s"}}' % (tmp_path / "absent.csv"), "--trainer.max_steps", "1")
    assert result.returncode == 1
    assert "data.mix_dataset_config.demo.filename: manifest not found" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_validation_reports_each_data_set_and_their_mean(tmp_path):
    """Two mixed data sets: one validation loader each, per-set losses and scores, val_loss their mean."""
    manifests = {name: write_demo_dataset(str(tmp_path / "data"), name=name, n_train=2, n_val=1, n_test=1,
                                          seconds=1.5, seed=seed) for seed, name in enumerate(("a", "b"))}
    config, out = tiny_config(tmp_path, manifests["a"], max_steps=2, val_check_interval=2)
    with open(config) as f:
        settings = yaml.safe_load(f)
    settings["data"]["mix_dataset_config"] = {name: {"filename": path} for name, path in manifests.items()}
    settings["trainer"]["logger"] = {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": out}}
    with open(config, "w") as f:
        yaml.safe_dump(settings, f)
    result = run_main("fit", "--config", config)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(os.path.join(out, "lightning_logs", "version_0", "metrics.csv")) as f:
        rows = [row for row in csv.DictReader(f) if row.get("val_loss")]
    row = rows[-1]
    for name in ("a", "b"):
        assert float(row[f"val/{name}/bandwidth/lsd"]) > 0
        assert np.mean([float(row[f"val/{name}/loss_t{t:g}"]) for t in (0.01, 0.25, 0.5, 0.75, 0.99)]) == \
            pytest.approx(float(row[f"val/{name}/loss"]), rel=1e-5)
    assert float(row["val_loss"]) == pytest.approx((float(row["val/a/loss"]) + float(row["val/b/loss"])) / 2, rel=1e-5)


@pytest.mark.slow
def test_compiled_network_matches_eager_and_keeps_checkpoint_keys():
    torch.manual_seed(0)
    module = A2SBModule(UNet(**TRAINING_NETWORK), compile=True)
    keys = set(module.state_dict())
    module.setup("fit")
    x, t = torch.randn(1, 3, 1024, 16), torch.tensor([0.3])
    with torch.no_grad():
        compiled = module.denoiser.network_output(x, t)
        # Inside a compiled graph the plain convolution kernels run, so the eager reference uses them too.
        eager = module.vf_model.set_winograd(False)(x, module.t_to_emb(t))
    assert torch.allclose(compiled, eager, atol=1e-5)
    assert set(module.state_dict()) == keys
