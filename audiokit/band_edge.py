"""Automatic band edge of low-passed or lossy-encoded audio (the cutoff for bandwidth extension).

A filter or codec leaves a cliff: the level drops steeply and deeply at one frequency and stays down up to
Nyquist, in every stretch of the file. Music that is merely quiet up high falls gradually, and its quiet
highs still come and go with the music. So an edge is reported only with all of this evidence:
- steep: the band right above the edge ([1.15, 1.35] x edge) is STEEP_DB under the band right below it
  ([0.85, 0.97] x edge); a 12th-order Butterworth gets there, music fading at 30 dB/octave does not;
- deep: from 1.5 x edge up to Nyquist nothing comes within DEEP_DB of the band below it (a steep filter is
  that far down by then; a music's quiet highs, a shelf of a synthesiser, are not). Below LOW_EDGE_HZ the level must
  also be LOW_EDGE_DEEP_DB down from 2 x edge on: lossy codecs cut higher up (their floor sits
  less deep), and an edge that low is a low-pass filter or a low sampling rate, whose level keeps falling, while
  a passage with nothing but a filtered pad or a bass line under it can fall about as far as a codec's floor and
  stay there. A dark track's wall may reach the file's noise floor (dither, the decoder's rounding) sooner:
  FLOOR_DEEP_DB is then enough, when the level above stays within FLOOR_SPREAD_DB across the file while the
  music below comes and goes (some real tracks' codec walls near Nyquist are found only this way);
- present across the file: in at least MIN_AGREEMENT of the blocks (about 0.4 s each, every channel's
  blocks counted) where the band below the edge carries sound, the band above is BLOCK_DROP_DB lower;
- enough of it: less than SHORT_SECONDS of audio only passes with an unmistakable drop (UNMISTAKABLE_DB).
The candidates are found on the long-term average spectrum (channels pooled by power, never summed, so
stereo and its channels agree; in each bin the loudest OUTLIER_SHARE of the blocks left out, so two clicks in
a four-minute track do not fill a codec's empty stop band, as they did on real tracks): the lowest
cliff that passes, and that falls the way a filter or codec cuts, is the edge. A cliff is located where the level
falls PLACE_DB under the level just below it (medians in dB, which the music's own peaks and dips barely move).
Where the fall is a wall (a resampler, a codec), a fitted low-pass response places it (_fitted_edge); where it
is a gentler filter, the straight line that its stop band follows does (_stop_band_corner), for the music's peaks
and dips at the cut move a level crossing. A fall that is neither is the music's own, however
steep and deep (a passage with nothing but a bass line, then a quiet floor): the search goes on above it.

A file recorded at a lower rate than the analysis rate has nothing above its own Nyquist: that is its edge,
unless a trustworthy cliff sits lower. Without an edge the audio is "full_band" when its top band still
carries sound (within FULL_BAND_DB of the spectrum's peak), otherwise "uncertain": the caller must not guess.
The measurements behind these rules are in docs/results/band-edge-accuracy-history.md.
"""
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.ndimage import uniform_filter1d

from audiokit.constants import SAMPLE_RATE
from audiokit.decoding import channel_rows

ANALYSIS_N_FFT = 4096  # the detector's own STFT: 10.8 Hz bins, finer than the representation's
BLOCK_FRAMES = 8  # frames per consistency block: about 0.37 s at 44.1 kHz
MAX_BLOCKS = 1024  # per channel; longer files get longer blocks, so memory stays flat
OUTLIER_SHARE = 0.01  # of the blocks, per bin, left out of the long-term spectrum
SMOOTH_HZ = 100.0
MIN_EDGE_HZ = 500.0
FULL_BAND_FRACTION = 0.93  # edges above this share of Nyquist are ignored (resamplers' own transitions)
BELOW_BAND = (0.85, 0.97)  # the in-band reference, in multiples of the edge
STOP_BAND = (1.15, 1.35)  # right above the edge: a filter's slope has reached its stop band by here
STEEP_DB = 20.0
DEEP_FROM = 1.5  # the deep stop band starts here (x edge): a steep filter is 40 dB down by then
DEEP_DB = 45.0
FLOOR_DEEP_DB = 30.0  # enough depth when the stop band is the file's own noise floor (FLOOR_SPREAD_DB)
FLOOR_SPREAD_DB = 3.0  # a floor (dither, a codec's quantisation) stays put while the music comes and goes
LOW_EDGE_HZ = 8000.0
LOW_EDGE_DEEP_FROM = 2.0
LOW_EDGE_DEEP_DB = 60.0
BLOCK_DROP_DB = 15.0
ACTIVE_RANGE_DB = 30.0  # blocks whose band below the edge is this far under the loudest one are not judged
MIN_AGREEMENT = 0.9
MIN_ACTIVE_BLOCKS = 3
SHORT_SECONDS = 3.0
UNMISTAKABLE_DB = 60.0
FULL_BAND_DB = 60.0
TOP_BAND = (0.85, 0.95)  # where "the top of the band" is measured, in multiples of Nyquist
FALL_DB = 20.0  # "the spectrum falls from F": the last frequency within this of the peak
PLACE_DB = 7.0  # under the music's own wobble; near a steep filter's 6 dB point
PLACE_SMOOTH = 0.015  # the level at a bin is the median over +-1.5% of its frequency
REFERENCE_BAND = (0.75, 0.95)  # the level just below a bin, in multiples of it
LOCAL_FLOOR_DB = 10.0
PLACE_RANGE = (0.95, 1.35)  # where the edge is placed, in multiples of the located cliff
FIT_RANGE = (0.7, 1.6)  # bins fitted around a placed edge, in multiples of it
FIT_CENTRES = (0.85, 1.3)  # where the fitted low-pass may cut, in multiples of it
FIT_REFERENCE = (0.8, 0.95)  # the band whose median level the fit's floor hangs from
FIT_FLOOR_DB = 40.0  # the fit sees levels floored this far under that band: stop bands end in noise
FIT_SHAPES = tuple((order, passes) for order in (4, 6, 8, 12, 16, 24, 32, 48, 64, 96) for passes in (1, 2))
WALL_STEEPNESS = 64  # total order (order x passes) from which a low-pass is a resampler's or codec's wall
FIT_MAX_SHIFT = 0.12  # the fit refines the placed edge; one further away fitted something else
LINE_DB = (20.0, 70.0)  # the stretch of a gentle filter's stop band that is fitted, in dB under its pass band
LINE_OVER_FLOOR_DB = 10.0  # and at least this far over the noise floor the stop band ends in
LINE_RANGE = (0.95, 1.6)  # where that stretch is looked for, in multiples of the placed edge
LINE_MIN_BINS = 5  # a shorter stretch is a wall's, or the music's
LINE_MAX_DROP = 0.15  # a corner further under the placed edge followed the music's own fall, not the filter's


@dataclass(frozen=True)
class BandEdge:
    """What the detector concluded about one signal.

    status: "edge" (a filter's or codec's edge at `edge_hz`), "full_band" (nothing is missing) or "uncertain"
    (no trustworthy answer: the caller must not restore on it). `confidence` is in [0, 1]; `message` says in
    one line what was seen, for the user. `spectrum_hz` and `spectrum_db` are the long-term average spectrum
    that it was judged on (channels pooled by power), what a picture of the edge shows beside it.
    """
    status: str
    edge_hz: float | None
    confidence: float
    message: str
    spectrum_hz: np.ndarray | None = field(default=None, compare=False, repr=False)
    spectrum_db: np.ndarray | None = field(default=None, compare=False, repr=False)


def block_powers(audio, n_fft=ANALYSIS_N_FFT, skip_samples=()):
    """Power spectra of consecutive blocks of STFT frames: (blocks, n_fft // 2 + 1), every channel's blocks
    stacked, and the number of frames in each block. Frames that overlap a [start, end) sample range of
    `skip_samples` are left out (gaps: the clicks at their borders reach Nyquist), unless that leaves none."""
    audio = channel_rows(audio, "band edge", np.float64)
    if audio.shape[-1] < n_fft:
        audio = np.pad(audio, ((0, 0), (0, n_fft - audio.shape[-1])))
    hop = n_fft // 2
    all_starts = hop * np.arange(1 + (audio.shape[-1] - n_fft) // hop)
    kept = np.ones(len(all_starts), dtype=bool)
    for start, end in skip_samples:
        kept &= (all_starts + n_fft <= start) | (all_starts >= end)
    all_starts = all_starts[kept] if kept.any() else all_starts
    n_frames = len(all_starts)
    per_block = max(BLOCK_FRAMES, -(-n_frames // MAX_BLOCKS))
    window = np.hanning(n_fft + 1)[:-1]
    blocks, counts = [], []
    for channel in audio:
        for first in range(0, n_frames, per_block):
            starts = all_starts[first:first + per_block]
            frames = channel[starts[:, None] + np.arange(n_fft)[None, :]] * window
            blocks.append((np.abs(np.fft.rfft(frames, axis=-1)) ** 2).mean(axis=0))
            counts.append(len(starts))
    return np.array(blocks), np.array(counts)


def long_term_power(blocks, counts):
    """Average power spectrum over the blocks, weighted by their frames; in each bin the loudest OUTLIER_SHARE
    of the blocks is left out, so a click or two in an hour of music does not fill a codec's empty stop band."""
    weights = np.broadcast_to(counts[:, None].astype(np.float64), blocks.shape)
    n_out = int(OUTLIER_SHARE * len(blocks))
    if n_out:
        threshold = np.partition(blocks, len(blocks) - n_out - 1, axis=0)[len(blocks) - n_out - 1]
        weights = weights * (blocks <= threshold)
    return (weights * blocks).sum(axis=0) / weights.sum(axis=0)


def detect_band_edge(audio, sr=SAMPLE_RATE, source_sr=None, skip=()):
    """Band edge of (channels, samples) or (samples,) audio at `sr`; `source_sr` is the file's own rate; the
    (start_s, end_s) stretches of `skip` (gaps to be regenerated) are not looked at."""
    skip_samples = [(int(a * sr), int(np.ceil(b * sr))) for a, b in skip]
    blocks, counts = block_powers(audio, skip_samples=skip_samples)
    power = long_term_power(blocks, counts)
    power_db = _db(power, power.max())
    found = _conclude(power, power_db, blocks, sr, source_sr, _seconds_looked_at(np.shape(audio)[-1], sr, skip_samples))
    return replace(found, spectrum_hz=np.arange(len(power)) * sr / ANALYSIS_N_FFT, spectrum_db=power_db)


def _db(power, peak):
    """Levels in dB, floored 200 dB under `peak` so that silent bins stay finite."""
    return 10.0 * np.log10(power + max(peak, 1e-30) * 1e-20)


def _conclude(power, power_db, blocks, sr, source_sr, seconds):
    """The BandEdge of a long-term spectrum (power and its dB) and its blocks, `seconds` of audio long."""
    if power.max() <= 0:
        return BandEdge("uncertain", None, 0.0, "the audio is silent")
    bin_hz = sr / ANALYSIS_N_FFT
    nyquist = sr / 2 if source_sr is None else min(sr, source_sr) / 2
    top = min(int(nyquist / bin_hz), len(power) - 1)
    smooth = np.maximum(uniform_filter1d(power, size=max(1, int(round(SMOOTH_HZ / bin_hz))), mode="nearest"), 0)
    level = _db(smooth, power.max())[:top + 1]
    cumulative = _cumulative(power)
    lower_rate = nyquist < FULL_BAND_FRACTION * sr / 2
    rejected = None
    highest = FULL_BAND_FRACTION * nyquist
    for coarse in _cliffs(cumulative, level, bin_hz, top):
        edge = _edge_in_place(level, coarse)
        edge_hz = edge * bin_hz
        evidence = _evidence(cumulative, level, blocks, edge, top)
        at_floor = evidence.deep_db >= FLOOR_DEEP_DB and evidence.floor_spread_db <= FLOOR_SPREAD_DB
        deep_enough = ((evidence.deep_db >= DEEP_DB or at_floor)
                       and (edge_hz >= LOW_EDGE_HZ or evidence.far_db >= LOW_EDGE_DEEP_DB))
        if evidence.steep_db < STEEP_DB or not deep_enough or edge_hz >= highest:
            continue  # the cliff was an artefact of where it was located
        placed = _placed_edge(power_db, edge, top)
        if placed is None:
            rejected = rejected or BandEdge(
                "uncertain", None, 0.0, f"no clear band edge found; {_drop(evidence, edge_hz)}, but shaped like "
                "neither a codec's wall nor a filter's slope (the music's own fall?)")
            continue
        verdict = _judge(evidence, placed[0] * bin_hz, placed[1], seconds)
        if verdict.status == "edge":
            return verdict
        rejected = rejected or verdict
    if lower_rate:
        return BandEdge("edge", nyquist, 1.0, f"the file's own rate is {2 * nyquist:.0f} Hz: nothing above its "
                                              f"Nyquist frequency, {nyquist:.0f} Hz")
    if rejected is not None:
        return rejected
    return _without_edge(cumulative, level, bin_hz, top)


def _seconds_looked_at(n_samples, sr, skip_samples):
    """Seconds of audio outside the skipped [start, end) sample ranges; all of it when they cover it all (block_powers
    then looks at all of it)."""
    skipped, reached = 0, 0
    for start, end in sorted(skip_samples):
        start, end = max(start, reached), min(end, n_samples)
        skipped += max(end - start, 0)
        reached = max(reached, end)
    left = n_samples - skipped
    return (left if left > 0 else n_samples) / sr


def _cumulative(power):
    """Sums of power from each bin to the top: differences of them give band sums that stay exact far down in
    a stop band (sums from the bottom would lose them to rounding against the loud bins below)."""
    return np.concatenate([np.cumsum(power[..., ::-1], axis=-1)[..., ::-1], np.zeros(power.shape[:-1] + (1,))],
                          axis=-1)


def _band_db(cumulative, low, high):
    """dB of the mean power over bins [low, high) (arrays or numbers); -inf where it is empty."""
    low, high = np.asarray(low, dtype=int), np.maximum(np.asarray(high, dtype=int), np.asarray(low, dtype=int) + 1)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(np.maximum(cumulative[..., low] - cumulative[..., high], 0) / (high - low))


def _deep_start(edge, top, factor=DEEP_FROM):
    return int(min(factor * edge, edge + (top - edge) / 2))


def _stop_band(edge, top):
    """Bins [low, high) right above an edge bin, squeezed below `top` for edges near Nyquist."""
    low = int(min(STOP_BAND[0] * edge, edge + (top - edge) / 2))
    return low, int(max(min(STOP_BAND[1] * edge, top), low + 2))


def _cliffs(cumulative, level, bin_hz, top):
    """Bins where a steep, deep drop starts on the average spectrum: the first bin of each run of bins deep to
    DEEP_DB and of each run deep to FLOOR_DEEP_DB, lowest first."""
    k = np.arange(int(np.ceil(MIN_EDGE_HZ / bin_hz)), int(FULL_BAND_FRACTION * top))
    if len(k) == 0:
        return []
    below = _band_db(cumulative, BELOW_BAND[0] * k, BELOW_BAND[1] * k)
    stops = np.array([_stop_band(b, top) for b in k])
    suffix_max = np.maximum.accumulate(level[::-1])[::-1]
    steep = below - _band_db(cumulative, stops[:, 0], stops[:, 1]) >= STEEP_DB
    depth = below - suffix_max[[_deep_start(b, top) for b in k]]
    starts = set()
    for deep in (depth >= DEEP_DB, depth >= FLOOR_DEEP_DB):  # a run of floor depth may hold a deep one higher up
        hit = steep & deep
        starts.update(np.flatnonzero(hit & ~np.concatenate([[False], hit[:-1]])))
    return [int(k[i]) for i in sorted(starts)]


def _edge_in_place(level, coarse):
    """Last bin near `coarse` whose level (median over +-PLACE_SMOOTH) is within PLACE_DB of the median level
    just under it ([0.75, 0.95] x the bin). Medians in dB ignore the music's own peaks and dips, and a local
    reference ignores its slope; bins whose reference already sits LOCAL_FLOOR_DB under the one of `coarse`
    lie past the edge."""
    floor = _median_level(level, coarse, *REFERENCE_BAND) - LOCAL_FLOOR_DB
    candidates = range(int(PLACE_RANGE[0] * coarse), min(int(np.ceil(PLACE_RANGE[1] * coarse)), len(level) - 1) + 1)
    kept = [b for b in candidates if (ref := _median_level(level, b, *REFERENCE_BAND)) >= floor
            and _median_level(level, b, 1 - PLACE_SMOOTH, 1 + PLACE_SMOOTH) >= ref - PLACE_DB]
    return kept[-1] if kept else coarse


def _median_level(level, b, low, high):
    """Median of the levels in dB over bins [low, high] x b (at least one bin)."""
    return np.median(level[int(low * b):max(int(high * b), int(low * b) + 1) + 1])


def _placed_edge(power_db, edge, top):
    """(bin, kind) of the edge located at `edge` by a level crossing, placed where the fall is a filter's: by the
    fitted response of a wall, else by the line of a gentle filter's stop band; None when it is neither, for a
    fall of another shape is the music's own (a passage with nothing but a bass line), however steep and deep."""
    for place, kind in ((_fitted_edge, "a wall, as a resampler or codec leaves"),
                        (_stop_band_corner, "a filter's slope")):
        placed = place(power_db, edge, top)
        if placed is not None:
            return placed, kind
    return None


def _fitted_edge(power_db, edge, top):
    """Bin of the 6 dB point of the low-pass that best fits the spectrum around `edge`, when that low-pass is a
    wall (a resampler, a codec, a brick-wall filter); otherwise None.

    The fit: level = a + s log2(f) (the music's own trend, from the pass band) + the response in dB of a Butterworth
    low-pass of some order run once or twice, floored FIT_FLOOR_DB down, in mean absolute dB over FIT_RANGE x edge;
    every cut frequency in FIT_CENTRES and every shape of FIT_SHAPES is tried. Hundreds of bins vote, so the music's
    peaks and dips near a steep wall move the answer less than they move a single level crossing
    (docs/results/band-edge-accuracy-history.md); on gentler slopes the fitted shape is less sure,
    and the answer is None, as it is when the fit lands more than FIT_MAX_SHIFT away from the crossing.
    """
    low, high = int(FIT_RANGE[0] * edge), min(int(FIT_RANGE[1] * edge), top)
    bins = np.arange(low, high + 1)
    floor = np.median(power_db[int(FIT_REFERENCE[0] * edge):int(FIT_REFERENCE[1] * edge) + 1]) - FIT_FLOOR_DB
    y = np.maximum(power_db[low:high + 1], floor)
    x = np.log2(bins / edge)
    centres = np.arange(int(FIT_CENTRES[0] * edge), int(FIT_CENTRES[1] * edge) + 1)
    ratio = bins[None, :] / centres[:, None]
    best_error, best = np.inf, None
    for order, passes in FIT_SHAPES:
        shape = -10.0 * passes * np.log10(1.0 + ratio ** (2 * order))
        weight = shape > -1.0  # the pass band sets the music's trend
        count, sx, sxx = weight.sum(1), (weight * x).sum(1), (weight * x * x).sum(1)
        rest = y - shape
        sy, sxy = (weight * rest).sum(1), (weight * x * rest).sum(1)
        det = count * sxx - sx ** 2
        usable = (count >= 5) & (det > 0)
        det = np.where(usable, det, 1.0)
        slope = (count * sxy - sx * sy) / det
        offset = (sy - slope * sx) / np.maximum(count, 1)
        model = np.maximum(offset[:, None] + slope[:, None] * x[None, :] + shape, floor)
        error = np.where(usable, np.abs(y - model).mean(1), np.inf)
        i = int(np.argmin(error))
        if error[i] < best_error:
            best_error, best = error[i], (centres[i], order, passes)
    if best is None or best[1] * best[2] < WALL_STEEPNESS:
        return None
    centre, order, passes = best
    fitted = centre * (10 ** (0.6 / passes) - 1) ** (1 / (2 * order))
    return fitted if abs(fitted / edge - 1) <= FIT_MAX_SHIFT else None


def _stop_band_corner(power_db, edge, top):
    """Bin of the corner of a gentle low-pass (a Butterworth of moderate order, run once or twice) near `edge`:
    where the straight line that its stop band follows meets the level of its pass band; None without such a line.

    A digital Butterworth of total order K falls 20 K dB per decade of the prewarped frequency tan(pi f / sr) in its
    stop band, on a line that meets the pass band's level at the filter's corner (its 6 dB point when run twice, its
    3 dB point, a few percent under the 6 dB one, when run once). The line is fitted to the stretch LINE_DB under
    the pass band (the median level over REFERENCE_BAND x edge), ending LINE_OVER_FLOOR_DB over the noise floor:
    dozens to hundreds of bins vote, where the level falls about twice as fast as at the 6 dB point, so the music's
    peaks and dips near the cut move the answer less than they move a level crossing
    (docs/results/band-edge-accuracy-history.md).
    """
    y = power_db[:top + 1]
    pass_db = _median_level(y, edge, *REFERENCE_BAND)
    floor_db = np.median(y[_deep_start(edge, top):])
    bins = np.arange(int(LINE_RANGE[0] * edge), min(int(LINE_RANGE[1] * edge), top) + 1)
    local = np.array([_median_level(y, b, 1 - PLACE_SMOOTH, 1 + PLACE_SMOOTH) for b in bins])
    entered = np.flatnonzero(local < pass_db - LINE_DB[0])
    if not len(entered):
        return None
    start = entered[0]
    left = np.flatnonzero(local[start:] < max(pass_db - LINE_DB[1], floor_db + LINE_OVER_FLOOR_DB))
    stop = start + left[0] if len(left) else len(bins)
    if stop - start < LINE_MIN_BINS:
        return None
    fitted = bins[start:stop]
    slope, offset = np.polyfit(np.log10(np.tan(np.pi * fitted / ANALYSIS_N_FFT)), y[fitted], 1)
    if slope >= 0:
        return None
    corner = np.arctan(10 ** ((pass_db - offset) / slope)) * ANALYSIS_N_FFT / np.pi
    return corner if corner >= (1 - LINE_MAX_DROP) * edge else None


@dataclass(frozen=True)
class _Evidence:
    steep_db: float  # band below the edge over the band right above it, on the average spectrum
    deep_db: float  # band below the edge over the loudest level anywhere above it
    far_db: float  # the same from LOW_EDGE_DEEP_FROM x edge up
    floor_spread_db: float  # how much the level from the stop band up moves across the active blocks (5-95%)
    active_blocks: int
    agreement: float  # share of the active blocks that show the drop


def _evidence(cumulative, level, blocks, edge, top):
    """How steep, deep and consistent the drop at bin `edge` is."""
    below_band = (int(BELOW_BAND[0] * edge), int(BELOW_BAND[1] * edge))
    stop_band = _stop_band(edge, top)
    below = _band_db(cumulative, *below_band)
    block_cumulative = _cumulative(blocks)
    block_below = _band_db(block_cumulative, *below_band)
    block_above = _band_db(block_cumulative, *stop_band)
    active = block_below >= block_below.max() - ACTIVE_RANGE_DB
    with np.errstate(invalid="ignore"):  # silent blocks: -inf - -inf; they are not active anyway
        agree = block_below - block_above >= BLOCK_DROP_DB
    deep = below - level[_deep_start(edge, top):].max()
    far = below - level[_deep_start(edge, top, LOW_EDGE_DEEP_FROM):].max()
    block_upper = _band_db(block_cumulative, stop_band[0], top + 1)[active]  # from the stop band to the top
    spread = np.ptp(np.percentile(block_upper, [5, 95])) if np.isfinite(block_upper).all() else np.inf
    return _Evidence(float(below - _band_db(cumulative, *stop_band)), float(deep), float(far), float(spread),
                     int(active.sum()), float((agree & active).sum() / max(active.sum(), 1)))


def _drop(evidence, edge_hz):
    return f"a drop of {evidence.deep_db:.0f} dB at {edge_hz:.0f} Hz"


def _judge(evidence, edge_hz, kind, seconds):
    """BandEdge for a steep, deep cliff of `kind`: "edge" when it is consistent and long enough, else "uncertain"."""
    seen = _drop(evidence, edge_hz)
    confidence = round(evidence.agreement * min(1.0, evidence.deep_db / UNMISTAKABLE_DB), 2)
    if evidence.active_blocks < MIN_ACTIVE_BLOCKS or evidence.agreement < MIN_AGREEMENT:
        return BandEdge("uncertain", None, confidence,
                        f"no clear band edge found; {seen} on average, but only in {evidence.agreement:.0%} "
                        f"of {evidence.active_blocks} stretches of the file")
    if seconds < SHORT_SECONDS and (evidence.deep_db < UNMISTAKABLE_DB or evidence.agreement < 1):
        return BandEdge("uncertain", None, round(confidence * seconds / SHORT_SECONDS, 2),
                        f"no clear band edge found; {seen}, but {seconds:.1f} s of audio is too little to be sure")
    return BandEdge("edge", edge_hz, confidence,
                    f"band edge at {edge_hz:.0f} Hz ({kind}): the level drops {evidence.deep_db:.0f} dB and stays "
                    f"down, in {evidence.agreement:.0%} of {evidence.active_blocks} stretches of the file")


def _without_edge(cumulative, level, bin_hz, top):
    """"full_band" when the top of the band carries sound, else "uncertain" (the spectrum fades gradually)."""
    first = int(np.ceil(MIN_EDGE_HZ / 10 / bin_hz))  # above the DC and rumble bins
    peak = level[first:top + 1].max()
    fall = float(peak - _band_db(cumulative, TOP_BAND[0] * top, TOP_BAND[1] * top))
    if fall <= FULL_BAND_DB:
        confidence = round(min(1.0, (FULL_BAND_DB - fall) / (FULL_BAND_DB / 2)), 2)
        return BandEdge("full_band", None, confidence, f"no band edge: the top of the band is {fall:.0f} dB under "
                                                       "the spectrum's peak and carries sound")
    loud = np.flatnonzero(level[first:top + 1] >= peak - FALL_DB)
    falls_from = (first + loud[-1]) * bin_hz
    return BandEdge("uncertain", None, 0.0,
                    f"no clear band edge found; the spectrum falls gradually from {falls_from / 1000:.1f} kHz, "
                    f"{fall:.0f} dB down at {top * bin_hz / 1000:.1f} kHz")
