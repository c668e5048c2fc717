"""Waveform <-> factorized STFT image (docs/DESIGN.md, "Representation").

The image has three channels [m, c, s]: power-compressed magnitude, cos and sin of the phase, over
1024 bins (DC dropped) and 1 + N // 512 frames. Each step is a small nn.Module so that a Lightning
YAML config can list a chain by class_path; `Representation` holds the forward and inverse chains.
Every step works on any leading batch dimensions; channels sit at dim -3, bins at -2, frames at -1.
"""
from typing import Optional

import torch
from torch import nn

from audiokit.constants import HOP_LENGTH, N_FFT

WIN_LENGTH = N_FFT


def num_frames(n_samples):
    """Frames of a centred STFT of `n_samples` samples."""
    return 1 + n_samples // HOP_LENGTH


def _float32_region(device):
    """Context that keeps the enclosed ops in float32 even under autocast."""
    if torch.amp.is_autocast_available(device.type):
        return torch.autocast(device.type, enabled=False)
    return torch.autocast("cpu", enabled=False)


def _check_channels(image, where):
    if image.dim() < 3 or image.shape[-3] != 3:
        raise ValueError(f"{where}: expected an image [..., 3, bins, frames], got shape {tuple(image.shape)}")


class STFT(nn.Module):
    """wave [..., N] -> complex spectrogram [..., n_fft // 2 + 1, 1 + N // hop] (centred, reflect padded)."""

    def __init__(self, n_fft=N_FFT, hop_length=HOP_LENGTH, win_length=WIN_LENGTH):
        super().__init__()
        self.n_fft, self.hop_length, self.win_length = n_fft, hop_length, win_length
        # Non-persistent: follows .to(device) but never enters a state_dict (released checkpoints lack it).
        self.register_buffer("window", torch.hann_window(win_length), persistent=False)

    def forward(self, wave):
        if not torch.is_tensor(wave) or not wave.is_floating_point() or wave.dim() < 1:
            raise ValueError("STFT: expected a floating-point waveform tensor [..., samples]")
        n = wave.shape[-1]
        if n <= self.n_fft // 2:
            raise ValueError(f"STFT: waveform needs more than {self.n_fft // 2} samples for reflect padding, got {n}")
        flat = wave.reshape(-1, n).to(torch.float32)
        with _float32_region(wave.device):
            spec = torch.stft(flat, self.n_fft, self.hop_length, self.win_length,
                              window=self.window.to(torch.float32), center=True, pad_mode="reflect",
                              normalized=False, onesided=True, return_complex=True)
        return spec.reshape(*wave.shape[:-1], *spec.shape[-2:])


class MagCosSin(nn.Module):
    """complex [..., F, T] -> [..., 3, F, T] with channels [|X|, cos(angle X), sin(angle X)]."""

    def forward(self, spec):
        if not spec.is_complex():
            raise ValueError("MagCosSin: expected a complex spectrogram")
        theta = torch.atan2(spec.imag, spec.real)
        return torch.stack([spec.abs(), torch.cos(theta), torch.sin(theta)], dim=-3)


class DropDC(nn.Module):
    """Removes bin 0: [..., 3, F, T] -> [..., 3, F - 1, T]."""

    def forward(self, image):
        return image[..., 1:, :]


class PrependDC(nn.Module):
    """Adds an all-zero bin 0: [..., 3, F, T] -> [..., 3, F + 1, T]."""

    def forward(self, image):
        zero_row = image.new_zeros(*image.shape[:-2], 1, image.shape[-1])
        return torch.cat([zero_row, image], dim=-2)


class PowerCompress(nn.Module):
    """v -> v |v|^p / (|v| + eps) on the magnitude channel only (p = 0.25 forward, 4 inverse)."""

    def __init__(self, power=0.25, eps=1e-9):
        super().__init__()
        self.power, self.eps = power, eps

    def extra_repr(self):
        return f"power={self.power}, eps={self.eps}"

    def forward(self, image):
        _check_channels(image, "PowerCompress")
        mag = image[..., :1, :, :]
        abs_mag = mag.abs()
        mag = mag * abs_mag.pow(self.power) / (abs_mag + self.eps)
        return torch.cat([mag, image[..., 1:, :, :]], dim=-3)


class NormalizePhase(nn.Module):
    """Projects each (c, s) onto the unit circle: (c, s) / sqrt(c^2 + s^2), and (0, 0) -> (1, 0).

    This is the nearest rotation to [[c, -s], [s, c]], i.e. what the authors' per-pixel SVD computes.
    """

    def forward(self, image):
        _check_channels(image, "NormalizePhase")
        c, s = image[..., 1:2, :, :], image[..., 2:3, :, :]
        radius = torch.hypot(c, s)
        nonzero = radius > 0
        c = torch.where(nonzero, c / radius, 1.0)
        s = torch.where(nonzero, s / radius, 0.0)
        return torch.cat([image[..., :1, :, :], c, s], dim=-3)


class ToComplex(nn.Module):
    """[..., 3, F, T] -> complex m (c + i s) of shape [..., F, T]."""

    def forward(self, image):
        _check_channels(image, "ToComplex")
        image = image.to(torch.float32)
        mag = image[..., 0, :, :]
        return torch.complex(mag * image[..., 1, :, :], mag * image[..., 2, :, :])


class ISTFT(nn.Module):
    """complex [..., n_fft // 2 + 1, T] -> wave [..., length] (default (T - 1) * hop)."""

    def __init__(self, n_fft=N_FFT, hop_length=HOP_LENGTH, win_length=WIN_LENGTH):
        super().__init__()
        self.n_fft, self.hop_length, self.win_length = n_fft, hop_length, win_length
        self.register_buffer("window", torch.hann_window(win_length), persistent=False)

    def forward(self, spec, length=None):
        bins = self.n_fft // 2 + 1
        if not spec.is_complex() or spec.dim() < 2 or spec.shape[-2] != bins:
            raise ValueError(f"ISTFT: expected a complex spectrogram [..., {bins}, frames], "
                             f"got {spec.dtype} {tuple(spec.shape)}")
        flat = spec.reshape(-1, *spec.shape[-2:])
        with _float32_region(spec.device):
            wave = torch.istft(flat, self.n_fft, self.hop_length, self.win_length,
                               window=self.window.to(torch.float32), center=True, normalized=False,
                               onesided=True, length=length)
        return wave.reshape(*spec.shape[:-2], wave.shape[-1])


class Representation(nn.Module):
    """Holds the forward (encode) and inverse (decode) chains; the defaults are those of the released model.

    The last inverse transform produces the waveform and receives decode's `length` when one is given.
    """

    def __init__(self, forward_transforms: Optional[list[nn.Module]] = None,
                 inverse_transforms: Optional[list[nn.Module]] = None):
        super().__init__()
        if forward_transforms is None:
            forward_transforms = [STFT(), MagCosSin(), DropDC(), PowerCompress(0.25)]
        if inverse_transforms is None:
            inverse_transforms = [PowerCompress(4.0), PrependDC(), NormalizePhase(), ToComplex(), ISTFT()]
        if len(inverse_transforms) == 0:
            raise ValueError("Representation: the inverse chain needs at least one transform")
        self.forward_transforms = nn.ModuleList(forward_transforms)
        self.inverse_transforms = nn.ModuleList(inverse_transforms)

    def encode(self, wave):
        """wave [..., N] -> image [..., 3, 1024, 1 + N // 512] (float32)."""
        x = wave
        for transform in self.forward_transforms:
            x = transform(x)
        return x

    def encode_keeping_dc(self, wave):
        """encode, and the complex DC bin [..., W] of the same STFT that the image drops (for decode's `dc`)."""
        stft, *to_image = self.forward_transforms
        if not isinstance(stft, STFT):
            raise ValueError("Representation: keeping the DC bin needs a forward chain that starts with the STFT")
        spectrum = stft(wave)
        x = spectrum
        for transform in to_image:
            x = transform(x)
        return x, spectrum[..., 0, :]

    def decode(self, image, length=None, dc=None):
        """image [..., 3, 1024, W] -> wave [..., length or (W - 1) * 512] (float32). dc: complex [..., W], a DC
        bin to synthesise with the image (the inverse chain's own is zero)."""
        _check_channels(image, "Representation.decode")
        x = image.to(torch.float32)
        *steps, synthesize = self.inverse_transforms
        for transform in steps:
            x = transform(x)
        if dc is not None:
            if not isinstance(synthesize, ISTFT):
                raise ValueError("Representation: a DC bin needs an inverse chain that ends with the ISTFT")
            x[..., 0, :] = dc
        return synthesize(x) if length is None else synthesize(x, length=length)

    def forward(self, wave):
        return self.encode(wave)
