"""Manifest files: CSV rows `split,file_path,duration[,sr_true]`, one audio file per row.

- An optional header row (first field literally "split"), blank lines and whitespace around fields are
  tolerated; fields may be CSV-quoted (paths with commas).
- Splits are "train", "valid" and "test"; "val" and "validation" are read as "valid" (case-insensitive).
- Relative file paths resolve against `root_folder` when given, else against the manifest's own folder.
- The optional 4th column is the file's estimated true sampling rate in Hz (the band that really holds
  content); it feeds the loss mask (docs/DESIGN.md, "Degradations").
Every error names the manifest file and the line number.
"""
import csv
import os
from dataclasses import dataclass

from audiokit.constants import N_BINS, N_FFT, SAMPLE_RATE

SPLITS = ("train", "valid", "test")
SPLIT_ALIASES = {"val": "valid", "validation": "valid"}
MIN_TRUE_SR = 32000  # rows below this are skipped when a dataset sets apply_sr_loss_mask
MISSING_FILES_SHOWN = 5


class ManifestError(ValueError):
    """A malformed manifest or a manifest naming missing files."""


@dataclass(frozen=True)
class ManifestRow:
    split: str
    path: str  # absolute
    duration: float  # seconds
    sr_true: float | None  # Hz; None when the row has no 4th column
    line: int  # 1-based line in the manifest, for messages
    manifest: str = ""  # the manifest file, for messages

    @property
    def source(self):
        return f"{self.manifest} line {self.line}"


@dataclass(frozen=True)
class AudioFile:
    """One file as the datasets use it: where it is, how long, and where its loss mask ends."""
    path: str
    duration: float
    max_bin: int
    source: str = ""  # "<manifest> line <n>" where the file is listed, for messages


def read_manifest(path, root_folder=None, splits=None):
    """Parses a manifest; keeps the rows of `splits` (all when None) and checks that their files exist."""
    if not os.path.isfile(path):
        raise ManifestError(f"{path}: manifest not found")
    base = os.path.expanduser(root_folder) if root_folder else os.path.dirname(os.path.abspath(path))
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            for fields in reader:
                fields = [field.strip() for field in fields]
                if not any(fields):
                    continue
                if not rows and fields[0].lower() == "split":
                    continue  # header row
                rows.append(_parse_row(fields, base, path, reader.line_num))
        except UnicodeDecodeError as error:
            encoding = "UTF-16" if error.object[:2] in (b"\xff\xfe", b"\xfe\xff") else "not UTF-8"
            raise ManifestError(f"{path}: the manifest is {encoding} text; save it as UTF-8") from None
        except csv.Error as error:
            raise ManifestError(f"{path}:{reader.line_num}: not a CSV row ({error})") from None
    if splits is not None:
        wanted = {_canonical_split(s, f"{path}: requested split") for s in splits}
        rows = [row for row in rows if row.split in wanted]
    _require_files(rows, path)
    return rows


def _canonical_split(name, where):
    split = SPLIT_ALIASES.get(name.lower(), name.lower())
    if split not in SPLITS:
        raise ManifestError(f"{where}: unknown split {name!r} (expected one of train, valid, test)")
    return split


def _parse_row(fields, base, manifest, line):
    where = f"{manifest}:{line}"
    if len(fields) not in (3, 4):
        raise ManifestError(
            f"{where}: expected 3 or 4 columns (split,file_path,duration[,sr_true]), got {len(fields)}")
    split = _canonical_split(fields[0], where)
    if not fields[1]:
        raise ManifestError(f"{where}: empty file path")
    duration = _positive_number(fields[2], "duration", where)
    sr_true = _positive_number(fields[3], "sr_true", where) if len(fields) == 4 and fields[3] else None
    file_path = os.path.normpath(os.path.join(base, os.path.expanduser(fields[1])))
    return ManifestRow(split, file_path, duration, sr_true, line, manifest)


def _positive_number(text, column, where):
    try:
        value = float(text)
    except ValueError:
        raise ManifestError(f"{where}: {column} is not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise ManifestError(f"{where}: {column} must be a positive number, got {text!r}")
    return value


def _require_files(rows, manifest):
    missing = [row for row in rows if not os.path.isfile(row.path)]
    if missing:
        shown = "; ".join(f"line {row.line}: {row.path}" for row in missing[:MISSING_FILES_SHOWN])
        more = " ..." if len(missing) > MISSING_FILES_SHOWN else ""
        raise ManifestError(
            f"{manifest}: {len(missing)} of {len(rows)} audio files not found ({shown}{more})")


def loss_max_bin(sr_true, n_fft=N_FFT, sample_rate=SAMPLE_RATE):
    """First bin above the file's true Nyquist, int(n_fft * (sr_true / 2) / sample_rate), capped at N_BINS
    (max_bin == N_BINS excludes nothing)."""
    if sr_true is None:
        return N_BINS
    return min(N_BINS, int(n_fft * (sr_true / 2) / sample_rate))


def select_files(rows, split, apply_sr_loss_mask=False):
    """The rows of one split as AudioFiles; returns (files, number of rows skipped for a low true rate).

    Without apply_sr_loss_mask every row keeps the whole band (max_bin 1024). With it, rows whose true rate
    is below 32 kHz are skipped and rows with a true rate get their loss cut at loss_max_bin.
    """
    files, skipped = [], 0
    for row in rows:
        if row.split != split:
            continue
        if not apply_sr_loss_mask:
            files.append(AudioFile(row.path, row.duration, N_BINS, row.source))
        elif row.sr_true is not None and row.sr_true < MIN_TRUE_SR:
            skipped += 1
        else:
            files.append(AudioFile(row.path, row.duration, loss_max_bin(row.sr_true), row.source))
    return files, skipped
