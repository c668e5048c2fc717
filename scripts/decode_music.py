"""Decodes every Ogg/MP3/FLAC file under the given folders to float WAV in OUT/NAME/ (NAME: one per folder).

    python3 scripts/decode_music.py OUT NAME=FOLDER [NAME=FOLDER ...]

Training reads a random 0.7-3 s segment of a file per sample; seeking into Ogg Vorbis costs about 0.3 s per
read on a 2-core machine, a WAV seek next to nothing. Existing outputs are kept (reruns only add new files).
The WAVs hold 32-bit floats: a lossy decoder's output goes past full scale (up to 1.08 on these soundtracks), and
16 bits would clip it, whose distortion fills the codec's empty band above its edge (11 of the 36 tracks' walls
were hidden that way from the band-edge detector).
"""
import os
import sys
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from audiokit.tool_io import write_audio  # noqa: E402

SUFFIXES = {".ogg", ".oga", ".mp3", ".flac"}


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    out, folders = Path(argv[0]), [arg.partition("=")[::2] for arg in argv[1:]]
    if not all(name and folder for name, folder in folders):
        print("decode_music.py: each folder is given as NAME=FOLDER", file=sys.stderr)
        return 2
    jobs = [(src, out / name / (src.stem + ".wav")) for name, folder in folders
            for src in sorted(Path(folder).rglob("*")) if src.suffix.lower() in SUFFIXES]
    for src, dst in tqdm(jobs, desc="decoding to WAV", unit="file"):
        if dst.exists():
            continue
        audio, sr = sf.read(src, dtype="float32", always_2d=True)
        dst.parent.mkdir(parents=True, exist_ok=True)
        write_audio(dst, audio.T, subtype="FLOAT", sr=sr)
    print(f"{len(jobs)} files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
