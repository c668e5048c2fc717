"""`main.py predict` restores whole test files (every channel, full length) through the restoration engine."""
import os

import numpy as np
import pytest
import soundfile as sf
from helpers import band_energy, tiny_config

from corrupt.waveform import band_limit
from datasets.synthetic import music_like
from main import main

SR = 44100


@pytest.mark.slow
def test_predict_writes_whole_stereo_files_and_resumes(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    stereo = band_limit(np.stack([music_like(3.0, seed=1), music_like(3.0, seed=2)]), 4000)
    sf.write(data / "song.wav", stereo.T, SR, subtype="PCM_16")
    sf.write(data / "train.wav", music_like(1.0), SR, subtype="PCM_16")
    manifest = data / "m.csv"
    manifest.write_text("train,train.wav,1.0\nvalid,train.wav,1.0\ntest,song.wav,3.0\n")
    config, out = tiny_config(tmp_path, str(manifest))
    code = main(["predict", "--config", config, "--model.test_sampling_steps", "2"])
    assert code == 0
    written = os.path.join(out, "predictions", "demo", "00000_song.wav")
    restored, rate = sf.read(written, dtype="float32", always_2d=True)
    assert rate == SR and restored.shape == (3 * SR, 2)
    for channel in range(2):
        # the kept band comes back as it went in; the random network fills the band above the cutoff
        low = band_energy(restored[:, channel] - stereo[channel], 0, 3500) / band_energy(stereo[channel], 0, 3500)
        assert low < 1e-3
        assert band_energy(restored[:, channel], 5000, 20000) > 100 * band_energy(stereo[channel], 5000, 20000)

    # A second run (as after an interruption) keeps what is written and restores only what is missing.
    sf.write(written, np.zeros((10, 2)), SR, subtype="FLOAT")
    sf.write(data / "song2.wav", stereo[:, :SR].T, SR, subtype="PCM_16")
    with open(manifest, "a") as f:
        f.write("test,song2.wav,1.0\n")
    assert main(["predict", "--config", config, "--model.test_sampling_steps", "2"]) == 0
    assert sf.info(written).frames == 10
    assert sf.info(os.path.join(out, "predictions", "demo", "00001_song2.wav")).frames == SR
