"""The restoration engine (inference/engine.py) end to end with tiny random UNets saved as checkpoints.

Windows of 32 frames (hop 16) keep the CPU cost low; the engine does not depend on the window size.
"""
import numpy as np
import pytest
import torch
import yaml

from helpers import TINY_NETWORK as NET
from helpers import seeded_unet
from corrupt.waveform import band_limit, silence_gaps
from inference.engine import CPU_WINDOW_BATCH, Restorer, window_batch_for
from inference.ensemble import Ensemble
from models.a2sb_module import A2SBModule
from models.unet_weights import save_released_layout, save_unet_safetensors

SR = 44100
SMALL = dict(window_frames=32, hop_frames=16)
WEIGHT_STD = 0.03  # every parameter random (the zero-initialised convs too): the experts differ and depend on t


@pytest.fixture(scope="module")
def experts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("experts")
    paths = [str(folder / f"expert{seed}.ckpt") for seed in (0, 1)]
    for seed, path in enumerate(paths):
        save_released_layout(seeded_unet(seed, std=WEIGHT_STD), path)
    return paths


@pytest.fixture(scope="module")
def restorer(experts):
    return Restorer(NET, experts, [0.5], **SMALL)


def ideal_band(audio, low=None, high=None):
    """What a restoration holds between low and high Hz (an ideal band-pass along the last axis, by FFT): the
    measuring filter, not a degradation (that is corrupt.waveform.band_limit)."""
    spectrum = np.fft.rfft(audio, axis=-1)
    freqs = np.fft.rfftfreq(audio.shape[-1], 1 / SR)
    spectrum[..., (freqs < (low or 0)) | (freqs > (high or SR))] = 0
    return np.fft.irfft(spectrum, audio.shape[-1], axis=-1)


def correlation(a, b):
    return float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))


def near_mono(music, seconds):
    left = music(seconds)
    right = 0.9 * left + 0.003 * np.random.default_rng(0).standard_normal(len(left)).astype(np.float32)
    return np.stack([left, right])


def test_bandwidth_extension_keeps_the_band_and_the_stereo_image(restorer, music):
    stereo = near_mono(music, 0.5)
    band_limited = band_limit(stereo, 4000)
    out = restorer.bandwidth_extension(band_limited, 4000, n_steps=2, progress=False)
    assert out.shape == stereo.shape and out.dtype == np.float32

    inner = slice(4096, -4096)  # a circular FFT filter rings at the file ends
    kept_error = np.abs(ideal_band(out - band_limited, high=3800)[:, inner]).max()
    assert kept_error < 1e-5  # measured 3.9e-6 (rms 1.8e-6): float32 precision
    new_band = ideal_band(out, low=4300)[:, inner]
    assert new_band.std() > 1e-3

    # Same noise for both channels: the regenerated band is as correlated as the input's channels.
    input_corr = correlation(*ideal_band(stereo, low=4300)[:, inner])
    output_corr = correlation(*new_band)
    assert input_corr > 0.99 and abs(output_corr - input_corr) < 0.02
    # Restoring each channel with its own noise would not be: the regenerated band decorrelates.
    apart = [restorer.bandwidth_extension(band_limited[c], 4000, n_steps=2, seed=c, progress=False) for c in (0, 1)]
    assert correlation(*ideal_band(np.stack(apart), low=4300)[:, inner]) < 0.5


def test_same_seed_gives_bit_identical_output(restorer, music):
    audio = band_limit(music(0.5, seed=3)[None], 6000)[0]
    first = restorer.bandwidth_extension(audio, 6000, n_steps=3, seed=7, progress=False)
    again = restorer.bandwidth_extension(audio, 6000, n_steps=3, seed=7, progress=False)
    other = restorer.bandwidth_extension(audio, 6000, n_steps=2, seed=8, progress=False)
    assert first.shape == audio.shape  # mono stays mono
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_callback_sees_each_sampler_update_and_changes_nothing(restorer, music):
    audio = band_limit(music(0.5, seed=3)[None], 6000)[0]
    steps = []
    out = restorer.bandwidth_extension(audio, 6000, n_steps=3, seed=7, progress=False,
                                       callback=lambda step: steps.append((step["i"], step["t"])))
    assert np.array_equal(out, restorer.bandwidth_extension(audio, 6000, n_steps=3, seed=7, progress=False))
    assert steps == [(0, 1.0), (1, 0.525)]  # one chunk, 3 time points: 2 updates


def test_inpainting_shortcut_and_full_mode(restorer, music):
    audio = music(1.5, seed=2)
    gap = (0.70, 0.76)
    damaged = audio.copy()
    damaged[int(gap[0] * SR):int(gap[1] * SR)] = 0.0
    calls = [0, 0]
    hooks = [net.register_forward_hook(lambda m, i, o, k=k: calls.__setitem__(k, calls[k] + 1))
             for k, net in enumerate(restorer.ensemble.experts)]
    try:
        shortcut = restorer.inpaint(damaged, [gap], n_steps=4, mode="shortcut", progress=False)
    finally:
        for hook in hooks:
            hook.remove()
    # Times 1 and 0.683 go to the expert above the 0.5 cut point, 0.367 to the one below (0.05 is the end).
    assert calls == [1, 2]
    full = restorer.inpaint(damaged, [gap], n_steps=2, mode="full", progress=False)
    auto = restorer.inpaint(damaged, [gap], n_steps=4, progress=False)
    assert np.array_equal(auto, shortcut)

    inside = slice(int(gap[0] * SR), int(gap[1] * SR))
    for out in (shortcut, full):
        assert out.shape == damaged.shape
        assert np.abs(out[inside]).std() > 1e-3  # the dropout is filled
        # Outside the reach of the regenerated frames (gap frames +- 2 hops, + 1 hop) the input comes back.
        reach = slice(inside.start - 5 * 1024, inside.stop + 5 * 1024)
        assert np.array_equal(np.delete(out, np.r_[reach]), np.delete(damaged, np.r_[reach]))
        joins = np.abs(np.diff(out[reach.start - 10:reach.stop + 10]))
        assert joins.max() < 0.5  # continuous: no jump larger than the music's own steps
    with pytest.raises(ValueError, match="mode='full'"):
        restorer.inpaint(damaged, [(0.2, 1.2)], mode="shortcut", progress=False)


@pytest.mark.parametrize("mode", ["shortcut", "full"])
def test_gaps_in_band_limited_music_stay_within_its_band(restorer, music, mode):
    """Around a codec-like 11 kHz edge (clear: the detector reports it) the gap is regenerated below the edge only;
    in full-band music the same gap is regenerated across the whole band."""
    full_band = music(6.0, seed=4)
    limited = band_limit(full_band[None], 11000)[0]
    gap = (3.0, 3.12)
    inside = slice(int(gap[0] * SR) + 1024, int(gap[1] * SR) - 1024)  # clear of the context's frames

    def high_to_low(audio):
        spectrum = np.abs(np.fft.rfft(audio[inside])) ** 2
        freqs = np.fft.rfftfreq(inside.stop - inside.start, 1 / SR)
        return spectrum[freqs > 12000].sum() / spectrum[(freqs > 500) & (freqs < 10000)].sum()

    outs = {}
    for name, audio in (("limited", limited), ("full", full_band)):
        damaged = audio.copy()
        damaged[int(gap[0] * SR):int(gap[1] * SR)] = 0.0
        outs[name] = restorer.inpaint(damaged, [gap], n_steps=3, mode=mode, progress=False)
        assert np.abs(outs[name][inside]).std() > 1e-3  # the gap is filled
    assert high_to_low(outs["limited"]) < 1e-4 * high_to_low(outs["full"])
    assert high_to_low(outs["full"]) > 1e-3  # the random model does put energy up there when allowed to


def test_many_gaps_in_band_limited_music_stay_within_its_band(restorer, music):
    """0.3 s gaps every 1.2 s (the benchmark's spacing) in music band-limited at 11 kHz: the clicks at the gaps'
    borders reach Nyquist, so the edge is looked for around the gaps, not across them, and every gap stays empty
    above it (looked for across them, the edge was "uncertain" and the gaps were regenerated up to Nyquist)."""
    limited = band_limit(music(6.0, seed=4)[None], 11000)[0]
    gaps = [(start, start + 0.3) for start in (0.7, 1.9, 3.1, 4.3, 5.5)]
    damaged = silence_gaps(limited[None], gaps)[0]
    out = restorer.inpaint(damaged, gaps, n_steps=3, mode="full", progress=False)
    for start, end in gaps:
        inside = out[int(start * SR) + 1024:int(end * SR) - 1024]
        spectrum = np.abs(np.fft.rfft(inside * np.hanning(len(inside)))) ** 2  # windowed: no leakage past the edge
        freqs = np.fft.rfftfreq(len(inside), 1 / SR)
        assert np.abs(inside).std() > 1e-3  # the gap is filled
        assert spectrum[freqs > 12000].sum() < 1e-4 * spectrum[(freqs > 500) & (freqs < 10000)].sum(), (start, end)


def test_stereo_gaps_in_one_shortcut_batch(restorer, music):
    stereo = near_mono(music, 1.5)
    gaps = [(0.30, 0.33), (1.10, 1.14)]
    damaged = stereo.copy()
    for start, end in gaps:
        damaged[:, int(start * SR):int(end * SR)] = 0.0
    out = restorer.inpaint(damaged, gaps, n_steps=2, mode="shortcut", progress=False)
    assert out.shape == stereo.shape
    for start, end in gaps:
        filled = out[:, int(start * SR):int(end * SR)]
        assert filled.std() > 1e-3 and correlation(*filled) > 0.9  # both channels, coherently
    keep = np.ones(stereo.shape[-1], dtype=bool)
    for start, end in gaps:
        keep[int(start * SR) - 5 * 1024:int(end * SR) + 5 * 1024] = False
    assert np.array_equal(out[:, keep], damaged[:, keep])


CHUNKS = [(0, 69), (43, 112), (86, 155), (129, 173)]  # 2 s in chunks of 0.8 s overlapping by 0.3 s
KNOWN = 13  # frames of each chunk taken from the previous one (half the 26-frame overlap)


def chunked_restorer(experts):
    return Restorer(NET, experts, [0.5], window_frames=32, hop_frames=32, chunk_seconds=0.8, overlap_seconds=0.3)


@pytest.mark.parametrize("mode", ["bandwidth", "shortcut", "full"])
def test_level_normalisation_restores_a_quiet_file_like_a_loud_one(restorer, experts, music, mode):
    audio = music(1.5)
    gap = (0.6, 0.8)
    audio[int(gap[0] * SR):int(gap[1] * SR)] = 0.0

    def run(engine, x):
        if mode == "bandwidth":
            return engine.bandwidth_extension(x, 4000, n_steps=3, progress=False)
        return engine.inpaint(x, [gap], n_steps=3, mode=mode, progress=False)

    loud = run(restorer, audio)
    quiet = run(restorer, np.float32(0.03) * audio)
    # both are sampled at the same level, so the quiet result is the loud one scaled (float32 rounding apart,
    # which the sampler carries along: measured up to 8e-5 of the peak)
    assert np.abs(quiet / np.float32(0.03) - loud).max() < 5e-4 * np.abs(loud).max()
    kept = np.float32(0.03) * audio
    if mode == "bandwidth":
        assert np.abs(ideal_band(quiet - kept, high=3500)[2048:-2048]).max() < 1e-5 * np.abs(kept).max()
    else:
        reach = np.r_[int(gap[0] * SR) - 5 * 1024:int(gap[1] * SR) + 5 * 1024]
        assert np.array_equal(np.delete(quiet, reach), np.delete(kept, reach))  # the input itself
    # without it the quiet file is sampled against the same noise level: a different restoration
    raw = Restorer(NET, experts, [0.5], normalize_level=False, **SMALL)
    assert np.abs(run(raw, np.float32(0.03) * audio) / np.float32(0.03) - loud).max() > 0.1 * np.abs(loud).max()


def test_long_audio_in_chunks_keeps_the_band(experts, music):
    audio = band_limit(music(2.0, seed=4)[None], 5000)[0]
    out = chunked_restorer(experts).bandwidth_extension(audio, 5000, n_steps=2, progress=False)
    assert np.abs(ideal_band(out - audio, high=4500)[4096:-4096]).max() < 1e-5
    assert ideal_band(out, low=5300)[4096:-4096].std() > 1e-3


def smooth_denoiser(t):
    """Stand-in expert for time t (a denoiser(x, t)) whose restorations vary smoothly over time: x0 = a blur of
    x_t over 9 frames (magnitudes pulled towards 0.4), so any discontinuity at a chunk join would stand out."""
    def predict(x, _t):
        flat = x.reshape(-1, 1, *x.shape[-2:])
        blurred = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(flat, (4, 4, 1, 1), mode="replicate"),
                                                 (3, 9), stride=1).reshape(x.shape)
        return torch.cat([0.5 * blurred[:, :1] + 0.2, blurred[:, 1:]], dim=1)
    return predict


def regenerated_flux(audio):
    """Mean absolute change of the log spectrum above 5.2 kHz between consecutive frames: flux[i] is i -> i + 1."""
    spectrum = torch.stft(torch.from_numpy(audio), 2048, 512, window=torch.hann_window(2048), return_complex=True)
    level = torch.log(spectrum.abs()[242:] + 1e-3).numpy()
    return np.abs(np.diff(level, axis=1)).mean(axis=0)


def test_long_audio_in_chunks_leaves_no_seam(experts, music):
    """Spectral flux of the regenerated band at the joins against everywhere else.

    Joins are where two chunks cross-fade (mid known part) and where a chunk's own generation starts.
    For contrast, the same pieces restored independently and butted together leave a clear step.
    """
    restorer = chunked_restorer(experts)
    restorer.ensemble.denoiser = smooth_denoiser
    audio = band_limit(music(2.0, seed=4)[None], 5000)[0]
    out = restorer.bandwidth_extension(audio, 5000, n_steps=6, progress=False)

    fades = [first + KNOWN // 2 + step for first, _ in CHUNKS[1:] for step in (-1, 0)]
    starts = [first + KNOWN + step for first, _ in CHUNKS[1:] for step in (-1, 0)]
    flux = regenerated_flux(out)
    elsewhere = np.delete(flux, fades + starts)[4:-4]
    assert flux[fades].mean() < 1.25 * elsewhere.mean()  # measured 0.9
    assert flux[starts].mean() < 1.6 * elsewhere.mean() and flux[starts].max() <= elsewhere.max()  # 1.4

    cuts = [0] + [512 * (first + KNOWN // 2) for first, _ in CHUNKS[1:]] + [len(audio)]
    naive = np.empty_like(audio)
    for k, (start, stop) in enumerate(zip(cuts, cuts[1:])):
        low, high = max(0, start - 4096), min(len(audio), stop + 4096)
        piece = restorer.bandwidth_extension(audio[low:high], 5000, n_steps=6, seed=k, progress=False)
        naive[start:stop] = piece[start - low:stop - low]
    naive_flux = regenerated_flux(naive)
    assert naive_flux[fades].mean() > 1.5 * elsewhere.mean()  # measured 1.7


def test_configs_environment_and_checkpoint_sources(experts, tmp_path, monkeypatch):
    two = "configs/ensemble_2split_sampling.yaml"
    released = yaml.safe_load(open(two))
    assert released["network"]["hidden_channels"] == [128, 256, 512, 768, 1024, 2048]
    assert released["network"]["attention_levels"] == [3, 4] and released["t_cutoffs"] == [0.5]
    assert yaml.safe_load(open("configs/ensemble_1split_sampling.yaml"))["t_cutoffs"] == []

    monkeypatch.delenv("A2SB_CHECKPOINTS", raising=False)
    with pytest.raises(ValueError, match="A2SB_twosplit_0.0_0.5_release.ckpt.*A2SB_CHECKPOINTS"):
        Restorer.from_config(two, network=NET)
    monkeypatch.setenv("A2SB_CHECKPOINTS", ",".join(experts))
    from_env = Restorer.from_config(two, network=NET, **SMALL)
    assert from_env.ensemble.t_cutoffs == [0.5] and from_env._window_batch(1) == CPU_WINDOW_BATCH
    with pytest.raises(FileNotFoundError, match="missing.ckpt"):
        Restorer.from_config(two, checkpoints=[experts[0], str(tmp_path / "missing.ckpt")], network=NET)
    with pytest.raises(ValueError, match="need 2 checkpoint"):
        Restorer.from_config(two, checkpoints=[experts[0]], network=NET)
    with pytest.raises(ValueError, match="unknown setting.*window_frame"):
        Restorer.from_config(two, network=NET, window_frame=32)

    # The same weights as safetensors and as this project's Lightning checkpoint load identically.
    source = seeded_unet(0, std=WEIGHT_STD)
    safetensors_path = tmp_path / "expert.safetensors"
    save_unet_safetensors(source, safetensors_path)
    lightning_path = tmp_path / "trained.ckpt"
    torch.save({"state_dict": A2SBModule(vf_model=source).state_dict(), "global_step": 10}, lightning_path)
    one = "configs/ensemble_1split_sampling.yaml"
    for path in (safetensors_path, lightning_path):
        loaded = Restorer.from_config(one, checkpoints=[path], network=NET, **SMALL).ensemble.experts[0]
        assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), source.state_dict().values()))


def test_bad_input_gets_a_clear_error(restorer, experts):
    audio = np.zeros(SR, dtype=np.float32)
    for bad, message in [(np.zeros((SR, 2), np.float32), "looks like"), (np.zeros(SR, np.int16), "float"),
                         (np.zeros(100, np.float32), "too short"), (np.full(SR, np.nan, np.float32), "NaN")]:
        with pytest.raises(ValueError, match=message):
            restorer.bandwidth_extension(bad, 4000)
    for cutoff in (30000, 22050, 499, 0):  # the tools' rule too: something to keep, something to regenerate
        with pytest.raises(ValueError, match=r"cutoff_hz: .* outside \[500, 22050\)"):
            restorer.bandwidth_extension(audio, cutoff)
    for steps in (1, 2.5, True):
        with pytest.raises(ValueError, match="n_steps: the number of sampling time points"):
            restorer.bandwidth_extension(audio, 4000, n_steps=steps)
    with pytest.raises(ValueError, match="n_steps"):
        restorer.bandwidth_extension(audio, 4000, n_steps=1)
    with pytest.raises(ValueError, match="mode"):
        restorer.inpaint(audio, [(0.1, 0.2)], mode="fast")
    with pytest.raises(ValueError, match="outside the file"):
        restorer.inpaint(audio, [(0.9, 1.2)])
    with pytest.raises(ValueError, match="multiple of 8"):
        Restorer(NET, experts, [0.5], window_frames=36, hop_frames=12)


def test_window_batch_from_free_memory():
    gib = 2 ** 30
    assert window_batch_for(16 * gib, 1 * gib, 2 * gib) == 10  # 0.8 * 16 - 2 = 10.8 GiB
    assert window_batch_for(1 * gib, 2 * gib, 0) == 1  # never below one window
    assert window_batch_for(1000 * gib, 1 * gib, 0) == 64  # capped


def test_channels_last_is_ignored_on_the_cpu_and_matches_the_default_path(restorer, experts, music):
    audio = band_limit(music(0.5, seed=3)[None], 4000)[0]
    default = restorer.bandwidth_extension(audio, 4000, n_steps=2, seed=1, progress=False)
    ignored = Restorer(NET, experts, [0.5], channels_last=True, bf16=True, **SMALL)
    assert not ignored.ensemble.channels_last and not ignored.ensemble.bf16
    assert np.array_equal(ignored.bandwidth_extension(audio, 4000, n_steps=2, seed=1, progress=False), default)

    # What CUDA gets, run on the CPU: weights and inputs channels_last, the same output to float rounding.
    converted = Restorer(NET, experts, [0.5], **SMALL)
    converted.ensemble = Ensemble(NET, experts, [0.5], channels_last=True)
    weights = [p for net in converted.ensemble.experts for p in net.parameters() if p.dim() == 4]
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in weights)
    inputs = []
    for net in converted.ensemble.experts:
        net.register_forward_pre_hook(lambda m, args: inputs.append(args[0].is_contiguous(
            memory_format=torch.channels_last) and not args[0].is_contiguous()))
    out = converted.bandwidth_extension(audio, 4000, n_steps=2, seed=1, progress=False)
    assert len(inputs) > 0 and all(inputs)
    np.testing.assert_allclose(out, default, rtol=0, atol=1e-6)  # measured 1.2e-7


def test_bf16_runs_the_unet_only(experts, music):
    """bf16 autocast (forced on the CPU, as benchmarks/bf16_accuracy.py does) rounds the UNet alone: its
    outputs are bfloat16, the denoiser's are float32 again, and the kept band (representation and bridge
    arithmetic) matches the float32 run to float32 rounding, far below bf16's 3 significant digits."""
    audio = band_limit(music(0.5, seed=3)[None], 4000)[0]
    fp32 = Restorer(NET, experts, [0.5], **SMALL)
    reference = fp32.bandwidth_extension(audio, 4000, n_steps=2, seed=1, progress=False)
    bf16 = Restorer(NET, experts, [0.5], **SMALL)
    bf16.ensemble.bf16 = True
    dtypes = []
    for net in bf16.ensemble.experts:
        net.register_forward_hook(lambda m, args, out: dtypes.append(out.dtype))
    out = bf16.bandwidth_extension(audio, 4000, n_steps=2, seed=1, progress=False)
    assert len(dtypes) > 0 and set(dtypes) == {torch.bfloat16}
    assert bf16.ensemble(torch.randn(1, 3, 1024, 32), 0.7).dtype == torch.float32
    assert out.dtype == np.float32
    inner = slice(4096, -4096)
    assert np.abs(ideal_band(out - reference, high=3800)[inner]).max() < 1e-6  # measured 6e-8
    assert 0 < np.abs(out - reference).max() < 1e-3  # measured 8.5e-6: bf16 moved the regenerated band only a little


def test_a_training_config_restores_in_windows_of_its_training_segments(tmp_path):
    """A model that learnt on 64-frame segments is restored in 64-frame windows (hop 32), not the released 256."""
    with open("configs/tiny_cpu.yaml") as file:
        config = yaml.safe_load(file)
    weights = str(tmp_path / "tiny.safetensors")
    save_unet_safetensors(seeded_unet(network=config["model"]["vf_model"]["init_args"]), weights)
    restorer = Restorer.from_config("configs/tiny_cpu.yaml", checkpoints=[weights], device="cpu")
    frames = 1 + config["data"]["segment_samples"] // 512
    assert (restorer.window_frames, restorer.hop_frames) == (frames, frames // 2) == (64, 32)
    pretrain = Restorer.from_config("configs/tiny_cpu.yaml", checkpoints=[weights], device="cpu", window_frames=128,
                                    hop_frames=64)
    assert (pretrain.window_frames, pretrain.hop_frames) == (128, 64)  # an override still wins
