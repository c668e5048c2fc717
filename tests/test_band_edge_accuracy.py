"""The band-edge benchmark on a small folder: its groups, truths and the "far below over sound" count."""
import json

import numpy as np
import soundfile as sf

from benchmarks.band_edge_accuracy import main, summarise
from datasets.synthetic import music_like
from helpers import brick_wall

SR = 44100


def test_an_answer_far_below_over_digital_silence_replaces_no_sound(tmp_path, capsys):
    """A lossy-like track walled at 11 kHz whose last 4 s the codec emptied above 4 kHz: the 4 s excerpt there is
    answered at 4 kHz, far below the track's edge, but nothing sounds between the two."""
    audio = brick_wall(music_like(12.0, seed=0).astype(np.float64), 11000)
    audio[8 * SR:] = brick_wall(audio[8 * SR:], 4000)
    folder = tmp_path / "music"
    folder.mkdir()
    sf.write(folder / "track.wav", 0.5 * audio / np.abs(audio).max(), SR, subtype="FLOAT")
    out = tmp_path / "answers.json"
    main([str(folder), "--lengths", "4", "--offsets", "2", "--edges", "3000", "--generated", "1",
          "--generated-seconds", "4", "--json", str(out)])
    assert "far below over sound" in capsys.readouterr().out
    records = json.loads(out.read_text())

    codec = [r for r in records if r["group"] == "codec"]
    assert [r["excerpt"] for r in codec] == ["whole", "4s", "4s"]
    assert abs(codec[0]["edge_hz"] / 11000 - 1) < 0.03 and all(r["true_hz"] == codec[0]["edge_hz"] for r in codec)
    start, end = codec[1], codec[2]
    assert abs(start["edge_hz"] / 11000 - 1) < 0.03 and start["sound_between_db"] is None
    assert abs(end["edge_hz"] / 4000 - 1) < 0.03 and end["sound_between_db"] < -100
    rows = {row[0]: row for row in summarise(records)}
    assert rows["codec"][6:8] == (1, 0)  # far below, and far below over sound

    for method in ("soxr", "butterworth"):
        limited = [r for r in records if r["group"] == f"band-limited ({method})"]
        assert len(limited) == 3 and all(r["status"] == "edge" for r in limited)
        assert all(-0.05 <= r["edge_hz"] / r["true_hz"] - 1 <= 0.02 for r in limited), limited
    assert {r["status"] for r in records if r["group"] == "full-band (generated)"} == {"full_band"}
