"""Spectrogram pictures (PNG) of audio, stacked one panel per named signal."""
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from audiokit.constants import HOP_LENGTH, N_FFT, SAMPLE_RATE  # noqa: E402
from audiokit.files import write_atomically  # noqa: E402


def log_spectrogram(audio, n_fft=N_FFT, hop=HOP_LENGTH):
    """dB magnitude spectrogram (bins x frames) of mono audio, floored at -100 dB."""
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) < n_fft:
        audio = np.pad(audio, (0, n_fft - len(audio)))
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    n_frames = 1 + (len(audio) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    mag = np.abs(np.fft.rfft(audio[idx] * window, axis=1)).T
    return 20 * np.log10(np.maximum(mag, 1e-5))


def spectrogram_figure(signals, sr=SAMPLE_RATE, title=None, edge=None, same_scale=False):
    """Figure with one spectrogram panel per entry of `signals` (name -> mono audio).

    `edge` (an EdgeMark) adds a line at the band edge on the first panel and, beside the panels, the average
    spectrum the edge was read from, with the edge marked and `edge.title` above it. With `same_scale` every
    panel shares one colour scale, so that a before / after pair compares level for level.
    """
    n = len(signals)
    columns = 2 if edge is not None else 1
    fig = plt.figure(figsize=(10 + 4 * (columns - 1), 2.6 * n))
    grid = fig.add_gridspec(n, columns, width_ratios=[3, 1][:columns])
    axes = [fig.add_subplot(grid[row, 0]) for row in range(n)]
    specs = {name: log_spectrogram(audio) for name, audio in signals.items()}
    top = {name: max(spec.max(), -60) for name, spec in specs.items()}
    if same_scale:
        top = dict.fromkeys(top, max(top.values()))
    for ax, (name, audio) in zip(axes, signals.items()):
        duration = len(audio) / sr
        ax.imshow(specs[name], origin="lower", aspect="auto", cmap="magma", vmin=-100, vmax=top[name],
                  extent=(0, duration, 0, sr / 2000))
        ax.set_title(name)
        ax.set_ylabel("kHz")
    axes[-1].set_xlabel("seconds")
    if edge is not None:
        _mark_edge(axes[0], fig.add_subplot(grid[:, 1]), edge)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class EdgeMark:
    """What --plot shows of the band edge: where it is (None: nowhere), the average spectrum, a title."""
    edge_hz: float | None
    freqs_hz: np.ndarray
    level_db: np.ndarray
    title: str


def _mark_edge(spectrogram_ax, spectrum_ax, edge):
    level = edge.level_db - edge.level_db.max()
    spectrum_ax.plot(level, edge.freqs_hz / 1000, linewidth=0.8)
    spectrum_ax.set_xlim(max(level.min(), -140), 5)
    spectrum_ax.set_ylim(0, edge.freqs_hz[-1] / 1000)
    spectrum_ax.set_xlabel("dB (average spectrum)")
    spectrum_ax.set_ylabel("kHz")
    spectrum_ax.set_title(edge.title, fontsize=9)
    if edge.edge_hz is not None:
        for ax in (spectrogram_ax, spectrum_ax):
            ax.axhline(edge.edge_hz / 1000, color="cyan", linestyle="--", linewidth=1)


def save_spectrogram_png(path, signals, sr=SAMPLE_RATE, title=None, edge=None, same_scale=False):
    """Writes the spectrogram panels of `signals` (name -> mono audio) to `path` atomically."""
    _save(path, spectrogram_figure(signals, sr, title, edge, same_scale))


WAVEFORM_COLUMNS = 2000  # a long file is drawn as the min / max of this many stretches: as wide as any screen


def save_waveform_png(path, audio, sr=SAMPLE_RATE, spans=(), title=None):
    """Writes the waveform of mono audio to `path` atomically, with the (start_s, end_s) spans shaded (gaps)."""
    audio = np.asarray(audio, dtype=np.float32)
    per_column = max(1, -(-len(audio) // WAVEFORM_COLUMNS))
    padded = np.pad(audio, (0, -len(audio) % per_column)).reshape(-1, per_column)
    times = np.arange(len(padded)) * per_column / sr
    fig, ax = plt.subplots(figsize=(10, 2.2))
    ax.fill_between(times, padded.min(axis=1), padded.max(axis=1), linewidth=0.5)
    for start, end in spans:
        ax.axvspan(start, end, color="red", alpha=0.3, linewidth=0)
    ax.set_xlim(0, len(audio) / sr)
    ax.set_xlabel("seconds")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    _save(path, fig)


def _save(path, fig):
    try:
        write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=80, format="png"))
    finally:
        plt.close(fig)
