"""main.py as a new user meets it: the command shape of docs/training.md, undecodable data and bad --ckpt_path
give one line."""
import os

import pytest
import torch
from helpers import TRAINING_NETWORK, tiny_config, write_corrupt, write_manifest

from datasets.manifest import ManifestError, read_manifest
from datasets.synthetic import write_demo_dataset
from main import main
from models.unet import UNet

QUICK = ["--trainer.max_steps", "1", "--trainer.num_sanity_val_steps", "0", "--trainer.limit_val_batches", "0"]


def run(capsys, *args):
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err.strip().splitlines()


def assert_error_line(code, err, *words):
    assert code == 1
    assert "Traceback" not in "\n".join(err)
    (line,) = [line for line in err if line.startswith("error: ")]
    for word in words:
        assert word in line, line


def test_root_folder_alone_finds_the_named_manifest(tmp_path, capsys):
    # jsonargparse replaces the whole `demo` entry with {root_folder: ...}, as with docs/training.md's command
    data = tmp_path / "music"
    write_demo_dataset(str(data), name="demo", n_train=2, n_val=1, n_test=1, seconds=1.0)
    config, out = tiny_config(tmp_path, str(tmp_path / "elsewhere.csv"))
    code, err = run(capsys, "fit", "--config", config, "--data.mix_dataset_config.demo.root_folder", data, *QUICK)
    assert code == 0, err[-20:]
    assert "last.ckpt" in os.listdir(os.path.join(out, "ckpt"))


def test_undecodable_training_files_name_the_manifest_and_line(tmp_path, capsys):
    paths = [write_corrupt(str(tmp_path / f"bad{i}.wav")) for i in range(2)]
    manifest = write_manifest(tmp_path / "bad_manifest.csv", [("train", p, 1.0) for p in paths]
                              + [("valid", paths[0], 1.0)])
    config, _ = tiny_config(tmp_path, manifest)
    code, err = run(capsys, "fit", "--config", config, *QUICK)
    assert_error_line(code, err, "failed to decode", f"{manifest} line ")
    first = [line for line in err if line.startswith("error: ")][0].split("first: ")[1]
    line_number = int(first.split(" line ")[1].split(":")[0])
    assert first.startswith(f"{manifest} line {line_number}: {paths[line_number - 1]}")


@pytest.fixture
def trained(tmp_path):
    """A tiny checkpoint in this project's layout and the config that made it."""
    manifest = write_demo_dataset(str(tmp_path / "data"), n_train=2, n_val=1, n_test=1, seconds=1.0)
    config, out = tiny_config(tmp_path, manifest)
    assert main(["fit", "--config", config, *QUICK]) == 0
    return config, os.path.join(out, "ckpt", "last.ckpt")


@pytest.mark.slow
def test_bad_ckpt_path_is_one_line(tmp_path, capsys, trained):
    config, good = trained
    capsys.readouterr()
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(open(good, "rb").read()[:5000])
    text = tmp_path / "notes.ckpt"
    text.write_text("these are not weights\n")
    torch.manual_seed(0)
    wider = {f"vf_model.{k}": v for k, v in UNet(**{**TRAINING_NETWORK, "hidden_channels": [32, 64, 64, 64, 64]})
             .state_dict().items()}
    weights_only = tmp_path / "weights_only.ckpt"
    torch.save({"state_dict": wider}, weights_only)
    other = tmp_path / "other.ckpt"
    checkpoint = torch.load(good, weights_only=True)
    checkpoint["state_dict"] = {**wider, "t_to_emb.multipliers": checkpoint["state_dict"]["t_to_emb.multipliers"]}
    torch.save(checkpoint, other)
    for path, words in ((truncated, ["truncated or corrupt"]), (text, ["not a PyTorch checkpoint"]),
                        (weights_only, ["not a Lightning training checkpoint", "--model.init_weights_from"]),
                        (other, ["do not fit", "shape mismatches"])):
        code, err = run(capsys, "fit", "--config", config, "--ckpt_path", path, *QUICK)
        assert_error_line(code, err, str(path), *words)


def test_utf16_manifest_names_the_file(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("train,a.wav,1.0\n", encoding="utf-16")
    with pytest.raises(ManifestError, match=f"{path}: the manifest is UTF-16 text; save it as UTF-8"):
        read_manifest(str(path))
