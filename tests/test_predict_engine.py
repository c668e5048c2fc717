"""`main.py predict` restores as the engine does with the same settings, at the settings the user gave (not those a
checkpoint recorded), keeps the terminal to the run, says what it wrote where, and records what made each output."""
import json
import os
import subprocess
import sys

import lightning
import numpy as np
import pytest
import soundfile as sf
import torch
from helpers import ROOT, TRAINING_NETWORK, randomize_, tiny_config

from datasets.datamodule import A2SBDataModule
from datasets.synthetic import music_like
from inference import provenance
from inference.engine import Restorer
from main import A2SBCLI, main
from models.a2sb_module import A2SBModule
from models.trainer import Trainer
from models.unet import UNet

SR = 44100
RECORDED_STEPS = 7  # what the checkpoint's hyperparameters say; the runs below ask for others
RECORDED_CUTOFF_HZ = 5000.0  # in the checkpoint only: the config leaves val_cutoff_hz at its default


def write_checkpoint(path):
    """A Lightning checkpoint of a randomised network, as fit would save it, whose hyperparameters differ from
    the config's and the command line's."""
    module = A2SBModule(vf_model=randomize_(UNet(**TRAINING_NETWORK)), test_sampling_steps=RECORDED_STEPS,
                        val_cutoff_hz=RECORDED_CUTOFF_HZ)
    torch.save({"pytorch-lightning_version": lightning.__version__, "state_dict": module.state_dict(),
                "hyper_parameters": dict(module.hparams)}, path)
    return str(path)


@pytest.fixture
def predict_setup(tmp_path):
    """(config, checkpoint, test file, output folder of its data set) with one 1 s stereo test file."""
    data = tmp_path / "data"
    data.mkdir()
    song = data / "song.wav"
    sf.write(song, np.stack([music_like(1.0, seed=1), music_like(1.0, seed=2)]).T, SR, subtype="PCM_16")
    sf.write(data / "train.wav", music_like(1.0), SR, subtype="PCM_16")
    manifest = data / "m.csv"
    manifest.write_text("train,train.wav,1.0\nvalid,train.wav,1.0\ntest,song.wav,1.0\n")
    config, out = tiny_config(tmp_path, str(manifest))
    return config, write_checkpoint(tmp_path / "trained.ckpt"), str(song), os.path.join(out, "predictions", "demo")


class ParseOnly(A2SBCLI):
    def _run_subcommand(self, subcommand):
        pass


def parsed_module(config, checkpoint, *arguments):
    cli = ParseOnly(A2SBModule, A2SBDataModule, trainer_class=Trainer,
                    args=["predict", "--config", config, "--ckpt_path", checkpoint, *arguments])
    return cli.model


def test_the_command_line_and_the_config_win_over_the_checkpoint(predict_setup):
    config, checkpoint, _, _ = predict_setup
    assert parsed_module(config, checkpoint, "--model.test_sampling_steps", "3").hparams.test_sampling_steps == 3
    from_config = parsed_module(config, checkpoint).hparams
    assert from_config.test_sampling_steps == 10  # configs/tiny_cpu.yaml's
    assert from_config.val_cutoff_hz == RECORDED_CUTOFF_HZ  # not in the config: the checkpoint's


@pytest.mark.slow
def test_predict_restores_as_the_engine_and_records_what_made_it(predict_setup, capsys):
    config, checkpoint, song, folder = predict_setup
    command = [sys.executable, os.path.join(ROOT, "main.py"), "predict", "--config", config, "--ckpt_path",
               checkpoint, "--model.test_sampling_steps", "2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    terminal = done.stdout + done.stderr
    for noise in ("💡", "litlogger", "litmodels", "deprecated", "Deprecation", "FutureWarning"):
        assert noise not in terminal, terminal
    target = os.path.join(folder, "00000_song.wav")
    assert done.stderr.strip().splitlines()[-1] == \
        f"predict: wrote 1 restored file(s) (WAV, with .wav.json records) to {folder}"

    predicted, rate = sf.read(target, dtype="float32", always_2d=True)
    audio = sf.read(song, dtype="float32", always_2d=True)[0].T
    engine = Restorer.from_config(config, checkpoints=[checkpoint], device="cpu")
    expected = engine.bandwidth_extension(audio, RECORDED_CUTOFF_HZ, n_steps=2, seed=0, progress=False)
    np.testing.assert_allclose(predicted.T, expected, atol=1e-6)

    with open(provenance.sidecar_path(target)) as file:
        record = json.load(file)
    settings = record["settings"]
    assert settings["weights"] == [provenance.weights_record(checkpoint)]  # as the tools record the same file
    assert settings["steps"] == 2 and settings["seed"] == 0
    assert settings["task"] == {"task": "bandwidth_extension", "cutoff_hz": RECORDED_CUTOFF_HZ}
    assert settings["engine"]["window_frames"] == engine.window_frames == 16 and engine.hop_frames == 8
    assert settings["input_sha256"] == provenance.file_sha256(song)
    assert record["facts"]["checkpoints"] == [os.path.abspath(checkpoint)]

    # Other settings: refused before anything is sampled, naming what differs; redo_changed restores again.
    arguments = ["predict", "--config", config, "--ckpt_path", checkpoint, "--model.test_sampling_steps", "3"]
    assert main(arguments) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: ") and "steps 2 -> 3" in error and "redo_changed" in error
    assert main([*arguments, "--trainer.callbacks.redo_changed", "true"]) == 0
    with open(provenance.sidecar_path(target)) as file:
        assert json.load(file)["settings"]["steps"] == 3
