"""Automatic band edge (audiokit/band_edge.py) on real music: excerpts of many lengths and offsets.

    python benchmarks/band_edge_accuracy.py /usr/share/games/etr/music /usr/share/games/hedgewars/Data/Music

Three groups, each over the whole files and excerpts of --lengths seconds at --offsets evenly spaced places:
- codec: the files as they are. A lossy codec's edge per file is what the detector finds on the whole file
  when it is confident; excerpts more than 15% below it would have real content replaced (goal: none).
- band-limited: the files limited at known edges (--edges, only those under 0.9 x the file's own edge), by
  resampling down to 2 f and back with soxr and by a Butterworth low-pass (order 12, forward and backward:
  -6 dB at f). The truth is f for the Butterworth and the resampling chain's own 6 dB point (about 0.95 f,
  measured on white noise) for soxr. Goal: at least 98% of the confident answers within [-5%, +2%] of the
  truth, none more than 15% below.
- full-band: generated music-like audio (datasets/synthetic.py) should be left alone ("full_band").
An answer far below its truth replaces real content only where the excerpt carries sound between the two: the
"over sound" column counts those whose band between answer and truth is within SOUND_DB of the band just under
the answer (an excerpt where the codec left digital silence up there loses nothing).
Prints one table and writes every answer to --json.
"""
import argparse
import functools
import glob
import json
import os
import sys
from collections import Counter

import numpy as np
from scipy import signal
from tqdm import tqdm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from audiokit.band_edge import detect_band_edge  # noqa: E402
from audiokit.constants import SAMPLE_RATE  # noqa: E402
from audiokit.decoding import load_audio  # noqa: E402
from audiokit.files import write_text  # noqa: E402
from benchmarks.restore import print_table  # noqa: E402
from corrupt.waveform import band_limit  # noqa: E402
from datasets.synthetic import music_like  # noqa: E402

WITHIN = (-0.05, 0.02)
FAR_BELOW = -0.15
SOUND_DB = 60.0  # music 16 dB down is sound; a codec's emptied band, 100 dB and more down, is not
EXTENSIONS = (".ogg", ".flac", ".wav", ".mp3")


def excerpts(audio, lengths, n_offsets):
    """(label, excerpt) for the whole signal and each length that fits, at n_offsets evenly spaced places."""
    yield "whole", audio
    for seconds in lengths:
        n = int(seconds * SAMPLE_RATE)
        if n >= audio.shape[-1]:
            continue
        for start in np.linspace(0, audio.shape[-1] - n, n_offsets).astype(int):
            yield f"{seconds:g}s", audio[..., start:start + n]


def butterworth(audio, freq):
    """Order-12 Butterworth run forward and backward (zero phase, -6 dB at freq), applied as its gain in the
    frequency domain: the same response as sosfiltfilt, many times faster on whole files."""
    freqs = np.fft.rfftfreq(audio.shape[-1], 1 / SAMPLE_RATE)
    _, response = signal.sosfreqz(signal.butter(12, freq, fs=SAMPLE_RATE, output="sos"), worN=freqs, fs=SAMPLE_RATE)
    return np.fft.irfft(np.fft.rfft(audio, axis=-1) * np.abs(response) ** 2, audio.shape[-1], axis=-1)


@functools.cache
def soxr_edge(freq):
    """Where the resampling chain down to 2 freq and back is 6 dB down, measured on white noise."""
    noise = np.random.default_rng(0).standard_normal((1, 8 * SAMPLE_RATE))
    gain = np.abs(np.fft.rfft(band_limit(noise, freq)[0])) ** 2 / np.abs(np.fft.rfft(noise[0])) ** 2
    freqs = np.fft.rfftfreq(noise.shape[-1], 1 / SAMPLE_RATE)
    smooth = np.convolve(gain, np.ones(41) / 41, mode="same")
    return float(freqs[np.flatnonzero((smooth >= 10 ** -0.6) & (freqs < freq))[-1]])


def answers(audio, lengths, n_offsets, source_sr=None):
    """(record, BandEdge) for every excerpt."""
    for label, part in excerpts(audio, lengths, n_offsets):
        result = detect_band_edge(part, SAMPLE_RATE, source_sr)
        yield {"excerpt": label, "status": result.status, "edge_hz": result.edge_hz,
               "confidence": result.confidence, "message": result.message}, result


def sound_between(found, truth_hz):
    """dB of the excerpt's level between an edge under the truth and the truth, against the band just under the
    edge ([0.85, 0.97] x edge; medians over the bins); None for other answers."""
    if found.status != "edge" or not truth_hz:
        return None
    hz, db = found.spectrum_hz, found.spectrum_db
    between = (hz >= 1.03 * found.edge_hz) & (hz < 0.97 * truth_hz)
    if not between.any():
        return None
    under = np.median(db[(hz >= 0.85 * found.edge_hz) & (hz < 0.97 * found.edge_hz)])
    return float(np.median(db[between]) - under)


def records_of(group, path, truth_hz, answered):
    return [{"group": group, "file": path, "true_hz": truth_hz, **record,
             "sound_between_db": sound_between(found, truth_hz)} for record, found in answered]


def audio_files(folders):
    files = sorted(path for folder in folders for path in glob.glob(os.path.join(folder, "*"))
                   if path.lower().endswith(EXTENSIONS))
    if not files:
        raise SystemExit(f"error: no audio files ({', '.join(EXTENSIONS)}) in {', '.join(folders)}")
    return files


def run(args):
    records = []
    files = audio_files(args.folders)
    for path in tqdm(files, desc="files", unit="file"):
        audio, info = load_audio(path, mono=False)
        audio = audio[:, :int(args.max_seconds * SAMPLE_RATE) if args.max_seconds else None].astype(np.float64)
        codec = list(answers(audio, args.lengths, args.offsets, info.sample_rate))
        whole = codec[0][0]
        reference = whole["edge_hz"] if whole["status"] == "edge" else None
        records += records_of("codec", path, reference, codec)
        ceiling = 0.9 * (reference or SAMPLE_RATE / 2)
        for freq in (f for f in args.edges if f < ceiling):
            for method, degrade, truth in (("soxr", band_limit, soxr_edge(freq)), ("butterworth", butterworth, freq)):
                records += records_of(f"band-limited ({method})", path, truth,
                                      answers(degrade(audio, freq), args.lengths, args.offsets))
    for seed in tqdm(range(args.generated), desc="generated", unit="file"):
        audio = music_like(args.generated_seconds, seed=seed).astype(np.float64)
        records += records_of("full-band (generated)", f"music_like seed {seed}", None,
                              answers(audio, args.lengths, args.offsets))
    return records


def summarise(records):
    """One row per group: counts of each status, and where the edges fall against the truth."""
    rows = []
    for group in dict.fromkeys(r["group"] for r in records):
        chosen = [r for r in records if r["group"] == group]
        status = Counter(r["status"] for r in chosen)
        judged = [r for r in chosen if r["status"] == "edge" and r["true_hz"]]
        errors = np.array([r["edge_hz"] / r["true_hz"] - 1 for r in judged])
        within = int(((errors >= WITHIN[0]) & (errors <= WITHIN[1])).sum()) if len(errors) else 0
        far_below = int((errors < FAR_BELOW).sum()) if len(errors) else 0
        over_sound = sum(1 for r, e in zip(judged, errors) if e < FAR_BELOW and r["sound_between_db"] >= -SOUND_DB)
        unexpected_edges = sum(1 for r in chosen if r["status"] == "edge" and not r["true_hz"])
        rows.append((group, len(chosen), status["edge"], status["uncertain"], status["full_band"],
                     f"{within}/{len(judged)}" + (f" ({within / len(judged):.1%})" if judged else ""),
                     far_below, over_sound, f"{np.median(np.abs(errors)) * 100:.1f}%" if len(errors) else "-",
                     unexpected_edges))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", help="folders of audio files (ogg, flac, wav, mp3)")
    parser.add_argument("--lengths", type=float, nargs="+", default=[2, 4, 8, 15, 30],
                        help="excerpt lengths in seconds, besides the whole file (default %(default)s)")
    parser.add_argument("--offsets", type=int, default=3, help="excerpts per length (default %(default)s)")
    parser.add_argument("--edges", type=float, nargs="+", default=[3000, 4000, 6000, 8000, 11000, 13000],
                        help="known band edges in Hz (default %(default)s)")
    parser.add_argument("--max-seconds", type=float,
                        help="use only the first this many seconds of each file as its whole (default: all)")
    parser.add_argument("--generated", type=int, default=4, help="generated full-band files (default %(default)s)")
    parser.add_argument("--generated-seconds", type=float, default=60.0, help="their length (default %(default)s)")
    parser.add_argument("--json", default="band_edge_accuracy.json", help="where to write every answer")
    args = parser.parse_args(argv)

    records = run(args)
    write_text(args.json, json.dumps(records, indent=1))
    print(f"band edge on {len(audio_files(args.folders))} files, excerpts of {args.lengths} s and whole files, "
          f"{args.offsets} offsets each; within = [{WITHIN[0]:+.0%}, {WITHIN[1]:+.0%}] of the true edge "
          f"(codec: the whole file's own edge), far below = more than {-FAR_BELOW:.0%} under it; over sound = with "
          f"sound (within {SOUND_DB:.0f} dB of the band under the answer) between answer and truth")
    print_table(("group", "answers", "edge", "uncertain", "full_band", "edges within", "far below",
                 "far below over sound", "median |error|", "edges without a truth"), summarise(records))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
