"""Lightning data module over a mixture of manifests (`mix_dataset_config`).

YAML (LightningCLI `data:` section):

    class_path: datasets.datamodule.A2SBDataModule
    init_args:
      mix_dataset_config:
        musicnet: {root_folder: /data/musicnet, filename: manifest.csv, apply_sr_loss_mask: true}
        demo: {filename: demo_run/data/demo_manifest.csv}
      batch_size: 10
      samples_per_epoch: 10000

Training draws random segments from all train rows of all datasets, files weighted by duration. Validation
and test have one loader per dataset (config order) of the centred segment of every file. Batches are
dicts: "audio" [B, N] float32, "max_bin" [B] long, plus "index" [B] long for validation/test (the index
into `val_datasets[i].files`). Files that fail to decode are dropped, so B can be smaller than the batch
size, even 0: the training, validation and test steps skip empty batches.
"""
import math
import os
from functools import partial

import lightning as L
import torch
from torch.utils.data import DataLoader

from audiokit.constants import SEGMENT_SAMPLES
from datasets.manifest import ManifestError, read_manifest, select_files
from datasets.segments import CentredSegments, EpochSampler, FailureTracker, TrainSegments, collate_segments

CONFIG_KEYS = {"root_folder", "filename", "apply_sr_loss_mask"}
STAGE_SPLITS = {
    "fit": ("train", "valid"),
    "validate": ("valid",),
    "test": ("test",),
    "predict": ("test",),
    None: ("train", "valid", "test"),
}


class A2SBDataModule(L.LightningDataModule):
    """Data for A2SB training and evaluation.

    mix_dataset_config: name -> {filename (manifest; relative to root_folder when that is given; default
        <name>_manifest.csv, so that `--data.mix_dataset_config.NAME.root_folder DIR` alone, which replaces
        the whole entry, still finds DIR/NAME_manifest.csv), root_folder (optional; where relative audio
        paths resolve, default the manifest's folder),
        apply_sr_loss_mask (optional, default false; see datasets.manifest.select_files)}.
    samples_per_epoch: segments per training epoch summed over all DDP ranks (each rank gets its share
        through Lightning's distributed sampler).
    max_failed_file_share: a split whose distinct failed files exceed this share of its files stops the
        run. Failures are counted in the main process of each rank (see datasets.segments).
    """

    def __init__(
        self,
        mix_dataset_config: dict,
        batch_size: int = 10,
        num_workers: int = 4,
        segment_samples: int = SEGMENT_SAMPLES,
        samples_per_epoch: int = 10000,
        val_batch_size: int | None = None,
        max_failed_file_share: float = 0.05,
        seed: int = 0,
    ):
        super().__init__()
        _check_config(mix_dataset_config)
        for name, value in [("batch_size", batch_size), ("segment_samples", segment_samples),
                            ("samples_per_epoch", samples_per_epoch),
                            ("val_batch_size", batch_size if val_batch_size is None else val_batch_size)]:
            if value < 1:
                raise ValueError(f"data.{name} must be >= 1, got {value}")
        if num_workers < 0:
            raise ValueError(f"data.num_workers must be >= 0, got {num_workers}")
        if not 0 <= max_failed_file_share <= 1:
            raise ValueError(f"data.max_failed_file_share must be in [0, 1], got {max_failed_file_share}")
        self.save_hyperparameters()
        self.mix_dataset_config = mix_dataset_config
        self.batch_size = batch_size
        self.val_batch_size = val_batch_size if val_batch_size is not None else batch_size
        self.num_workers = num_workers
        self.segment_samples = segment_samples
        self.samples_per_epoch = samples_per_epoch
        self.max_failed_file_share = max_failed_file_share
        self.seed = seed
        self.train_dataset = None
        self.val_datasets, self.val_dataset_names = [], []
        self.test_datasets, self.test_dataset_names = [], []
        self._trackers = {}

    def manifest_path(self, name):
        config = self.mix_dataset_config[name]
        path = os.path.expanduser(config.get("filename") or default_manifest_name(name))
        if config.get("root_folder") and not os.path.isabs(path):
            path = os.path.join(os.path.expanduser(config["root_folder"]), path)
        return path

    def _split_files(self, splits):
        """Reads every manifest once; returns {name: {split: (files, skipped)}} for the given splits."""
        result = {}
        for name, config in self.mix_dataset_config.items():
            path = self.manifest_path(name)
            if not os.path.isfile(path):
                raise ManifestError(f"data.mix_dataset_config.{name}.filename: manifest not found: {path} (the "
                                    f"filename defaults to {default_manifest_name(name)} in root_folder)")
            rows = read_manifest(path, config.get("root_folder"), splits=splits)
            apply_mask = bool(config.get("apply_sr_loss_mask", False))
            result[name] = {split: select_files(rows, split, apply_mask) for split in splits}
        return result

    def setup(self, stage=None):
        splits = STAGE_SPLITS[stage]
        files = self._split_files(splits)
        if "train" in splits:
            train_files = []
            for name, by_split in files.items():
                found, skipped = by_split["train"]
                if not found:
                    raise ManifestError(f"{self.manifest_path(name)}: no train rows{_skipped_note(skipped)} "
                                        f"(data.mix_dataset_config.{name})")
                train_files += found
            self.train_dataset = TrainSegments(train_files, self.segment_samples, self.samples_per_epoch,
                                               seed=self.seed)
            self._trackers["train"] = FailureTracker("train", len(train_files), self.max_failed_file_share)
        if "valid" in splits:
            self.val_dataset_names, self.val_datasets = self._evaluation_sets(files, "valid")
        if "test" in splits:
            self.test_dataset_names, self.test_datasets = self._evaluation_sets(files, "test")

    def _evaluation_sets(self, files, split):
        names, datasets = [], []
        for name, by_split in files.items():
            found, _ = by_split[split]
            if found:
                names.append(name)
                datasets.append(CentredSegments(found, self.segment_samples, split=split))
        if not datasets:
            notes = ", ".join(f"{self.manifest_path(name)}{_skipped_note(by_split[split][1])}"
                              for name, by_split in files.items())
            raise ManifestError(f"no {split} rows in any manifest of data.mix_dataset_config: {notes}")
        total = sum(len(dataset) for dataset in datasets)
        self._trackers[split] = FailureTracker(split, total, self.max_failed_file_share)
        return names, datasets

    def _loader(self, dataset, batch_size, num_workers, sampler=None):
        return DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            num_workers=num_workers,
            collate_fn=partial(collate_segments, segment_samples=self.segment_samples),
            persistent_workers=num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )

    def train_dataloader(self):
        sampler = EpochSampler(len(self.train_dataset))
        return self._loader(self.train_dataset, self.batch_size, self.num_workers, sampler)

    def _evaluation_loaders(self, datasets):
        # Fewer workers than batches would only idle; each loader keeps its own persistent workers.
        return [self._loader(dataset, self.val_batch_size,
                             min(self.num_workers, math.ceil(len(dataset) / self.val_batch_size)))
                for dataset in datasets]

    def val_dataloader(self):
        return self._evaluation_loaders(self.val_datasets)

    def test_dataloader(self):
        return self._evaluation_loaders(self.test_datasets)

    def predict_dataloader(self):
        return self._evaluation_loaders(self.test_datasets)

    def on_before_batch_transfer(self, batch, dataloader_idx):
        """Counts and logs the files that failed in this batch (main process), then drops the list."""
        for failure in batch.pop("failed", []):
            self._trackers[failure.split].record(failure)
        return batch


def default_manifest_name(name):
    """The manifest of data set `name` when its entry gives no filename: the original tools' naming."""
    return f"{name}_manifest.csv"


def _skipped_note(skipped):
    return f" ({skipped} skipped by apply_sr_loss_mask: true sr below 32 kHz)" if skipped else ""


def _check_config(config):
    if not isinstance(config, dict) or not config:
        raise ValueError("data.mix_dataset_config must map dataset names to "
                         "{filename, root_folder, apply_sr_loss_mask}")
    for name, entry in config.items():
        key = f"data.mix_dataset_config.{name}"
        if not isinstance(entry, dict):
            raise ValueError(f"{key} must be a mapping with keys filename, root_folder, apply_sr_loss_mask")
        unknown = set(entry) - CONFIG_KEYS
        if unknown:
            raise ValueError(f"{key}: unknown keys {sorted(unknown)} (allowed: {sorted(CONFIG_KEYS)})")
