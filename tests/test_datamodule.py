import logging
import os

import lightning as L
import numpy as np
import pytest
import soundfile as sf
import torch
from lightning.fabric.utilities.distributed import DistributedSamplerWrapper

from datasets.datamodule import A2SBDataModule
from helpers import write_corrupt, write_manifest
from datasets.manifest import AudioFile, ManifestError
from datasets.segments import CentredSegments, EpochSampler, TooManyFailedFilesError, TrainSegments

SR = 44100
SEGMENT = 130560


def write_constant(path, value, seconds, sr=SR):
    """A file whose every sample is `value`, so a segment tells which file it came from."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sf.write(path, np.full(int(sr * seconds), value, dtype=np.float32), sr, subtype="FLOAT")
    return path


def batches(loader, datamodule, epochs=1):
    return [datamodule.on_before_batch_transfer(batch, 0) for _ in range(epochs) for batch in loader]


def test_train_and_val_batches_from_demo_manifest(demo_manifest):
    dm = A2SBDataModule({"demo": {"filename": demo_manifest}}, batch_size=3, num_workers=0, samples_per_epoch=7)
    dm.setup("fit")
    train = batches(dm.train_dataloader(), dm)
    assert [b["audio"].shape for b in train] == [(3, SEGMENT), (3, SEGMENT), (1, SEGMENT)]
    assert all(set(b) == {"audio", "max_bin"} for b in train)
    assert train[0]["audio"].dtype == torch.float32 and train[0]["max_bin"].dtype == torch.long
    assert train[0]["max_bin"].tolist() == [1024] * 3
    assert all(b["audio"].abs().max() <= 1 and b["audio"].abs().max() > 0.1 for b in train)
    loaders = dm.val_dataloader()
    assert len(loaders) == 1 and dm.val_dataset_names == ["demo"]
    (val,) = batches(loaders[0], dm)
    assert set(val) == {"audio", "max_bin", "index"} and val["index"].tolist() == [0, 1]
    # The centred 130560 samples of a 3.5 s (154350-sample) file start at sample (154350 - 130560) / 2.
    reference, _ = sf.read(dm.val_datasets[0].files[1].path, dtype="float32")
    np.testing.assert_array_equal(val["audio"][1].numpy(), reference[11895:11895 + SEGMENT])


def test_two_manifests_mixed_with_sr_loss_mask(tmp_path):
    for i in range(3):
        write_constant(str(tmp_path / "a" / f"{i}.wav"), 0.1 * (i + 1), 0.1)
    for i in range(4):
        write_constant(str(tmp_path / "b" / f"{i}.wav"), -0.1 * (i + 1), 0.1)
    manifest_a = write_manifest(tmp_path / "a" / "m.csv", [("train", "0.wav", 0.1), ("train", "1.wav", 0.1),
                                                            ("valid", "2.wav", 0.1)])
    write_manifest(tmp_path / "b.csv", [("train", "0.wav", 0.1, 16000), ("train", "1.wav", 0.1, 32000),
                                        ("train", "2.wav", 0.1, 48000), ("test", "3.wav", 0.1)])
    config = {
        "b": {"root_folder": str(tmp_path / "b"), "filename": "../b.csv", "apply_sr_loss_mask": True},
        "a": {"filename": manifest_a},
    }
    dm = A2SBDataModule(config, batch_size=50, num_workers=0, segment_samples=64, samples_per_epoch=200)
    dm.setup("fit")
    assert dm.manifest_path("b") == os.path.join(str(tmp_path / "b"), "../b.csv")
    drawn = {}
    for batch in batches(dm.train_dataloader(), dm):
        for audio, max_bin in zip(batch["audio"], batch["max_bin"].tolist()):
            drawn[round(float(audio[0]), 3)] = max_bin
    # b's 16 kHz row is skipped; 32 kHz -> int(2048 * 16000 / 44100) = 743; 48 kHz and a's rows -> 1024.
    assert drawn == {0.1: 1024, 0.2: 1024, -0.2: 743, -0.3: 1024}
    assert dm.val_dataset_names == ["a"] and len(dm.val_dataloader()) == 1  # b has no valid rows
    dm.setup("test")
    assert dm.test_dataset_names == ["b"] and len(dm.test_dataloader()) == 1
    (test_batch,) = batches(dm.test_dataloader()[0], dm)
    assert test_batch["audio"][0, 0].item() == pytest.approx(-0.4)


def test_files_are_drawn_in_proportion_to_duration(tmp_path):
    files = [AudioFile(write_constant(str(tmp_path / "short.wav"), 0.25, 1.0), 1.0, 1024),
             AudioFile(write_constant(str(tmp_path / "long.wav"), 0.75, 3.0), 3.0, 1024)]
    dataset = TrainSegments(files, segment_samples=32, length=800, seed=1)
    values = np.array([float(dataset[i]["audio"][0]) for i in range(800)])
    share_long = np.mean(values == 0.75)
    assert abs(share_long - 0.75) < 4 * np.sqrt(0.75 * 0.25 / 800)  # 4 sigma of a binomial share
    assert set(np.unique(values)) == {0.25, 0.75}


def test_segment_start_is_random_inside_the_file(tmp_path):
    ramp = np.arange(5 * SR, dtype=np.float32) / (5 * SR)
    path = str(tmp_path / "ramp.wav")
    sf.write(path, ramp, SR, subtype="FLOAT")
    dataset = TrainSegments([AudioFile(path, 5.0, 1024)], segment_samples=SR, length=300)
    starts = np.array([int(round(float(dataset[i]["audio"][0]) * 5 * SR)) for i in range(300)])
    for i in (0, 7):
        np.testing.assert_allclose(dataset[i]["audio"].numpy(), ramp[starts[i]:starts[i] + SR], atol=0)
    assert starts.min() >= 0 and starts.max() <= 4 * SR
    assert starts.min() < 0.1 * 4 * SR and starts.max() > 0.9 * 4 * SR  # the whole span is used


def write_noise_dataset(folder, n_files=4, seconds=0.5):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n_files):
        path = str(folder / f"noise{i}.wav")
        sf.write(path, 0.3 * rng.standard_normal(int(SR * seconds)).astype(np.float32), SR, subtype="FLOAT")
        rows.append(("train" if i else "valid", path, seconds))
    return write_manifest(folder / "noise.csv", rows)


def test_reproducible_across_workers_and_new_each_epoch(tmp_path):
    manifest = write_noise_dataset(tmp_path)
    loaders = []
    for workers in (0, 2):
        dm = A2SBDataModule({"noise": {"filename": manifest}}, batch_size=2, num_workers=workers,
                            segment_samples=4096, samples_per_epoch=4, seed=5)
        dm.setup("fit")
        loaders.append([b["audio"] for b in batches(dm.train_dataloader(), dm, epochs=2)])
    serial, parallel = loaders
    assert len(serial) == len(parallel) == 4
    for x, y in zip(serial, parallel):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    assert not torch.equal(serial[0], serial[2])  # epoch 2 draws new segments


def test_epoch_sampler_under_lightning_ddp_wrapper():
    # Each DDP rank builds its own loader, hence its own sampler; Lightning wraps it and calls set_epoch.
    ranks = [DistributedSamplerWrapper(EpochSampler(8), num_replicas=2, rank=r, shuffle=False) for r in (0, 1)]
    for epoch, expected in [(3, range(24, 32)), (4, range(32, 40))]:
        for wrapper in ranks:
            wrapper.set_epoch(epoch)
        indices = [list(wrapper) for wrapper in ranks]
        assert len(indices[0]) == len(indices[1]) == 4
        assert sorted(indices[0] + indices[1]) == list(expected)


def test_corrupt_train_file_is_logged_once_and_dropped(tmp_path, caplog):
    good = [write_constant(str(tmp_path / f"{i}.wav"), 0.01 * (i + 1), 0.05) for i in range(9)]
    bad = write_corrupt(str(tmp_path / "bad.wav"))
    rows = [("train", p, 0.05) for p in good + [bad]] + [("valid", good[0], 0.05)]
    manifest = write_manifest(tmp_path / "m.csv", rows)
    dm = A2SBDataModule({"m": {"filename": manifest}}, batch_size=8, num_workers=2, segment_samples=64,
                        samples_per_epoch=64, max_failed_file_share=0.1)
    dm.setup("fit")
    loader = dm.train_dataloader()
    raw = [batch for _ in range(2) for batch in loader]
    n_failed = [len(batch["failed"]) for batch in raw]
    assert sum(n_failed) > 2  # the bad file was drawn several times
    with caplog.at_level(logging.WARNING):
        cleaned = [dm.on_before_batch_transfer(batch, 0) for batch in raw]
    warnings = [r for r in caplog.records if bad in r.getMessage()]
    assert len(warnings) == 1 and "cannot decode audio" in warnings[0].getMessage()
    for batch, failed in zip(cleaned, n_failed):
        assert "failed" not in batch
        assert batch["audio"].shape == (8 - failed, 64)
        drawn_values = {round(float(v), 3) for v in batch["audio"][:, 0]}
        assert drawn_values <= {round(0.01 * (i + 1), 3) for i in range(9)}


def test_too_many_failures_raise_with_summary(tmp_path):
    paths = [write_constant(str(tmp_path / "ok.wav"), 0.5, 0.05), write_constant(str(tmp_path / "ok2.wav"), 0.5, 0.05),
             write_corrupt(str(tmp_path / "bad1.wav")), write_corrupt(str(tmp_path / "bad2.wav"))]
    manifest = write_manifest(tmp_path / "m.csv", [("train", p, 0.05) for p in paths] + [("valid", paths[0], 0.05)])
    dm = A2SBDataModule({"m": {"filename": manifest}}, batch_size=16, num_workers=0, segment_samples=64,
                        samples_per_epoch=64, max_failed_file_share=0.3)
    dm.setup("fit")
    with pytest.raises(TooManyFailedFilesError) as err:
        batches(dm.train_dataloader(), dm)
    message = str(err.value)
    assert message.startswith("2 of 4 train files (50.0%) failed to decode, more than data.max_failed_file_share=0.3")
    assert f"{manifest} line 3: {paths[2]}" in message and f"{manifest} line 4: {paths[3]}" in message


def test_corrupt_valid_file_keeps_indices_of_the_others(tmp_path):
    good = [write_constant(str(tmp_path / f"{i}.wav"), 0.1 * (i + 1), 0.05) for i in range(3)]
    rows = [("train", good[0], 0.05), ("valid", good[0], 0.05), ("valid", write_corrupt(str(tmp_path / "x.wav")), 1),
            ("valid", good[1], 0.05), ("valid", good[2], 0.05)]
    dm = A2SBDataModule({"m": {"filename": write_manifest(tmp_path / "m.csv", rows)}}, batch_size=4,
                        num_workers=0, segment_samples=64, max_failed_file_share=0.5)
    dm.setup("validate")
    (batch,) = batches(dm.val_dataloader()[0], dm)
    assert batch["index"].tolist() == [0, 2, 3]
    np.testing.assert_allclose(batch["audio"][:, 0].numpy(), [0.1, 0.2, 0.3], rtol=1e-6)


def test_centred_segment_of_a_short_file_is_zero_padded(tmp_path):
    path = write_constant(str(tmp_path / "short.wav"), 0.5, 0.01)  # 441 samples
    (sample,) = CentredSegments([AudioFile(path, 0.01, 1024)], segment_samples=1000)
    assert sample["audio"][:441].eq(0.5).all() and sample["audio"][441:].eq(0).all()


def test_configuration_errors_name_the_key(tmp_path):
    audio = write_constant(str(tmp_path / "a.wav"), 0.5, 0.01)
    dm = A2SBDataModule({"music": {"filename": str(tmp_path / "nowhere.csv")}})
    with pytest.raises(ManifestError, match=r"^data\.mix_dataset_config\.music\.filename: manifest not found: "):
        dm.setup("fit")
    with pytest.raises(ValueError, match=r"data\.mix_dataset_config\.music: unknown keys \['file'\]"):
        A2SBDataModule({"music": {"file": "m.csv"}})
    no_valid = write_manifest(tmp_path / "train_only.csv", [("train", audio, 1)])
    with pytest.raises(ManifestError, match="no valid rows in any manifest"):
        A2SBDataModule({"t": {"filename": no_valid}}).setup("fit")
    low = write_manifest(tmp_path / "low.csv", [("train", audio, 1, 22050), ("valid", audio, 1)])
    with pytest.raises(ManifestError, match=r"low\.csv: no train rows \(1 skipped by apply_sr_loss_mask"):
        A2SBDataModule({"low": {"filename": low, "apply_sr_loss_mask": True}}).setup("fit")


class RecordingModule(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.train_batches = []

    def training_step(self, batch, batch_idx):
        self.train_batches.append((sorted(batch), batch["audio"].shape[0], float(batch["audio"][:, 0].sum())))
        return (self.weight * batch["audio"].mean()).sum()

    def validation_step(self, batch, batch_idx, dataloader_idx=0):
        assert sorted(batch) == ["audio", "index", "max_bin"]

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_lightning_fit_uses_hooks_and_epochs(tmp_path):
    good = [write_constant(str(tmp_path / f"{i}.wav"), 0.01 * (i + 1), 0.05) for i in range(30)]
    bad = write_corrupt(str(tmp_path / "bad.wav"))
    rows = [("train", p, 0.05) for p in good + [bad]] + [("valid", good[0], 0.05), ("valid", good[1], 0.05)]
    config = {"x": {"filename": write_manifest(tmp_path / "m.csv", rows)},
              "y": {"filename": write_manifest(tmp_path / "n.csv", rows)}}
    dm = A2SBDataModule(config, batch_size=8, num_workers=0, segment_samples=64, samples_per_epoch=64)
    model = RecordingModule()
    trainer = L.Trainer(accelerator="cpu", max_epochs=2, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(tmp_path))
    trainer.fit(model, dm)
    assert all(keys == ["audio", "max_bin"] for keys, _, _ in model.train_batches)
    sizes = [size for _, size, _ in model.train_batches]
    assert len(sizes) == 16 and 64 > sum(sizes[:8]) and 64 > sum(sizes[8:])  # bad draws dropped per epoch
    assert dm._trackers["train"].failed.keys() == {bad}
    assert [s for _, _, s in model.train_batches[:8]] != [s for _, _, s in model.train_batches[8:]]
