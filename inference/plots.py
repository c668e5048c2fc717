"""Spectrogram pictures (PNG) of audio, stacked one panel per named signal."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from datasets.constants import HOP_LENGTH, N_FFT, SAMPLE_RATE  # noqa: E402
from inference.io import write_atomically  # noqa: E402


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


def spectrogram_figure(signals, sr=SAMPLE_RATE, title=None):
    """Figure with one spectrogram panel per entry of `signals` (name -> mono audio)."""
    fig, axes = plt.subplots(len(signals), 1, figsize=(10, 2.6 * len(signals)), squeeze=False)
    for ax, (name, audio) in zip(axes[:, 0], signals.items()):
        spec = log_spectrogram(audio)
        duration = len(audio) / sr
        ax.imshow(spec, origin="lower", aspect="auto", cmap="magma", vmin=-100, vmax=max(spec.max(), -60),
                  extent=(0, duration, 0, sr / 2000))
        ax.set_title(name)
        ax.set_ylabel("kHz")
    axes[-1, 0].set_xlabel("seconds")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def save_spectrogram_png(path, signals, sr=SAMPLE_RATE, title=None):
    """Writes the spectrogram panels of `signals` (name -> mono audio) to `path` atomically."""
    fig = spectrogram_figure(signals, sr, title)
    try:
        write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=80, format="png"))
    finally:
        plt.close(fig)
