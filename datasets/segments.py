"""Training and validation datasets of fixed-length 44.1 kHz mono segments, and their failure handling.

A sample is a dict {"audio": float32 [N], "max_bin": int} (validation adds "index"). A file that cannot be
decoded gives a FailedSample instead; `collate_segments` drops those from the batch (the batch is smaller,
nothing is substituted) and lists them under batch["failed"]. The main process hands that list to a
FailureTracker (the data module does it in `on_before_batch_transfer`), so failures are counted exactly
once per distinct file however many DataLoader workers there are: workers only report, never count.
"""
import logging
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from audiokit.cli import UserError
from audiokit.constants import SAMPLE_RATE
from audiokit.decoding import AudioReadError, info, peak_normalize, read_segment

log = logging.getLogger(__name__)
FAILED_PATHS_SHOWN = 5


class FailedSample(NamedTuple):
    path: str
    reason: str
    split: str
    index: int | None  # dataset index for validation samples, None for training
    source: str = ""  # "<manifest> line <n>" that lists the file


class TooManyFailedFilesError(UserError):
    """More than the allowed share of a split's distinct files failed to decode."""


def _load_segment(file, start_s, n_samples):
    return torch.from_numpy(peak_normalize(read_segment(file.path, start_s, n_samples)))


class TrainSegments(Dataset):
    """Random segments: a file drawn with probability proportional to its duration (every second of the
    mixture equally likely), then a uniformly random start inside it.

    Sample k is a pure function of (seed, k): it draws from np.random.default_rng([seed, k]). Results thus
    do not depend on the number of workers or on which DDP rank reads which index, and fresh segments come
    from fresh indices, which EpochSampler hands out epoch after epoch. The length is the epoch size.
    """

    def __init__(self, files, segment_samples, length, seed=0, split="train"):
        if not files:
            raise ValueError("TrainSegments needs at least one file")
        self.files = list(files)
        self.segment_samples = segment_samples
        self.length = length
        self.seed = seed
        self.split = split
        self._cumulative_duration = np.cumsum([file.duration for file in self.files])

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        rng = np.random.default_rng([self.seed, index])
        draw = rng.random() * self._cumulative_duration[-1]
        file = self.files[int(np.searchsorted(self._cumulative_duration, draw, side="right"))]
        position = rng.random()
        try:
            span = max(0.0, info(file.path).duration - self.segment_samples / SAMPLE_RATE)
            audio = _load_segment(file, position * span, self.segment_samples)
        except AudioReadError as err:
            return FailedSample(file.path, str(err), self.split, None, file.source)
        return {"audio": audio, "max_bin": file.max_bin}


class EpochSampler(Sampler):
    """Yields indices epoch * length ... (epoch + 1) * length - 1, so every epoch draws new segments.

    Lightning calls set_epoch before each epoch (also through its DDP wrapper, which then shards these
    indices over ranks), which keeps resumed runs on the right indices; without it each pass moves on to
    the next epoch by itself.
    """

    def __init__(self, length):
        self.length = length
        self.epoch = 0

    def __len__(self):
        return self.length

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        first = self.epoch * self.length
        self.epoch += 1
        return iter(range(first, first + self.length))


class CentredSegments(Dataset):
    """Deterministic segments for validation/test: the centred `segment_samples` of each file (zero-padded
    at the end when the file is shorter). Sample i always comes from self.files[i]."""

    def __init__(self, files, segment_samples, split="valid"):
        self.files = list(files)
        self.segment_samples = segment_samples
        self.split = split

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        file = self.files[index]
        try:
            start_s = max(0.0, (info(file.path).duration - self.segment_samples / SAMPLE_RATE) / 2)
            audio = _load_segment(file, start_s, self.segment_samples)
        except AudioReadError as err:
            return FailedSample(file.path, str(err), self.split, index, file.source)
        return {"audio": audio, "max_bin": file.max_bin, "index": index}


def collate_segments(samples, segment_samples):
    """Stacks the good samples into {"audio" [B, N], "max_bin" [B] long, ("index" [B] long)} and lists the
    FailedSamples under "failed"; B may be smaller than the number of samples, down to 0."""
    good = [s for s in samples if not isinstance(s, FailedSample)]
    failed = [s for s in samples if isinstance(s, FailedSample)]
    has_index = any("index" in s for s in good) or any(f.index is not None for f in failed)
    batch = {
        "audio": torch.stack([s["audio"] for s in good]) if good else torch.zeros(0, segment_samples),
        "max_bin": torch.tensor([s["max_bin"] for s in good], dtype=torch.long),
    }
    if has_index:
        batch["index"] = torch.tensor([s["index"] for s in good], dtype=torch.long)
    batch["failed"] = failed
    return batch


class FailureTracker:
    """Counts the distinct files of one split that failed; logs each once; raises past `max_share`."""

    def __init__(self, split, total_files, max_share=0.05):
        self.split = split
        self.total_files = total_files
        self.max_share = max_share
        self.failed = {}  # path -> FailedSample, in order of first failure

    def record(self, failure):
        if failure.path in self.failed:
            return
        self.failed[failure.path] = failure
        listed = f" ({failure.source})" if failure.source else ""
        log.warning("skipping %s file that failed to decode%s: %s", self.split, listed, failure.reason)
        share = len(self.failed) / self.total_files
        if share > self.max_share:
            shown = [f"{f.source}: {f.path}" if f.source else f.path
                     for f in list(self.failed.values())[:FAILED_PATHS_SHOWN]]
            more = " ..." if len(self.failed) > FAILED_PATHS_SHOWN else ""
            raise TooManyFailedFilesError(
                f"{len(self.failed)} of {self.total_files} {self.split} files ({share:.1%}) failed to decode, "
                f"more than data.max_failed_file_share={self.max_share:g}; first: {'; '.join(shown)}{more}")

