"""Two-process DDP runs on the CPU (gloo: fit, test, predict) through main.py and the tiny config, as a user would."""
import csv
import json
import os
import subprocess
import sys
import textwrap

import pytest
import soundfile as sf
import torch

from datasets.synthetic import write_demo_dataset
from helpers import write_corrupt

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_STEPS = 4

# Each rank writes what it trained on and a fingerprint of its weights; imported by the training processes.
RANK_REPORT_MODULE = textwrap.dedent('''
    import json
    import os

    import lightning as L


    def weights_sum(module):
        return sum(float(v.double().sum()) for v in module.vf_model.state_dict().values() if v.is_floating_point())


    class RankReport(L.Callback):
        def __init__(self, dirpath: str):
            self.dirpath = dirpath
            self.batch_sums = []
            self.batch_sizes = []
            self.val_losses = []

        def on_train_start(self, trainer, pl_module):
            self.initial = weights_sum(pl_module)

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            self.batch_sums.append(float(batch["audio"].double().sum()))
            self.batch_sizes.append(batch["audio"].shape[0])

        def on_validation_end(self, trainer, pl_module):
            if not trainer.sanity_checking:
                self.val_losses.append(float(trainer.callback_metrics["val_loss"]))

        def on_train_end(self, trainer, pl_module):
            report = {"world_size": trainer.world_size, "pid": os.getpid(), "global_step": trainer.global_step,
                      "batch_sums": self.batch_sums, "batch_sizes": self.batch_sizes, "val_losses": self.val_losses,
                      "initial": self.initial, "final": weights_sum(pl_module)}
            with open(os.path.join(self.dirpath, f"rank{trainer.global_rank}.json"), "w") as f:
                json.dump(report, f)
''')

TEST_CONFIG = textwrap.dedent('''
    trainer:
      strategy:
        class_path: lightning.pytorch.strategies.DDPStrategy
        init_args:
          process_group_backend: gloo
      max_steps: {max_steps}
      max_time: null
      limit_val_batches: 0
      num_sanity_val_steps: 0
      enable_progress_bar: false
      log_every_n_steps: 1
      default_root_dir: {root}
      logger:
        class_path: lightning.pytorch.loggers.CSVLogger
        init_args:
          save_dir: {root}/logs
          name: ddp
          version: ""
      callbacks:
        - class_path: lightning.pytorch.callbacks.ModelCheckpoint
          init_args:
            dirpath: {root}/checkpoints
            filename: "{{step}}"
            every_n_train_steps: {max_steps}
            save_top_k: -1
            save_last: true
        - class_path: rank_report.RankReport
          init_args:
            dirpath: {root}/ranks
''')


def _training_env(extra_path):
    env = {key: value for key, value in os.environ.items()
           if key not in {"RANK", "LOCAL_RANK", "WORLD_SIZE", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT"}}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [extra_path, REPO, env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = "1"  # two ranks share the machine's cores
    return env


def _run(tmp_path, subcommand, manifest, *options, devices=2):
    """Runs a main.py subcommand on `devices` CPU ranks; returns the finished process."""
    (tmp_path / "rank_report.py").write_text(RANK_REPORT_MODULE)
    (tmp_path / "ranks").mkdir(exist_ok=True)
    config = tmp_path / "ddp_test.yaml"
    config.write_text(TEST_CONFIG.format(max_steps=MAX_STEPS, root=tmp_path))
    command = [sys.executable, "main.py", subcommand, "--config", "configs/tiny_cpu.yaml", "--config", str(config),
               "--trainer.accelerator", "cpu", "--trainer.devices", str(devices),
               "--data.mix_dataset_config", json.dumps({"demo": {"filename": manifest}}), *options]
    try:
        result = subprocess.run(command, cwd=REPO, env=_training_env(str(tmp_path)), capture_output=True,
                                text=True, timeout=180)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"DDP {subcommand} did not finish in {error.timeout} s:\n{error.stderr}")
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _fit_on_two_ranks(tmp_path, manifest, *options):
    """Runs main.py fit on two CPU ranks; returns each rank's report."""
    _run(tmp_path, "fit", manifest, *options)
    reports = {name: json.loads((tmp_path / "ranks" / name).read_text())
               for name in sorted(os.listdir(tmp_path / "ranks"))}
    assert sorted(reports) == ["rank0.json", "rank1.json"]
    return reports["rank0.json"], reports["rank1.json"]


def _logged(tmp_path):
    """The rows of the CSV logger's metrics file."""
    with open(tmp_path / "logs" / "ddp" / "metrics.csv") as f:
        return list(csv.DictReader(f))


def _add_undecodable(manifest, split, tmp_path):
    """Appends an undecodable file to the manifest's `split`."""
    bad = write_corrupt(str(tmp_path / "data" / "demo" / f"bad_{split}.wav"))
    with open(manifest, "a") as f:
        f.write(f"{split},{os.path.relpath(bad, tmp_path / 'data')},2.0\n")


@pytest.mark.slow
def test_two_rank_ddp_fit_on_cpu(tmp_path):
    manifest = write_demo_dataset(str(tmp_path / "data"), n_train=4, n_val=1, n_test=0, seconds=2.0)
    rank0, rank1 = _fit_on_two_ranks(tmp_path, manifest, "--data.batch_size", "2")
    assert rank0["pid"] != rank1["pid"]
    for report in (rank0, rank1):
        assert report["world_size"] == 2
        assert report["global_step"] == MAX_STEPS
        assert len(report["batch_sums"]) == MAX_STEPS
        assert report["final"] != report["initial"]  # the weights moved
    # The distributed sampler gave the ranks different segments, yet the all-reduced gradients kept their
    # weights identical: both ranks trained one model.
    assert all(a != b for a, b in zip(rank0["batch_sums"], rank1["batch_sums"]))
    assert rank0["final"] == rank1["final"]

    # Rank 0 alone wrote the checkpoint and the logs, and the checkpoint holds the trained weights.
    checkpoints = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*.ckpt"))
    assert checkpoints == [os.path.join("checkpoints", name) for name in ("last.ckpt", f"step={MAX_STEPS}.ckpt")]
    logs = tmp_path / "logs"
    logged = sorted(str(path.relative_to(logs)) for path in logs.rglob("*") if path.is_file())
    assert logged == [os.path.join("ddp", name) for name in ("config.yaml", "hparams.yaml", "metrics.csv")]
    state = torch.load(tmp_path / "checkpoints" / f"step={MAX_STEPS}.ckpt", map_location="cpu", weights_only=True)
    assert state["global_step"] == MAX_STEPS
    saved_sum = sum(float(v.double().sum()) for k, v in state["state_dict"].items()
                    if k.startswith("vf_model.") and v.is_floating_point())
    assert saved_sum == pytest.approx(rank0["final"], rel=1e-12)


@pytest.mark.slow
def test_a_batch_that_failed_to_decode_on_one_rank_does_not_stop_training(tmp_path):
    """Batches of one drawn from a good file and an undecodable one: some steps find an empty batch on one rank
    only. Lightning refuses a step skipped on one rank of several, so that rank adds zero gradients instead: the
    run goes on to the end, and the ranks still end with the same weights."""
    manifest = write_demo_dataset(str(tmp_path / "data"), n_train=1, n_val=1, n_test=0, seconds=2.0)
    _add_undecodable(manifest, "train", tmp_path)
    rank0, rank1 = _fit_on_two_ranks(tmp_path, manifest, "--data.batch_size", "1",
                                     "--data.max_failed_file_share", "0.6")
    sizes = list(zip(rank0["batch_sizes"], rank1["batch_sizes"]))
    assert len(sizes) == MAX_STEPS and ((0, 1) in sizes or (1, 0) in sizes), sizes
    for report in (rank0, rank1):
        assert report["global_step"] == MAX_STEPS and report["final"] != report["initial"]
    assert rank0["final"] == rank1["final"]


@pytest.mark.slow
def test_validation_with_a_rank_whose_files_all_failed_to_decode(tmp_path):
    """Two validation files, a good one and an undecodable one: each rank gets one, so one rank validates
    nothing. Every rank must still take part in reducing the logged means (a rank that logs nothing leaves the
    others waiting for it forever); the run ends, and both ranks see the good file's loss as val_loss."""
    manifest = write_demo_dataset(str(tmp_path / "data"), n_train=2, n_val=1, n_test=0, seconds=2.0)
    _add_undecodable(manifest, "valid", tmp_path)
    rank0, rank1 = _fit_on_two_ranks(tmp_path, manifest, "--data.batch_size", "1", "--data.max_failed_file_share",
                                     "0.6", "--trainer.limit_val_batches", "1.0", "--trainer.val_check_interval",
                                     str(MAX_STEPS), "--model.val_sampling_steps", "2")
    assert len(rank0["val_losses"]) == 1 and rank0["val_losses"] == rank1["val_losses"]
    rows = [row for row in _logged(tmp_path) if row.get("val_loss")]
    assert len(rows) == 1 and float(rows[0]["val/demo/loss"]) == pytest.approx(rank0["val_losses"][0], rel=1e-6)
    assert float(rows[0]["val/demo/bandwidth/lsd"]) > 0


@pytest.mark.slow
def test_test_scores_with_a_rank_whose_files_all_failed_to_decode(tmp_path):
    """`main.py test` on two ranks, one of which gets only an undecodable file, gives the scores that one
    process gives on the good file alone (the same item, restored with the same seed)."""
    alone, together = tmp_path / "alone", tmp_path / "together"
    scores = []
    for root, devices in ((alone, 1), (together, 2)):
        manifest = write_demo_dataset(str(root / "data"), n_train=1, n_val=0, n_test=1, seconds=2.0)
        if devices == 2:
            _add_undecodable(manifest, "test", root)
        _run(root, "test", manifest, "--data.batch_size", "1", "--data.max_failed_file_share", "0.6",
             "--model.test_sampling_steps", "2", devices=devices)
        row = [row for row in _logged(root) if row.get("test/demo/bandwidth/lsd")]
        assert len(row) == 1
        scores.append({key: float(value) for key, value in row[0].items() if key.startswith("test/")})
    assert len(scores[0]) == 8 and all(value > 0 for value in scores[0].values())
    assert scores[1] == pytest.approx(scores[0], rel=1e-6)


@pytest.mark.slow
def test_predict_on_two_ranks_restores_every_test_file_whole(tmp_path):
    """Two ranks share three test files; each is restored whole with its provenance record, and no temporary
    file is left behind."""
    manifest = write_demo_dataset(str(tmp_path / "data"), n_train=1, n_val=0, n_test=3, seconds=2.0)
    _run(tmp_path, "predict", manifest, "--data.batch_size", "1", "--model.test_sampling_steps", "2",
         "--trainer.callbacks+=inference.prediction_writer.RestoredAudioWriter",
         f"--trainer.callbacks.output_dir={tmp_path / 'predictions'}")
    audio = ["00000_test_001.wav", "00001_test_002.wav", "00002_test_003.wav"]
    assert sorted(os.listdir(tmp_path / "predictions" / "demo")) == sorted(audio + [f"{a}.json" for a in audio])
    for name in audio:
        source = tmp_path / "data" / "demo" / name.split("_", 1)[1]
        assert sf.info(tmp_path / "predictions" / "demo" / name).frames == sf.info(source).frames
