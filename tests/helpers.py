"""Builders shared by the test files: tiny UNets, the tiny two-expert model the CLI tests restore with, and
band-energy measures of restored audio.

Checkpoints in the released layout are written by models.unet_weights.save_released_layout (benchmarks use it too).
"""
import os

import numpy as np
import torch
import yaml

from audiokit.constants import SAMPLE_RATE
from models.unet import UNet
from models.unet_weights import save_released_layout

# The smallest UNet the engine runs at full height: 3 levels, no attention.
TINY_NETWORK = {"hidden_channels": [32, 32, 32, 64], "attention_levels": [], "num_res_blocks": 1, "num_heads": 1,
                "dropout": 0.0}
# 3 levels with attention at level 2 (128 channels, 2 heads of 64) and in the middle.
TINY_ATTENTION_NETWORK = dict(hidden_channels=[32, 64, 128, 128], attention_levels=[2], num_heads=2)


def seeded_unet(seed=0, network=TINY_NETWORK, std=None):
    """A UNet built right after torch.manual_seed(seed). With `std`, every parameter (the zero-initialised convs
    too) is redrawn from N(0, std^2), so that experts differ and depend on t, and a wrong or partial load changes
    the output."""
    torch.manual_seed(seed)
    net = UNet(**network)
    if std is not None:
        with torch.no_grad():
            for parameter in net.parameters():
                parameter.normal_(0, std)
    return net


def tiny_model(folder):
    """Writes two freshly initialised experts (released layout) and a sampling config in the format of
    configs/ensemble_*_sampling.yaml; returns (config, [ckpt, ckpt])."""
    checkpoints = []
    for i in range(2):
        path = os.path.join(folder, f"expert{i}.ckpt")
        save_released_layout(seeded_unet(i), path)
        checkpoints.append(path)
    # windows of 64 frames without overlap keep each call to a few UNet windows on the CPU
    config = {"network": TINY_NETWORK, "t_cutoffs": [0.5], "window_frames": 64, "hop_frames": 64,
              "window_batch": 4}
    config_path = os.path.join(folder, "tiny_sampling.yaml")
    with open(config_path, "w") as f:
        yaml.safe_dump(config, f)
    return config_path, checkpoints


def brick_wall(audio, freq):
    """Ideal low-pass along the last axis (what an MP3 encoder's sharp low-pass approaches)."""
    spectrum = np.fft.rfft(audio, axis=-1)
    spectrum[..., np.fft.rfftfreq(audio.shape[-1], 1 / SAMPLE_RATE) > freq] = 0
    return np.fft.irfft(spectrum, audio.shape[-1], axis=-1)


def band_energy(audio, low_hz, high_hz):
    """Energy of mono audio between two frequencies (FFT of the whole Hann-windowed signal, so the
    abrupt start and end of the file do not leak into every band)."""
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)))) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)
    return spectrum[(freqs >= low_hz) & (freqs < high_hz)].sum()


def kept_band_error(restored, reference, below_hz):
    """Relative energy of the difference below `below_hz`: 0 when the kept band is untouched."""
    return band_energy(restored - reference, 0, below_hz) / band_energy(reference, 0, below_hz)


# ---- training ----------------------------------------------------------------------------------------------
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The UNet of the training tests: 4 levels, so 16-frame segments fit.
TRAINING_NETWORK = {"hidden_channels": [32, 32, 64, 64, 64], "attention_levels": [], "num_res_blocks": 1,
                    "num_heads": 1, "dropout": 0.0}


def tiny_config(tmp_path, manifest, **trainer):
    """configs/tiny_cpu.yaml shrunk further, with every output redirected into tmp_path."""
    with open(os.path.join(ROOT, "configs", "tiny_cpu.yaml")) as f:
        config = yaml.safe_load(f)
    out = str(tmp_path / "run")
    # A step count, not the demo's wall-clock budget, ends the tests' runs.
    config["trainer"].update({"max_steps": 24, "max_time": None, "val_check_interval": 12,
                              "enable_progress_bar": False}, **trainer)
    config["trainer"]["logger"]["init_args"]["save_dir"] = out
    config["trainer"]["callbacks"][0]["init_args"].update(dirpath=os.path.join(out, "ckpt"), every_n_train_steps=12)
    config["trainer"]["callbacks"][2]["init_args"]["output_dir"] = os.path.join(out, "predictions")
    config["model"]["vf_model"]["init_args"] = dict(TRAINING_NETWORK)
    config["model"].update(val_sampling_steps=3, val_restore_items=1)
    config["data"].update(batch_size=2, segment_samples=16 * 512 - 512, samples_per_epoch=48,
                          mix_dataset_config={"demo": {"filename": manifest}})
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path), out


def write_corrupt(path):
    with open(path, "w") as f:
        f.write("not audio at all\n")
    return path


def write_manifest(path, rows):
    with open(path, "w") as f:
        f.write("".join(",".join(str(x) for x in row) + "\n" for row in rows))
    return str(path)


def randomize_(module, seed=0):
    """Give every parameter nonzero random values (the zero-initialised convs would hide bugs)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    return module


# ---- command-line tools -----------------------------------------------------------------------------------
def run_tool(main, argv, capsys):
    """Runs a command-line entry point main(argv) in this process: (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code, err, *words):
    """A failed run that printed exactly one line, "error: ...", holding every word; err: stderr or its lines."""
    err = err.strip().splitlines() if isinstance(err, str) else err
    assert code != 0
    assert len(err) == 1, err
    assert err[0].startswith("error: ") and "Traceback" not in err[0]
    for word in words:
        assert word in err[0], err[0]
