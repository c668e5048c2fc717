"""Writes a training manifest for a folder of audio files.

    python datasets/prepare_manifest.py AUDIO_DIR -o NAME_manifest.csv [--valid 0.05 --test 0.05]

Walks AUDIO_DIR (wav, flac, ogg, opus, mp3, aiff, ...) and writes `split,file_path,duration,true_sampling_rate`
rows that datasets/manifest.py reads, paths relative to the manifest's folder.

- true_sampling_rate is twice the band edge found by audiokit/band_edge.py (lossy codecs and old masters stop
  well below Nyquist), or the file's own rate when it is full band. With apply_sr_loss_mask the training loss
  then ignores the empty band instead of teaching the model to leave it empty. When the detector is unsure,
  the row gets UNCERTAIN_TRUE_SR, below the 32 kHz floor, so loss-masked training leaves the file out rather
  than trust a band that may be empty.
- Splits are drawn by group, so a group never straddles two splits: a group is a parent folder (an album)
  or, with --group-by file, each file alone. Groups are shuffled by a hash of (seed, group name), which
  does not depend on the order the file system lists them in; then the test and valid splits take groups
  until they hold about their share of the total duration (at least one group each, as long as one is left
  for training).
- Unreadable, empty, silent or too short files are left out and listed at the end with the reason.
"""
import argparse
import csv
import hashlib
import io
import os
import sys
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from audiokit.band_edge import detect_band_edge  # noqa: E402
from audiokit.cli import run_main  # noqa: E402
from audiokit.decoding import load_audio  # noqa: E402
from audiokit.files import write_text  # noqa: E402
from datasets.manifest import MIN_TRUE_SR  # noqa: E402

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".aifc", ".w64", ".caf")
HEADER = ("split", "file_path", "duration", "true_sampling_rate")
SPLIT_ORDER = ("train", "valid", "test")
UNCERTAIN_TRUE_SR = MIN_TRUE_SR // 2  # below the floor: loss-masked training skips the file
SILENCE_PEAK = 1e-6  # -120 dBFS
# About one training segment (130560 samples at 44.1 kHz); shorter files would be mostly zero padding.
DEFAULT_MIN_SECONDS = 3.0


@dataclass(frozen=True)
class Entry:
    relative: str  # path relative to the manifest's folder, with forward slashes
    group: str
    duration: float
    true_sr: int
    status: str  # the band-edge detector's verdict


def find_audio(root):
    """Every audio file under root (by extension), sorted, as paths relative to root."""
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders.sort()
        found += [os.path.relpath(os.path.join(folder, name), root) for name in names
                  if name.lower().endswith(AUDIO_EXTENSIONS)]
    return sorted(found)


def true_sampling_rate(audio, file_sr):
    """(rate, status): 2 x band edge, the file's rate when full band, UNCERTAIN_TRUE_SR when unsure."""
    edge = detect_band_edge(audio, source_sr=file_sr)
    if edge.status == "edge":
        return int(round(2 * edge.edge_hz)), edge.status
    if edge.status == "full_band":
        return int(file_sr), edge.status
    return UNCERTAIN_TRUE_SR, edge.status


def describe_file(path, min_seconds):
    """(duration, true rate, detector status) of one file; ValueError with the reason when it is unusable."""
    audio, info = load_audio(path, mono=False)
    if info.duration < min_seconds:
        raise ValueError(f"too short: {info.duration:.2f} s (minimum {min_seconds:g} s)")
    if float(np.max(np.abs(audio))) < SILENCE_PEAK:
        raise ValueError("silent (peak below -120 dBFS)")
    rate, status = true_sampling_rate(audio, info.sample_rate)
    return info.duration, rate, status


def group_of(relative_to_root, group_by):
    return os.path.dirname(relative_to_root) if group_by == "folder" else relative_to_root


def group_order(groups, seed):
    """Groups shuffled by a hash of (seed, name): the same for any listing order, different for each seed."""
    return sorted(groups, key=lambda name: hashlib.sha256(f"{seed}\0{name}".encode()).hexdigest())


def assign_splits(entries, valid, test, seed):
    """{group: split}. Test, then valid, take shuffled groups while at least half of the next one fits in
    their share of the total duration (one group at least when the share is not zero); train keeps the rest
    and at least one group."""
    durations = {}
    for entry in entries:
        durations[entry.group] = durations.get(entry.group, 0.0) + entry.duration
    total = sum(durations.values())
    remaining = group_order(durations, seed)
    splits = {}
    for split, share in (("test", test), ("valid", valid)):
        taken = 0.0
        while share > 0 and len(remaining) > 1:
            size = durations[remaining[0]]
            if taken > 0 and taken + size / 2 > share * total:
                break
            splits[remaining.pop(0)] = split
            taken += size
    splits.update(dict.fromkeys(remaining, "train"))
    return splits


def manifest_text(entries, splits):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    rows = sorted(entries, key=lambda e: (SPLIT_ORDER.index(splits[e.group]), e.relative))
    for entry in rows:
        writer.writerow((splits[entry.group], entry.relative, f"{entry.duration:.4f}", entry.true_sr))
    return buffer.getvalue()


def check_arguments(args):
    if not os.path.isdir(args.audio_dir):
        raise ValueError(f"{args.audio_dir}: not a folder")
    if os.path.exists(args.output) and not args.overwrite:
        raise ValueError(f"{args.output}: manifest exists; pass --overwrite to replace it")
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.output))):
        raise ValueError(f"{args.output}: output folder does not exist")
    for name in ("valid", "test"):
        if not 0 <= getattr(args, name) < 1:
            raise ValueError(f"--{name} {getattr(args, name)}: a share of the total duration in [0, 1)")
    if args.valid + args.test >= 1:
        raise ValueError(f"--valid {args.valid} + --test {args.test} leave nothing for training")


def prepare(args):
    check_arguments(args)
    manifest_dir = os.path.dirname(os.path.abspath(args.output))
    files = find_audio(args.audio_dir)
    if not files:
        raise ValueError(f"{args.audio_dir}: no audio files ({', '.join(AUDIO_EXTENSIONS)})")
    entries, failures = [], []
    for relative in tqdm(files, desc="scanning", unit="file", disable=args.quiet):
        path = os.path.join(args.audio_dir, relative)
        try:
            duration, rate, status = describe_file(path, args.min_seconds)
        except (ValueError, OSError) as error:  # one bad file must not stop the scan
            failures.append((path, str(error).removeprefix(f"{path}: ")))
            continue
        entries.append(Entry(os.path.relpath(os.path.abspath(path), manifest_dir).replace(os.sep, "/"),
                             group_of(relative, args.group_by), duration, rate, status))
    report_failures(failures)
    if not entries:
        raise ValueError(f"{args.audio_dir}: none of the {len(files)} audio files is usable")
    splits = assign_splits(entries, args.valid, args.test, args.seed)
    write_text(args.output, manifest_text(entries, splits))
    print(summary(entries, splits, args.output))
    return 0


def report_failures(failures):
    if failures:
        print(f"left out {len(failures)} file(s):")
        for path, reason in failures:
            print(f"  {path}: {reason}")


def summary(entries, splits, output):
    lines = [f"wrote {output}: {len(entries)} files"]
    for split in SPLIT_ORDER:
        chosen = [e for e in entries if splits[e.group] == split]
        groups = {e.group for e in chosen}
        hours = sum(e.duration for e in chosen) / 3600
        lines.append(f"  {split:<5} {len(chosen):5d} files {len(groups):4d} groups {hours:8.2f} h")
    counts = {status: sum(e.status == status for e in entries) for status in ("edge", "full_band", "uncertain")}
    lines.append(f"  band edge: {counts['edge']} band-limited, {counts['full_band']} full band, "
                 f"{counts['uncertain']} uncertain")
    if counts["uncertain"]:
        lines.append(f"  uncertain files get true_sampling_rate {UNCERTAIN_TRUE_SR}: training with "
                     f"apply_sr_loss_mask leaves them out (below {MIN_TRUE_SR} Hz)")
    return "\n".join(lines)


def build_parser():
    parser = argparse.ArgumentParser(
        description="Write a manifest (split,file_path,duration,true_sampling_rate) for the audio files under a "
                    "folder, with paths relative to the manifest. The true sampling rate is twice the detected "
                    "band edge (the file's own rate when it is full band), so apply_sr_loss_mask works on lossy "
                    f"material; files whose edge is uncertain get {UNCERTAIN_TRUE_SR}, below the {MIN_TRUE_SR} Hz "
                    "floor, so loss-masked training leaves them out. Splits are drawn per group (album folder or "
                    "file): no group straddles two splits. Unreadable, empty, silent and too short files are "
                    "left out and listed.")
    parser.add_argument("audio_dir", metavar="AUDIO_DIR", help="folder searched recursively for audio files")
    parser.add_argument("-o", "--output", required=True, metavar="NAME_manifest.csv",
                        help="manifest to write; its folder must exist")
    parser.add_argument("--valid", type=float, default=0.05,
                        help="share of the total duration for the valid split (default %(default)s)")
    parser.add_argument("--test", type=float, default=0.05,
                        help="share of the total duration for the test split (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="changes which groups go to which split (default 0)")
    parser.add_argument("--group-by", choices=("folder", "file"), default="folder",
                        help="folder: files of one parent folder (an album) share a split (default); file: every "
                             "file is drawn alone (folders of independent tracks)")
    parser.add_argument("--min-seconds", type=float, default=DEFAULT_MIN_SECONDS,
                        help="shorter files are left out (default %(default)s, about one training segment)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing manifest")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv=None):
    return run_main(prepare, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
