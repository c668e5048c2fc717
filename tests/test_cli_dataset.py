"""The dataset tools (A2SB_upsample_dataset.py, A2SB_inpaint_dataset.py) and evaluate.py on their output."""
import csv
import json
import os

import numpy as np
import pytest
import soundfile as sf

from datasets.synthetic import write_demo_dataset
from helpers import band_energy, kept_band_error
from corrupt.waveform import periodic_gaps
from inference import A2SB_inpaint_dataset, A2SB_upsample_dataset, evaluate
from inference.cli_common import item_folder_name

SR = 44100
REACH = 4096  # samples around a gap that inpainting may change (see test_cli_inpaint)


@pytest.fixture
def manifest_dir(tmp_path):
    """Manifest `demo_manifest.csv` with test rows test_000, test_001 (2 s music) and a silent file last."""
    root = tmp_path / "data"
    manifest = write_demo_dataset(str(root), n_train=0, n_val=0, n_test=2, seconds=2.0)
    sf.write(root / "demo" / "silent.wav", np.zeros(SR, np.float32), SR, subtype="PCM_16")
    with open(manifest, "a") as f:
        f.write("test,demo/silent.wav,1.0\n")
    return root


def model_args(model):
    config, checkpoints = model
    return ["--config", config, "--ckpt", checkpoints[0], "--ckpt", checkpoints[1], "-n", 2, "--quiet"]


def run(tool, argv, capsys):
    code = tool.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read(path):
    return sf.read(path, dtype="float32", always_2d=True)[0].T


def test_upsample_dataset_slices_skips_reports_and_evaluates(tmp_path, manifest_dir, model, capsys):
    out_root = tmp_path / "out"
    common = ["-dn", "demo", "-exp", "exp1", "-cf", 4000, "--manifest-dir", manifest_dir, "--out-root", out_root,
              *model_args(model)]
    task_dir = out_root / "exp1" / "demo" / "cutoff_freq=4000"
    folder = {i: task_dir / item_folder_name(f"demo/test_00{i}.wav") for i in range(2)}

    code, printed, err = run(A2SB_upsample_dataset, [*common, "--start", 1, "--end", 2], capsys)
    assert code == 0, err
    assert os.listdir(task_dir) == [folder[1].name]
    source = read(manifest_dir / "demo" / "test_001.wav")
    original, degraded, recon = (read(folder[1] / name) for name in ("original.wav", "degraded.wav", "recon.wav"))
    assert np.array_equal(original, source)
    assert band_energy(degraded[0], 4100, 22050) < 1e-9 * band_energy(source[0], 4100, 22050)
    assert kept_band_error(degraded[0], source[0], 3500) < 1e-3  # the band limit keeps the low band
    assert recon.shape == source.shape and sf.info(folder[1] / "recon.wav").samplerate == SR
    assert kept_band_error(recon[0], degraded[0], 3500) < 1e-3
    done_before = (folder[1] / "recon.wav").stat().st_mtime_ns

    # the whole test split: 1 is skipped, 0 is restored, the silent file fails without stopping the run
    code, printed, err = run(A2SB_upsample_dataset, common, capsys)
    assert code == 1
    assert "3 test files, 1 already done" in printed
    assert "restored 1, skipped 1, failed 1" in printed
    assert "silent.wav" in err and "silent" in err.split("silent.wav", 1)[1] and "Traceback" not in err
    assert (folder[0] / "recon.wav").exists()
    assert (folder[1] / "recon.wav").stat().st_mtime_ns == done_before
    assert not (task_dir / item_folder_name("demo/silent.wav") / "recon.wav").exists()

    assert evaluate.main([str(out_root / "exp1"), "--quiet"]) == 0
    with open(out_root / "exp1" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["file"] for r in rows) == sorted(p.name for p in folder.values())
    for row in rows:  # the kept band against a random network's guess above the cutoff
        assert float(row["lsd_low"]) < 0.5 * float(row["lsd_high"])


def test_inpaint_dataset_zeroes_periodic_gaps_and_keeps_the_rest(tmp_path, manifest_dir, model, capsys):
    out_root = tmp_path / "out"
    code, printed, err = run(A2SB_inpaint_dataset, ["-dn", "demo", "-exp", "exp2", "-inp_len", 0.3, "-inp_every", 1.0,
                                                    "--manifest-dir", manifest_dir, "--out-root", out_root, "--end", 1,
                                                    *model_args(model)], capsys)
    assert code == 0, err
    task_dir = out_root / "exp2" / "demo" / "inpaint_0.3_every_1"
    assert os.listdir(task_dir) == [item_folder_name("demo/test_000.wav")]
    item = task_dir / item_folder_name("demo/test_000.wav")
    original, degraded, recon = (read(item / name)[0] for name in ("original.wav", "degraded.wav", "recon.wav"))
    gaps = [(round(s * SR), round(e * SR)) for s, e in periodic_gaps(2.0, 0.3, 1.0)]
    assert gaps == [(15435, 28665), (59535, 72765)]  # 0.35-0.65 s and 1.35-1.65 s
    in_gap = np.zeros(len(original), dtype=bool)
    near_gap = np.zeros(len(original), dtype=bool)
    for start, end in gaps:
        in_gap[start:end] = True
        near_gap[start - REACH:end + REACH] = True
    assert np.all(degraded[in_gap] == 0) and np.array_equal(degraded[~in_gap], original[~in_gap])
    assert np.abs(recon[~near_gap] - original[~near_gap]).max() < 1e-4
    assert np.abs(recon[in_gap]).mean() > 1e-3


def test_bad_slice_and_missing_manifest_are_one_line_errors(tmp_path, manifest_dir, capsys):
    base = ["-dn", "demo", "-exp", "e", "-cf", 4000, "--out-root", tmp_path / "out"]
    code, _, err = run(A2SB_upsample_dataset, [*base, "--manifest-dir", manifest_dir, "--start", 3, "--end", 1], capsys)
    assert code == 1 and err.strip().splitlines() == ["error: --start 3 / --end 1: need 0 <= start <= end"]
    code, _, err = run(A2SB_upsample_dataset, [*base, "--manifest-dir", tmp_path / "nowhere"], capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "manifest not found" in err
    assert not (tmp_path / "out").exists()


def test_item_folder_names_cannot_collide():
    names = ["a/b_c.wav", "a_b/c.wav", "a/b/c.wav", "a%2Fb/c.wav", "a b.wav", "a_b.wav", "../a_b.wav",
             "../../data/x.wav", "data/x.wav", "/abs/x.wav"]
    folders = [item_folder_name(n) for n in names]
    assert len(set(folders)) == len(names)
    assert all("/" not in f and not f.startswith(".") and "%" not in f for f in folders)
    assert item_folder_name("demo/test_000.wav").startswith("demo__test_000.wav__")
    assert item_folder_name("../../data/x.wav").startswith("data__x.wav__")


@pytest.mark.slow
def test_two_processes_share_a_test_set_without_overlap(tmp_path, model):
    """--shard 0/2 and 1/2 run at the same time: every test file restored once, each process doing half."""
    import subprocess
    import sys

    root = tmp_path / "data"
    write_demo_dataset(str(root), n_train=0, n_val=0, n_test=4, seconds=1.0)
    out_root = tmp_path / "out"
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "inference",
                          "A2SB_upsample_dataset.py")
    argv = [sys.executable, script, "-dn", "demo", "-exp", "e", "-cf", "4000", "--manifest-dir", str(root),
            "--out-root", str(out_root), *[str(a) for a in model_args(model)]]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    workers = [subprocess.Popen([*argv, "--shard", f"{i}/2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env) for i in range(2)]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    for out, _ in outputs:
        assert "restored 2, skipped 0, failed 0" in out
    task_dir = out_root / "e" / "demo" / "cutoff_freq=4000"
    expected = {item_folder_name(f"demo/test_{i:03d}.wav") for i in range(4)}
    assert set(os.listdir(task_dir)) == expected
    assert all((task_dir / name / "recon.wav").exists() for name in expected)


def test_files_outside_the_manifest_folder_get_readable_folders(tmp_path, model, capsys):
    root = tmp_path / "sets" / "demo"
    write_demo_dataset(str(tmp_path / "audio"), n_train=0, n_val=0, n_test=1, seconds=1.0)
    root.mkdir(parents=True)
    outside = tmp_path / "audio" / "demo" / "test_000.wav"
    (root / "demo_manifest.csv").write_text(f"test,{outside},1.0\ntest,../../audio/demo/test_000.wav,1.0\n"
                                            f"test,{outside},1.0\n")
    out_root = tmp_path / "out"
    code, printed, err = run(A2SB_upsample_dataset, ["-dn", "demo", "-exp", "e", "-cf", 4000, "--manifest-dir", root,
                                                     "--out-root", out_root, *model_args(model)], capsys)
    assert code == 0, err
    # the same file three times (absolute, ../, repeated): restored once, in a visible folder named after it
    (folder,) = os.listdir(out_root / "e" / "demo" / "cutoff_freq=4000")
    assert folder.startswith("audio__demo__test_000.wav__")
    assert "2 test row(s) repeat a file" in printed and "restored 1, skipped 0, failed 0" in printed


def test_output_folder_is_checked_before_any_model_loads(tmp_path, manifest_dir, model, capsys, monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("the models were loaded before the output folder was checked")

    monkeypatch.setattr("inference.cli_common.Restorer.from_config", no_model)
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output root should be")
    code, _, err = run(A2SB_upsample_dataset, ["-dn", "demo", "-exp", "e", "-cf", 4000, "--manifest-dir",
                                               manifest_dir, "--out-root", blocker, *model_args(model)], capsys)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "cannot create the output folder" in lines[0], lines


def test_exp_name_of_a_config_and_paths_from_inside_inference(tmp_path, model, capsys, monkeypatch):
    """-exp NAME takes configs/NAME.yaml when it exists; run from <repo>/inference, the default manifests/ is
    found in the repository root and new outputs go under the current folder."""
    repo = tmp_path / "repo"
    (repo / "configs").mkdir(parents=True)
    (repo / "inference").mkdir()
    config, checkpoints = model
    (repo / "configs" / "tiny_sampling.yaml").write_text(open(config).read())
    write_demo_dataset(str(repo / "manifests"), n_train=0, n_val=0, n_test=1, seconds=1.0)
    monkeypatch.setattr("inference.cli_common.REPO_ROOT", str(repo))
    monkeypatch.chdir(repo / "inference")
    code, printed, err = run(A2SB_upsample_dataset, ["-dn", "demo", "-exp", "tiny_sampling", "-cf", 4000, "--ckpt",
                                                     ",".join(checkpoints), "-n", 2, "--quiet"], capsys)
    assert code == 0, err
    assert f"config: {repo / 'configs' / 'tiny_sampling.yaml'}" in printed
    assert len(os.listdir(repo / "inference" / "exp" / "tiny_sampling" / "demo" / "cutoff_freq=4000")) == 1


def test_outputs_of_runs_from_inside_inference_are_ignored_by_git():
    import subprocess

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.exists(os.path.join(repo, ".git")):
        pytest.skip("not a git checkout")
    for path in ("exp/a/recon.wav", "inference/exp/a/recon.wav"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=repo).returncode == 0, path


@pytest.mark.slow
def test_a_rerun_with_other_settings_is_refused_until_redo_changed(tmp_path, manifest_dir, model, capsys):
    """recon.wav.json records what made each recon.wav: a rerun with another -n is not told "already done"."""
    common = ["-dn", "demo", "-exp", "e", "-inp_len", 0.3, "-inp_every", 1.0, "--manifest-dir", manifest_dir,
              "--out-root", tmp_path / "out", "--end", 1, *model_args(model)]
    assert run(A2SB_inpaint_dataset, common, capsys)[0] == 0
    (folder,) = (tmp_path / "out" / "e" / "demo" / "inpaint_0.3_every_1").iterdir()
    assert json.loads((folder / "recon.wav.json").read_text())["settings"]["steps"] == 2
    code, _, err = run(A2SB_inpaint_dataset, [*common, "-n", 3], capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "1 recon.wav were made with other settings" in err and "steps 2 -> 3" in err and "--redo-changed" in err
    code, printed, err = run(A2SB_inpaint_dataset, [*common, "-n", 3, "--redo-changed"], capsys)
    assert code == 0 and "restored 1, skipped 0, failed 0" in printed, err
    assert json.loads((folder / "recon.wav.json").read_text())["settings"]["steps"] == 3
