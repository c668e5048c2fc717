"""Automatic band edge (audiokit/band_edge.py) on generated music, band-limited or not.

Besides edges at known frequencies, each failure of the earlier detector has a test: music that only fades
towards high frequencies, a codec's brick wall under quiet highs, short excerpts, stereo whose channels
differ, files recorded at a low rate, full-band music.
"""
import numpy as np
import pytest
import soxr
from scipy import signal

from audiokit.band_edge import ANALYSIS_N_FFT, BandEdge, _fitted_edge, _stop_band_corner, detect_band_edge
from benchmarks.band_edge_accuracy import butterworth  # order 12, run twice: 6 dB down at f
from datasets.synthetic import music_like
from helpers import brick_wall
from corrupt.waveform import silence_gaps

SR = 44100
CUTOFFS = (2000, 4000, 8000, 11000, 16000)


def tolerance(freq):
    return max(0.03 * freq, 200.0)


def pcm16(audio):
    """Normalised to a 0.9 peak and rounded to 16 bits, as a WAV file would hold it."""
    return np.round(audio * 0.9 / np.abs(audio).max() * 32767) / 32767


def resampled(audio, freq):
    """The authors' degradation: down to 2 f and back up."""
    return soxr.resample(soxr.resample(audio, SR, int(2 * freq)), int(2 * freq), SR)[:len(audio)]


def soxr_edge(freq):
    """Where the down-and-up resampling chain itself is 6 dB down, measured on white noise."""
    noise = np.random.default_rng(0).standard_normal(SR * 4)
    gain = np.abs(np.fft.rfft(resampled(noise, freq))) ** 2 / np.abs(np.fft.rfft(noise)) ** 2
    freqs = np.fft.rfftfreq(len(noise), 1 / SR)
    smooth = np.convolve(gain, np.ones(41) / 41, mode="same")
    return freqs[np.flatnonzero((smooth >= 10 ** -0.6) & (freqs < freq))[-1]]


def bass_heavy(seconds, seed, quiet_db):
    """Low notes whose partials fall at 24 dB/octave over quiet broadband music `quiet_db` under them: most
    of the energy sits below 1 kHz, as in a soft or bass-heavy recording."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    notes = np.zeros(n)
    for start in np.arange(0, seconds, 0.5):
        f0, first = rng.uniform(55, 440), int(start * SR)
        local = t[:n - first]
        for k in range(1, int(0.45 * SR / f0)):
            notes[first:] += np.exp(-3 * local) * np.sin(2 * np.pi * f0 * k * local + rng.uniform(0, 6.3)) * k ** -4.0
    highs = music_like(seconds, seed=seed).astype(np.float64)
    return notes + highs * np.abs(notes).max() * 10 ** (-quiet_db / 20)


@pytest.fixture(scope="module")
def songs():
    return [music_like(8.0, seed=seed).astype(np.float64) for seed in (0, 1)]


@pytest.fixture(scope="module")
def codec_like():
    """Bass-heavy music with quiet highs, brick-walled at 16 kHz and stored in 16 bits."""
    return [pcm16(brick_wall(bass_heavy(8.0, seed, quiet_db), 16000)) for seed, quiet_db in ((0, 30), (1, 40))]


def edge_of(audio, **kwargs):
    result = detect_band_edge(audio, SR, **kwargs)
    assert isinstance(result, BandEdge) and 0.0 <= result.confidence <= 1.0 and result.message
    assert result.spectrum_db.shape == result.spectrum_hz.shape == (ANALYSIS_N_FFT // 2 + 1,)
    assert np.isfinite(result.spectrum_db).all() and result.spectrum_hz[-1] == SR / 2
    return result


@pytest.mark.parametrize("freq", CUTOFFS)
def test_brick_wall_edges(songs, freq):
    for song in songs:
        for audio in (brick_wall(song, freq), pcm16(brick_wall(song, freq))):
            found = edge_of(audio)
            assert found.status == "edge" and abs(found.edge_hz - freq) <= tolerance(freq), (freq, found)
            assert found.confidence >= 0.9 and f"{found.edge_hz:.0f} Hz (a wall" in found.message


@pytest.mark.parametrize("freq", CUTOFFS)
def test_resampled_edges(songs, freq):
    edge = soxr_edge(freq)
    assert 0.93 * freq < edge < freq  # soxr's pass band ends a few percent under the new Nyquist
    for song in songs:
        found = edge_of(resampled(song, freq))
        assert found.status == "edge" and abs(found.edge_hz - edge) <= tolerance(freq), (freq, found)
        assert "(a wall, as a resampler or codec leaves)" in found.message


def test_steep_butterworth_slope(songs):
    """A 12th-order Butterworth (-3 dB at f, -7 dB at 1.06 f, -15 dB at 1.15 f): found within its slope, and
    told apart from a wall."""
    for freq in CUTOFFS:
        for song in songs:
            found = edge_of(signal.sosfilt(signal.butter(12, freq, fs=SR, output="sos"), song))
            assert found.status == "edge" and 0.97 * freq <= found.edge_hz <= 1.15 * freq, (freq, found)
            assert "(a filter's slope)" in found.message


def test_gentle_roll_off_is_not_an_edge(songs):
    """Music fading at -12 dB/octave (a 2nd-order low-pass) has no edge, even where the digital filter dives
    into Nyquist; once its top band is far down, the answer is "uncertain", saying what was seen."""
    for song in songs:
        for corner in (1000, 3000):
            faded = signal.sosfilt(signal.butter(2, corner, fs=SR, output="sos"), song)
            for audio in (faded, pcm16(faded)):
                found = edge_of(audio)
                assert found.status != "edge", (corner, found)
                if found.status == "uncertain":
                    assert "falls gradually" in found.message and found.edge_hz is None
    low_tones = bass_heavy(8.0, 2, quiet_db=200)  # the partials alone: -24 dB/octave, nothing else
    found = edge_of(low_tones)
    assert found.status == "uncertain" and "falls gradually from" in found.message


def test_codec_edge_under_quiet_highs(codec_like):
    """A brick wall at 16 kHz over highs 30-40 dB under the bass: the edge is the wall, never the bass."""
    for audio in codec_like:
        found = edge_of(audio)
        assert found.status == "edge" and 0.95 * 16000 <= found.edge_hz <= 1.02 * 16000, found


def with_floor(audio, below_db, band=(16000, 18500)):
    """The audio plus a steady white floor `below_db` under its level in `band` (dither, a decoder's rounding)."""
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / SR)
    band_power = spectrum[(freqs >= band[0]) & (freqs < band[1])].mean() / len(audio)
    noise = np.random.default_rng(7).standard_normal(len(audio))
    return audio + noise * np.sqrt(band_power * 10 ** (-below_db / 10))


def test_a_codec_wall_down_to_a_dark_tracks_noise_floor():
    """A dark track's codec wall at 19 kHz reaches the file's steady noise floor 38 dB under the band below it (a
    real soundtrack's case: less than the 45 dB asked of other cliffs): it is an edge, because the floor does not
    move with the music. The same music fading gradually into that floor has none."""
    music = bass_heavy(10.0, 5, quiet_db=30)
    found = edge_of(with_floor(brick_wall(music, 19000), 38))
    assert found.status == "edge" and 0.95 * 19000 <= found.edge_hz <= 1.02 * 19000, found
    partials = bass_heavy(10.0, 5, quiet_db=200)  # -24 dB/octave, nothing else
    found = edge_of(with_floor(partials, 38, band=(4000, 6000)))
    assert found.status != "edge", found


def test_two_clicks_do_not_hide_a_codec_wall():
    """Two clicks in one channel of two minutes of stereo music brick-walled at 16 kHz (as in a real four-minute
    track) put more power above the wall than all the music does; the wall is still found."""
    audio = np.stack([pcm16(brick_wall(music_like(120.0, seed=seed).astype(np.float64), 16000)) for seed in (6, 7)])
    for second in (37, 81):
        audio[1, second * SR] = 0.9
    found = edge_of(audio)
    assert found.status == "edge" and 0.95 * 16000 <= found.edge_hz <= 1.02 * 16000, found


def test_a_pad_that_falls_50_db_at_2_khz_is_not_taken_for_a_filter():
    """A passage whose music itself stops at 2 kHz (a filtered pad over noise 50 dB down, as an 8 s excerpt of a
    real soundtrack did) in a file band-limited at 15 kHz: the edge is the file's, 15 kHz, not the pad's."""
    rng = np.random.default_rng(3)
    n = 8 * SR
    freqs = np.fft.rfftfreq(n, 1 / SR)
    gain = np.where(freqs < 2000, 1.0, np.where(freqs < 15000, 10 ** (-50 / 20), 0.0))
    audio = pcm16(np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * gain, n))
    found = edge_of(audio)
    assert found.status == "edge" and 0.95 * 15000 <= found.edge_hz <= 1.02 * 15000, found
    # the same fall at 2 kHz over 80 dB of depth is a filter's, and found
    deep = pcm16(np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * np.where(freqs < 2000, 1.0, 1e-4), n))
    assert abs(edge_of(deep).edge_hz - 2000) <= tolerance(2000)


def test_a_wall_is_placed_by_its_fitted_response_despite_the_music_around_it():
    """A resampler-like wall (-6 dB at 8000 Hz) under a spectrum whose own peaks and dips swing +-8 dB, placed 9% low
    by a level crossing: the fitted low-pass puts it back within 1%; a gentle slope keeps the crossing."""
    bin_hz = SR / ANALYSIS_N_FFT
    bins = np.arange(ANALYSIS_N_FFT // 2 + 1)
    bumps = np.random.default_rng(0).uniform(-8, 8, len(bins))
    music_db = -20 * np.log10(np.maximum(bins, 1) * bin_hz / 1000) + bumps
    wall_db = -20 * np.log10(1 + (bins * bin_hz / 8000) ** 96)  # a 96th-order response, run twice
    wall_db = music_db + np.maximum(wall_db, -100)
    placed = 0.91 * 8000 / bin_hz
    assert abs(_fitted_edge(wall_db, placed, len(bins) - 1) * bin_hz / 8000 - 1) < 0.01
    gentle_db = music_db - 10 * np.log10(1 + (bins * bin_hz / 8000) ** 12)
    assert _fitted_edge(gentle_db, placed, len(bins) - 1) is None


def band_gain(audio, low, high, gain_db):
    """The audio with [low, high) Hz raised or lowered by gain_db: a resonance or a dip of the music itself."""
    freqs = np.fft.rfftfreq(audio.shape[-1], 1 / SR)
    gain = np.where((freqs >= low) & (freqs < high), 10 ** (gain_db / 20), 1.0)
    return np.fft.irfft(np.fft.rfft(audio) * gain, audio.shape[-1])


@pytest.mark.parametrize("seed, freq, shape", [
    (0, 3000, "swell"), (0, 6000, "swell"), (0, 11000, "dip"), (1, 3000, "dip"), (1, 6000, "dip"), (1, 11000, "dip")])
def test_a_gentle_filter_is_placed_by_the_line_of_its_stop_band_despite_the_music_at_its_cut(songs, seed, freq, shape):
    """A Butterworth run twice under music that swells 12 dB just above its 6 dB point f, or dips 12 dB just under
    it: the level crossing lands 5-10% off; the line that the stop band follows puts the edge within [-5%, +2%] of
    f. (Some swells followed by the fall look like a wall to the fitted response, which places them 6-11% high.)"""
    low, high, gain_db = (freq, 1.1 * freq, 12.0) if shape == "swell" else (0.9 * freq, freq, -12.0)
    found = edge_of(butterworth(band_gain(songs[seed], low, high, gain_db), freq))
    assert found.status == "edge" and -0.05 <= found.edge_hz / freq - 1 <= 0.02, found


def test_the_stop_band_line_is_fitted_down_to_the_noise_floor_only():
    """A Butterworth of total order 24 (12, run twice) at 6000 Hz whose stop band sinks into a noise floor 50 dB
    down, under +-3 dB of the music's own peaks and dips: the line is fitted over the slope only, so it finds the
    corner within 2%; a line run on into the floor would lie flatter and cut lower."""
    bin_hz = SR / ANALYSIS_N_FFT
    bins = np.arange(ANALYSIS_N_FFT // 2 + 1)
    ratio = np.minimum(np.tan(np.pi * bins / ANALYSIS_N_FFT) / np.tan(np.pi * 6000 / SR), 100.0)
    music = 10 ** (np.random.default_rng(0).uniform(-3, 3, len(bins)) / 10)
    power = music * (1 / (1 + ratio ** 24) ** 2 + 1e-5)
    corner = _stop_band_corner(10 * np.log10(power), 6000 / bin_hz, len(bins) - 1)
    assert corner is not None and abs(corner * bin_hz / 6000 - 1) < 0.02, corner


def falling_in_two_steps(seed, tail_hz=(), tail_db=()):
    """8 s of noise shaped like a passage whose music stops at 1.6 kHz the way an excerpt of a real soundtrack
    did: a quick fall of 20 dB, then 30 dB more over two thirds of an octave, then a quiet floor (and `tail`)."""
    n = 8 * SR
    freqs = np.fft.rfftfreq(n, 1 / SR)
    gain_db = np.interp(freqs, (1600, 1700, 1800, 2200, 2900) + tail_hz, (0, -15, -20, -50, -52) + tail_db)
    return np.fft.irfft(np.fft.rfft(np.random.default_rng(seed).standard_normal(n)) * 10 ** (gain_db / 20), n)


@pytest.mark.parametrize("seed", range(3))
def test_a_fall_shaped_like_no_filter_is_the_musics_own_and_the_filter_above_it_is_the_edge(seed):
    """Music that falls 50 dB in two steps from 1.6 kHz, in a file low-passed at 3 kHz: that fall is steep and
    deep enough to be taken for a cut (1658 Hz, 45% under the filter), but it is neither a wall nor a filter's
    straight stop band, so the search goes on up to the filter's edge."""
    found = edge_of(butterworth(falling_in_two_steps(seed), 3000))
    assert found.status == "edge" and -0.05 <= found.edge_hz / 3000 - 1 <= 0.02, found


def test_a_fall_shaped_like_no_filter_alone_is_uncertain():
    found = edge_of(falling_in_two_steps(0, (3300,), (-62,)))
    assert found.status == "uncertain" and found.edge_hz is None, found
    assert "neither a codec's wall nor a filter's slope" in found.message and "1658 Hz" in found.message


def test_gaps_are_not_looked_at(songs):
    """Music brick-walled at 11 kHz with five 0.3 s gaps of zeros: the clicks at the gaps' borders hide the edge
    ("uncertain"); with the gaps skipped it is found as on the whole music."""
    limited = brick_wall(songs[0][:6 * SR], 11000)
    gaps = [(start, start + 0.3) for start in (0.7, 1.9, 3.1, 4.3, 5.5)]
    damaged = silence_gaps(limited[None], gaps)[0]
    assert edge_of(damaged).status != "edge"
    found = edge_of(damaged, skip=gaps)
    assert found.status == "edge" and abs(found.edge_hz - 11000) <= tolerance(11000), found
    assert edge_of(damaged, skip=[(0.0, 6.0)]).status == edge_of(damaged).status  # nothing left: all of it is used


def test_skipped_gaps_do_not_count_as_audio_looked_at(codec_like):
    """4 s of codec-like music is long enough for its 16 kHz wall; with 1.5 s of it in gaps, the 2.5 s left are
    not, as a 2.5 s excerpt is not."""
    audio = codec_like[0][:4 * SR]
    assert edge_of(audio).status == "edge"
    gaps = [(1.0, 1.75), (2.5, 3.25)]
    found = edge_of(silence_gaps(audio[None], gaps)[0], skip=gaps)
    assert found.status == "uncertain" and "2.5 s of audio is too little" in found.message, found
    assert edge_of(audio[:int(2.5 * SR)]).status == "uncertain"


def test_short_excerpts_are_uncertain_unless_unmistakable(codec_like, songs):
    for audio in codec_like:
        for start in (0, 3):
            found = edge_of(audio[start * SR:(start + 2) * SR])
            assert found.status == "uncertain" and found.edge_hz is None, found
        assert edge_of(audio[:4 * SR]).status == "edge"
    # a clean wall 80 dB deep is unmistakable even in 1.5 s
    found = edge_of(brick_wall(songs[0], 8000)[:int(1.5 * SR)])
    assert found.status == "edge" and abs(found.edge_hz - 8000) <= tolerance(8000)


def test_stereo_channels_give_the_same_edge():
    """Channels with different music and highs partly in opposite phase: stereo and each channel agree."""
    shared = bass_heavy(8.0, 3, quiet_db=35)
    apart = music_like(8.0, seed=4).astype(np.float64) * np.abs(shared).max() * 10 ** (-35 / 20)
    left, right = pcm16(brick_wall(shared + apart, 16000)), pcm16(brick_wall(shared - apart, 16000))
    edges = [edge_of(audio) for audio in (np.stack([left, right]), left, right)]
    assert all(e.status == "edge" and 0.95 * 16000 <= e.edge_hz <= 1.02 * 16000 for e in edges), edges
    assert max(e.edge_hz for e in edges) / min(e.edge_hz for e in edges) < 1.02
    downmix = edge_of((left + right) / 2)  # the highs that cancel there must not pull an edge down
    assert downmix.status != "edge" or downmix.edge_hz >= 0.95 * 16000, downmix


@pytest.mark.parametrize("rate", (8000, 16000))
def test_a_file_recorded_at_a_low_rate_has_its_nyquist_as_edge(songs, rate):
    upsampled = soxr.resample(soxr.resample(songs[0], SR, rate), rate, SR)
    found = edge_of(upsampled, source_sr=rate)
    assert (found.status, found.edge_hz, found.confidence) == ("edge", rate / 2, 1.0)
    assert f"{rate} Hz" in found.message
    # a lower edge inside the file still wins
    narrower = soxr.resample(soxr.resample(brick_wall(songs[0], 0.3 * rate), SR, rate), rate, SR)
    found = edge_of(narrower, source_sr=rate)
    assert found.status == "edge" and abs(found.edge_hz - 0.3 * rate) <= tolerance(0.3 * rate), found


def test_full_band_music_is_left_alone(songs):
    for song in songs:
        for audio in (song, pcm16(song), np.stack([song, song[::-1]])):
            assert edge_of(audio).status == "full_band"
        # a 48 kHz file: the resampler's own transition near 21 kHz is no edge
        from_48k = soxr.resample(soxr.resample(song, SR, 48000), 48000, SR)
        found = edge_of(from_48k, source_sr=48000)
        assert found.status == "full_band", found


def test_silence_and_bad_shapes():
    found = edge_of(np.zeros(SR))
    assert (found.status, found.edge_hz) == ("uncertain", None) and "silent" in found.message
    assert edge_of(np.zeros(100)).status == "uncertain"
    with pytest.raises(ValueError, match="channels, samples"):
        detect_band_edge(np.zeros((2, 2, 100)))
