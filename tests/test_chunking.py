"""Long-audio chunks (inference/chunking.py): plans, frame-exact encoding and seamless stitching."""
import numpy as np
import pytest
import torch

from inference.chunking import (FADE_SAMPLES, decode_frames, encode_frames, encode_frames_with_dc, fade_start,
                                known_frames, paste, plan_chunks)
from models.representation import Representation, num_frames


def test_plan_covers_the_file_with_fixed_overlaps():
    chunks = plan_chunks(1000, 300, 40)
    assert chunks == [(0, 300), (260, 560), (520, 820), (780, 1000)]
    assert known_frames(40) == 20 and fade_start(260, 40) == 512 * 270 - FADE_SAMPLES // 2
    assert plan_chunks(250, 300, 40) == [(0, 250)]
    with pytest.raises(ValueError, match="longer than the overlap"):
        plan_chunks(1000, 40, 40)
    with pytest.raises(ValueError, match="at least"):
        plan_chunks(1000, 300, 2)


@pytest.mark.parametrize("first,last", [(0, 50), (37, 90), (100, 130)])
def test_encoded_frames_equal_the_whole_file_image(music, first, last):
    audio = torch.from_numpy(np.stack([music(1.5), music(1.5, seed=1)]))  # 130 frames
    rep = Representation()
    whole = rep.encode(audio)
    assert whole.shape[-1] == num_frames(audio.shape[-1]) == 130
    torch.testing.assert_close(encode_frames(rep, audio, first, last), whole[..., first:last], rtol=0, atol=2e-6)


def test_paste_fades_with_weights_summing_to_one():
    out = np.full((1, 4000), 2.0, dtype=np.float32)
    paste(out, np.full((1, 3000), 2.0, dtype=np.float32), 1000, fade_from=1500)
    np.testing.assert_allclose(out, 2.0, rtol=1e-6)  # identical signals: no bump where they cross-fade
    out = np.zeros((1, 4000), dtype=np.float32)
    paste(out, np.ones((1, 3000), dtype=np.float32), 1000, fade_from=1500)
    ramp = out[0, 1500:1500 + FADE_SAMPLES]
    assert out[0, :1500].max() == 0 and np.all(out[0, 1500 + FADE_SAMPLES:] == 1)
    assert np.all(np.diff(ramp) > 0) and abs(ramp.mean() - 0.5) < 1e-6


def test_chunks_of_unchanged_images_give_back_the_audio(music):
    """Encode, decode and stitch chunk by chunk: the whole-file round trip, to float precision.

    (The round trip itself is not the identity: the representation drops the DC bin.)"""
    audio = music(3.0)
    rep = Representation()
    wave = torch.from_numpy(audio[None])
    chunks = plan_chunks(num_frames(len(audio)), 80, 24)
    out = np.zeros((1, len(audio)), dtype=np.float32)
    for k, (first, last) in enumerate(chunks):
        image = encode_frames(rep, wave, first, last)
        decoded = decode_frames(rep, image, first, len(audio)).numpy()
        paste(out, decoded, 512 * first, None if k == 0 else fade_start(first, 24))
    whole = rep.decode(rep.encode(wave), length=len(audio)).numpy()
    assert len(chunks) == 5
    assert np.abs(out - whole).max() < 2e-6


@pytest.mark.parametrize("first,last", [(0, 50), (37, 90), (100, 130)])
def test_the_dc_bin_brings_back_what_the_image_drops(music, first, last):
    """The STFT inverts exactly, so synthesising the image with its own DC bin gives the samples back;
    without it a DC offset is lost."""
    audio = music(1.5) + np.float32(0.05)
    wave = torch.from_numpy(audio[None])
    rep = Representation()
    image, dc = encode_frames_with_dc(rep, wave, first, last)
    torch.testing.assert_close(image, encode_frames(rep, wave, first, last), rtol=0, atol=1e-6)
    assert dc.shape == (1, last - first) and dc.is_complex()
    segment = audio[512 * first:512 * (last - 1)] if last < 130 else audio[512 * first:]
    assert np.abs(decode_frames(rep, image, first, len(audio), dc)[0].numpy() - segment).max() < 1e-6  # 1.8e-7
    assert np.abs(decode_frames(rep, image, first, len(audio))[0].numpy() - segment).max() > 0.03
