"""scripts/decode_music.py: lossy files decoded to WAV without clipping the decoder's overs."""
import os
import subprocess
import sys

import numpy as np
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_overs_of_a_lossy_decode_are_kept(tmp_path):
    """A full-scale square wave through Ogg Vorbis decodes up to about 1.4 (the lost harmonics' overshoot); the WAV
    keeps those samples as they were decoded, where 16 bits had clipped them at 1.0."""
    source = tmp_path / "music"
    source.mkdir()
    t = np.arange(2 * 44100) / 44100
    square = 0.99 * np.sign(np.sin(2 * np.pi * 441 * t))
    sf.write(source / "square.ogg", np.stack([square, -square], 1).astype(np.float32), 44100, format="OGG",
             subtype="VORBIS")
    decoded, _ = sf.read(source / "square.ogg", dtype="float32", always_2d=True)
    assert np.abs(decoded).max() > 1.1
    out = tmp_path / "wav"
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "decode_music.py"), str(out), f"song={source}"],
                   check=True, capture_output=True)
    written, sr = sf.read(out / "song" / "square.wav", dtype="float32", always_2d=True)
    assert sr == 44100 and sf.info(out / "song" / "square.wav").subtype == "FLOAT"
    np.testing.assert_array_equal(written, decoded)
