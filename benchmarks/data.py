"""Training-data throughput: segments per second from long files, partial reads against whole-file decoding.

Writes --files music-like files of --minutes each (each file tiles its own 30 s clip: decoding cost does not
depend on the content) with a manifest, then times two ways of producing 130560-sample training segments:

- partial read: the training dataset (datasets.segments.TrainSegments), which decodes only the segment's
  frames with audiokit.decoding.read_segment;
- whole file: decode the whole file (audiokit.decoding.load_audio), then cut the segment out.

Both run in this process on warm page cache, so the table compares decoding work, not disk speed. Before
timing, it checks that both ways give the same samples.

    python benchmarks/data.py                          # 8 files x 5 min, PCM_16 WAV
    python benchmarks/data.py --subtype FLOAT --format flac --whole-segments 8
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np
import soundfile as sf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from audiokit.constants import SAMPLE_RATE, SEGMENT_SAMPLES  # noqa: E402
from audiokit.decoding import load_audio, peak_normalize, read_segment  # noqa: E402
from datasets.manifest import read_manifest, select_files  # noqa: E402
from datasets.segments import TrainSegments  # noqa: E402
from datasets.synthetic import music_like  # noqa: E402

CLIP_SECONDS = 30.0


def write_long_files(folder, n_files, minutes, file_format, subtype):
    """Writes the files and `manifest.csv` (train rows); returns the manifest path."""
    rows = []
    repeats = int(np.ceil(minutes * 60 / CLIP_SECONDS))
    for i in range(n_files):
        audio = np.tile(music_like(CLIP_SECONDS, seed=i), repeats)[: int(minutes * 60 * SAMPLE_RATE)]
        name = f"long_{i:02d}.{file_format}"
        sf.write(os.path.join(folder, name), audio, SAMPLE_RATE, subtype=subtype, format=file_format.upper())
        rows.append(f"train,{name},{len(audio) / SAMPLE_RATE:.4f}\n")
    manifest = os.path.join(folder, "manifest.csv")
    with open(manifest, "w") as f:
        f.writelines(rows)
    return manifest


def whole_file_segment(path, start_s, n_samples):
    """The naive way: decode everything, keep one segment (zero-padded past the end)."""
    audio = load_audio(path)[0][0]
    start = round(start_s * SAMPLE_RATE)
    segment = np.zeros(n_samples, dtype=np.float32)
    piece = audio[start:start + n_samples]
    segment[:len(piece)] = piece
    return peak_normalize(segment)


def check_same_samples(files, n_samples, rng):
    for file in files[:2]:
        start_s = rng.uniform(0, file.duration - n_samples / SAMPLE_RATE)
        partial = peak_normalize(read_segment(file.path, start_s, n_samples))
        if not np.array_equal(partial, whole_file_segment(file.path, start_s, n_samples)):
            raise SystemExit(f"{file.path}: partial read and whole-file cut differ at {start_s:.3f} s")


def time_partial(dataset, n_segments):
    start = time.perf_counter()
    for k in range(n_segments):
        dataset[k]
    return time.perf_counter() - start


def time_whole(files, n_samples, n_segments, rng):
    draws = [(files[rng.integers(len(files))], rng.random()) for _ in range(n_segments)]
    start = time.perf_counter()
    for file, position in draws:
        whole_file_segment(file.path, position * (file.duration - n_samples / SAMPLE_RATE), n_samples)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=8, help="number of files (default %(default)s)")
    parser.add_argument("--minutes", type=float, default=5.0, help="length of each file (default %(default)s)")
    parser.add_argument("--format", choices=("wav", "flac"), default="wav", help="file format (default wav)")
    parser.add_argument("--subtype", default="PCM_16", help="sample format, e.g. PCM_16, PCM_24, FLOAT "
                                                              "(FLOAT needs wav; default %(default)s)")
    parser.add_argument("--partial-segments", type=int, default=400, help="segments timed with partial reads")
    parser.add_argument("--whole-segments", type=int, default=16, help="segments timed with whole-file decoding")
    parser.add_argument("--folder", help="write the files here (kept) instead of a temporary folder")
    args = parser.parse_args()
    if args.files < 1 or args.minutes * 60 <= 2 * SEGMENT_SAMPLES / SAMPLE_RATE:
        parser.error("need at least one file longer than two segments (6 s)")
    if not sf.check_format(args.format.upper(), args.subtype):
        parser.error(f"soundfile cannot write {args.format} files with subtype {args.subtype}")

    with tempfile.TemporaryDirectory(prefix="a2sb_data_bench_") as scratch:
        folder = args.folder or scratch
        os.makedirs(folder, exist_ok=True)
        manifest = write_long_files(folder, args.files, args.minutes, args.format, args.subtype)
        files, _ = select_files(read_manifest(manifest), "train")
        rng = np.random.default_rng(0)
        check_same_samples(files, SEGMENT_SAMPLES, rng)
        dataset = TrainSegments(files, SEGMENT_SAMPLES, length=args.partial_segments, seed=0)
        rows = [("partial read (TrainSegments)", args.partial_segments, time_partial(dataset, args.partial_segments)),
                ("whole-file decode + cut", args.whole_segments,
                 time_whole(files, SEGMENT_SAMPLES, args.whole_segments, rng))]

    print(f"{args.files} files x {args.minutes:g} min, {args.format} {args.subtype}; segments of {SEGMENT_SAMPLES} "
          f"samples ({SEGMENT_SAMPLES / SAMPLE_RATE:.2f} s), one process, warm page cache")
    widths = (30, 9, 10, 13, 12)
    print("  ".join(h.ljust(w) for h, w in zip(("method", "segments", "seconds", "segments/s", "ms/segment"),
                                               widths)))
    rates = []
    for name, count, seconds in rows:
        rates.append(count / seconds)
        cells = (name, str(count), f"{seconds:.2f}", f"{count / seconds:.1f}", f"{1000 * seconds / count:.2f}")
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths)))
    print(f"speed-up of partial reads: {rates[0] / rates[1]:.0f}x")


if __name__ == "__main__":
    main()
