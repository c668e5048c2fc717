import numpy as np
import pytest
import scipy.signal
import torch

from models.representation import (ISTFT, STFT, NormalizePhase, PowerCompress, Representation,
                                   num_frames)

SR = 44100


def numpy_stft(wave, n_fft=2048, hop=512):
    """Centred, reflect-padded STFT with a periodic Hann window, straight from the definition."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    padded = np.pad(wave.astype(np.float64), n_fft // 2, mode="reflect")
    frames = [padded[i * hop:i * hop + n_fft] * window for i in range(1 + len(wave) // hop)]
    return np.fft.rfft(np.stack(frames, axis=1), axis=0)  # [bins, frames]


def dc_free(audio):
    """High-passed at 100 Hz with faded ends: nothing for the dropped DC bin to carry."""
    sos = scipy.signal.butter(4, 100, "highpass", fs=SR, output="sos")
    out = scipy.signal.sosfilt(sos, audio.astype(np.float64))
    ramp = np.sin(np.linspace(0, np.pi / 2, 1024)) ** 2
    out[:1024] *= ramp
    out[-1024:] *= ramp[::-1]
    return torch.from_numpy(out.astype(np.float32))


def test_round_trip_music(music):
    rep = Representation()
    wave = dc_free(music(3.0))
    image = rep.encode(wave)
    assert image.shape == (3, 1024, 1 + len(wave) // 512)
    assert image.dtype == torch.float32
    back = rep.decode(image, length=len(wave))
    assert back.shape == wave.shape
    assert (back - wave).abs().max() < 1e-4 * wave.abs().max()


def test_round_trip_loses_only_the_dc_bin(music):
    # Raw music has DC-bin content (edges, onsets); decoding must equal the input minus that bin alone.
    wave = torch.from_numpy(music(3.0))
    back = Representation().decode(Representation().encode(wave), length=len(wave))
    window = torch.hann_window(2048, dtype=torch.float64)
    spec = torch.stft(wave.double(), 2048, 512, window=window, return_complex=True)
    dc_only = torch.zeros_like(spec)
    dc_only[0] = spec[0]
    dc_part = torch.istft(dc_only, 2048, 512, window=window, length=len(wave)).float()
    assert (back - (wave - dc_part)).abs().max() < 1e-5 * wave.abs().max()


def test_keeping_the_dc_bin_gives_the_input_back(music):
    wave = torch.from_numpy(music(3.0))
    rep = Representation()
    image, dc = rep.encode_keeping_dc(wave)
    assert torch.equal(image, rep.encode(wave)) and dc.shape == (image.shape[-1],) and dc.is_complex()
    spec = torch.stft(wave, 2048, 512, window=torch.hann_window(2048), return_complex=True)
    assert torch.allclose(dc, spec[0], atol=1e-4)
    back = rep.decode(image, length=len(wave), dc=dc)
    assert (back - wave).abs().max() < 1e-5 * wave.abs().max()
    with pytest.raises(ValueError, match="starts with the STFT"):
        Representation(forward_transforms=[PowerCompress(0.25)]).encode_keeping_dc(wave)
    with pytest.raises(ValueError, match="ends with the ISTFT"):
        Representation(inverse_transforms=[PowerCompress(4.0)]).decode(image, dc=dc)


@pytest.mark.parametrize("n_samples", [130560, 130559, 1025, 44100])
def test_frame_count(n_samples):
    assert num_frames(n_samples) == 1 + n_samples // 512
    image = Representation().encode(torch.randn(n_samples))
    assert image.shape == (3, 1024, num_frames(n_samples))
    assert num_frames(130560) == 256


def test_pure_tone_against_numpy():
    k = 100  # a bin-centred tone, 100 * 44100 / 2048 Hz
    n = 44100
    phase = 0.7
    tone = 0.5 * np.cos(2 * np.pi * k * SR / 2048 * np.arange(n) / SR + phase)
    image = Representation().encode(torch.from_numpy(tone.astype(np.float32))).double().numpy()
    ref = numpy_stft(tone.astype(np.float32))
    frame = 40
    assert np.argmax(image[0, :, frame]) == k - 1  # DC dropped: bin k is row k - 1
    # Compare magnitudes uncompressed: the fourth root would blow up float32 noise in empty bins.
    np.testing.assert_allclose(image[0] ** 4, np.abs(ref[1:]), atol=1e-6 * np.abs(ref).max())
    angle = np.angle(ref[k, frame])
    assert image[1, k - 1, frame] == pytest.approx(np.cos(angle), abs=1e-4)
    assert image[2, k - 1, frame] == pytest.approx(np.sin(angle), abs=1e-4)
    # Peak magnitude of a Hann-windowed bin-centred cosine: amplitude * n_fft / 4.
    assert image[0, k - 1, frame] == pytest.approx((0.5 * 2048 / 4) ** 0.25, rel=1e-4)


def test_power_compression_is_fourth_root():
    values = torch.logspace(-3, 2, 50, dtype=torch.float64)
    image = torch.stack([values, torch.ones_like(values), -torch.ones_like(values)]).reshape(3, 50, 1)
    out = PowerCompress(0.25)(image)
    np.testing.assert_allclose(out[0, :, 0].numpy(), values.numpy() ** 0.25, rtol=1e-6)
    assert torch.equal(out[1:], image[1:])  # phase channels untouched
    negative = PowerCompress(0.25)(-image)
    np.testing.assert_allclose(negative[0, :, 0].numpy(), -(values.numpy() ** 0.25), rtol=1e-6)
    np.testing.assert_allclose(PowerCompress(4.0)(out)[0].numpy(), image[0].numpy(), rtol=1e-5)


def test_phase_normalization_matches_svd_rotation():
    rng = np.random.default_rng(0)
    pairs = rng.normal(size=(200, 2)) * rng.uniform(0.01, 3, size=(200, 1))
    expected = []
    for c, s in pairs:
        u, _, vt = np.linalg.svd(np.array([[c, -s], [s, c]]))
        rotation = u @ vt
        expected.append((rotation[0, 0], rotation[1, 0]))
    expected = np.array(expected)
    image = np.concatenate([np.ones((1, 200)), pairs.T]).reshape(3, 200, 1)
    out = NormalizePhase()(torch.from_numpy(image))[:, :, 0].numpy()
    np.testing.assert_allclose(out[1:].T, expected, atol=1e-12)
    np.testing.assert_array_equal(out[0], 1.0)
    zero = NormalizePhase()(torch.zeros(3, 1, 1))
    assert zero[:, 0, 0].tolist() == [0.0, 1.0, 0.0]


def test_batch_dims_and_buffers(music):
    rep = Representation()
    waves = torch.stack([torch.from_numpy(music(0.5, seed=i)) for i in range(4)]).reshape(2, 2, -1)
    images = rep.encode(waves)
    assert images.shape == (2, 2, 3, 1024, num_frames(22050))
    torch.testing.assert_close(images[1, 0], rep.encode(waves[1, 0]), atol=1e-5, rtol=1e-5)
    back = rep.decode(images, length=22050)
    assert back.shape == waves.shape
    torch.testing.assert_close(back[0, 1], rep.decode(images[0, 1], length=22050), atol=1e-6, rtol=1e-5)
    assert len(rep.state_dict()) == 0  # windows are non-persistent buffers
    assert sum(1 for _ in rep.buffers()) == 2


def test_float32_under_autocast(music):
    wave = torch.from_numpy(music(1.0))
    rep = Representation()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        image = rep.encode(wave.bfloat16())
        back = rep.decode(image.bfloat16())
    assert image.dtype == torch.float32 and back.dtype == torch.float32
    torch.testing.assert_close(image, rep.encode(wave.bfloat16().float()))


def test_chain_from_config():
    jsonargparse = pytest.importorskip("jsonargparse")
    parser = jsonargparse.ArgumentParser()
    parser.add_argument("--rep", type=Representation)
    config = parser.parse_string("""
rep:
  class_path: models.representation.Representation
  init_args:
    forward_transforms:
      - class_path: models.representation.STFT
      - class_path: models.representation.MagCosSin
      - class_path: models.representation.DropDC
      - class_path: models.representation.PowerCompress
        init_args: {power: 0.5}
""")
    rep = parser.instantiate(config).rep
    assert rep.forward_transforms[3].power == 0.5
    assert isinstance(rep.inverse_transforms[-1], ISTFT)
    assert isinstance(rep.forward_transforms[0], STFT)


def test_bad_input_errors():
    rep = Representation()
    with pytest.raises(ValueError, match="more than 1024 samples"):
        rep.encode(torch.zeros(1000))
    with pytest.raises(ValueError, match="floating-point"):
        rep.encode(torch.zeros(5000, dtype=torch.int16))
    with pytest.raises(ValueError, match=r"\[\.\.\., 3, bins, frames\]"):
        rep.decode(torch.zeros(2, 1024, 10))
    with pytest.raises(ValueError, match="1025"):
        rep.decode(torch.zeros(3, 1000, 10))
