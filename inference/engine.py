"""The restoration engine: bandwidth extension and inpainting of whole files with the A2SB ensemble.

    restorer = Restorer.from_config("configs/ensemble_2split_sampling.yaml", checkpoints=[low_t, high_t])
    wide = restorer.bandwidth_extension(audio, cutoff_hz=4000)      # audio: float32 (channels, samples)
    fixed = restorer.inpaint(audio, gaps=[(12.0, 12.3)])

Everything runs in this process: the checkpoints are loaded once, then any number of files go through.
Each file is sampled as docs/DESIGN.md describes (bridge sampler, MultiDiffusion windows), in chunks of
`chunk_seconds` that each continue the restored audio of the previous one (inference/chunking.py), so
memory stays bounded for any length. Channels are restored together with the same noise draws, which
keeps the regenerated part coherent across channels (independent draws would decorrelate it and smear
the stereo image).

The representation drops the DC bin, so its round trip loses DC and most content under ~25 Hz, and
leaves errors around -55 dB next to strong bass. With keep_residual (the default) the kept part comes
back as it went in: bandwidth extension synthesises the restored image together with the input's own DC
bin (what the round trip loses, all of it far below any cutoff), in the one inverse STFT each chunk
needs anyway; inpainting returns the input itself outside the reach of the regenerated frames and,
inside, adds the round-trip residual at both ends with a linear ramp so that the joins are continuous.
keep_residual=False returns the plain inverse representation, as the authors do.

Level: the bridge puts noise of a fixed level where audio is missing, so the model judges the known part
against it; a quietly mastered file looks to it like a loud file with little content. With normalize_level
each file is scaled to the training music's typical active RMS (audiokit/level.py) for sampling and the
result scaled back; the kept part still comes back as it went in. Without it the regenerated level follows
the input's gain instead of the music (benchmarks/quality.py's level sweep; the measurements are in
docs/results/2026-11-27-quality-earlier-runs.md).

Speed: the window plan is built once per sampling run (no per-step index work or host-device copies),
the bridge arithmetic takes python-float coefficients (no device syncs), masks stay compact where they
can ((1, 1, H, 1) bands, (1, 1, 1, W) frames), and each chunk is encoded once and decoded once.
"""
import inspect
import os
import time
from dataclasses import dataclass

import numpy as np
import torch
import yaml
from tqdm import tqdm

from audiokit.band_edge import detect_band_edge
from audiokit.constants import HOP_LENGTH, N_BINS, SAMPLE_RATE
from audiokit.level import gain_to_typical
from audiokit.tool_io import MIN_SAMPLES
from corrupt.degrade import degrade
from corrupt.masks import band_column, cutoff_bin
from inference import chunking, compiling, released
from inference.device import resolve_device
from inference.ensemble import Ensemble, check_cutoffs
from inference.gaps import frames_touching_gaps, runs, shortcut_windows, validate_gaps
from inference.windows import active_windows, check_window, multidiffusion, plan_windows
from models.bridge import check_steps, time_grid
from models.representation import Representation, num_frames
from models.sampler import sample_bridge

CHECKPOINTS_ENV = "A2SB_CHECKPOINTS"
CHECKPOINT_OPTION = "checkpoints=[...] one per expert in increasing t (command line: --ckpt PATH once per expert)"
MIN_CUTOFF_HZ = 500.0  # below it too little is kept to condition on
CPU_WINDOW_BATCH = 4
MAX_AUTO_WINDOW_BATCH = 64
GPU_MEMORY_FRACTION = 0.8  # of the free memory, for the window batch
STATE_IMAGES = 12  # chunk-sized images held by the sampler at once (state, x1, noise, sums, temporaries)
INPAINT_MODES = ("auto", "shortcut", "full")
SPAN_MARGIN = 3 * HOP_LENGTH  # a frame reaches 2 hops to each side; one more hop of decoded known audio


@dataclass(frozen=True)
class Sampling:
    """How one restoration runs the bridge: time points, seed, the ODE variant, progress bars, and the sampler's
    per-step callback (models/sampler.py), called for each update of every chunk or batch of gap windows."""
    steps: int
    seed: int = 0
    ode: bool = False
    progress: bool = True
    callback: object = None


@dataclass(frozen=True)
class Region:
    """What a restoration regenerates: rows (1, 1, H, 1) of regenerated bins, and/or frames (F,) bool flags of
    regenerated frames over the whole file; None means all of them."""
    rows: torch.Tensor | None = None
    frames: torch.Tensor | None = None


def process_free_bytes(device_free, total, reserved, allocated, fraction):
    """Bytes this process may still allocate: what the device has free plus what its allocator holds unused,
    within the cap of torch.cuda.set_per_process_memory_fraction (fraction of the total)."""
    return min(device_free + reserved - allocated, fraction * total - allocated)


def window_batch_for(free_bytes, bytes_per_window, state_bytes):
    """Windows per UNet call that fit GPU_MEMORY_FRACTION of the free memory next to the sampler state."""
    usable = GPU_MEMORY_FRACTION * free_bytes - state_bytes
    return int(min(MAX_AUTO_WINDOW_BATCH, max(1, usable // max(bytes_per_window, 1))))


def _validated_audio(audio):
    """(channels, samples) float32 view of the input, and whether it was 1-D (mono)."""
    array = np.asarray(audio)
    if array.ndim not in (1, 2) or not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"audio must be float samples of shape (samples,) or (channels, samples), "
                         f"got {array.dtype} {array.shape}")
    if array.ndim == 2 and array.shape[0] > array.shape[1]:
        raise ValueError(f"audio of shape {array.shape} looks like (samples, channels); pass (channels, samples)")
    if array.shape[-1] < MIN_SAMPLES:
        raise ValueError(f"audio is too short: {array.shape[-1]} samples, at least {MIN_SAMPLES} are needed")
    if not np.isfinite(array).all():
        raise ValueError("audio holds NaN or infinite samples")
    return array.reshape(-1, array.shape[-1]).astype(np.float32, copy=False), array.ndim == 1


def _shared_noise(generator, groups):
    """noise_fn for items laid out (groups * channels, ...): one draw per group, the same for its channels."""

    def draw(like):
        per_group = torch.randn((groups, 1, *like.shape[1:]), generator=generator, device=like.device,
                                dtype=like.dtype)
        return per_group.expand(groups, like.shape[0] // groups, *like.shape[1:]).reshape(like.shape)

    return draw


def _checkpoints_and_source(checkpoints, model, config_path):
    """The checkpoint paths from_config uses, and where they came from, for its messages: the argument, else the
    released model's files, else $A2SB_CHECKPOINTS."""
    if isinstance(checkpoints, (str, os.PathLike)):
        checkpoints = [checkpoints]
    if checkpoints:
        return [str(path) for path in checkpoints], "the checkpoints argument"
    if model:
        return released.model_files(model), f"model {model!r}, the checkpoint_files of {config_path}"
    paths = [path.strip() for path in os.environ.get(CHECKPOINTS_ENV, "").split(",") if path.strip()]
    return paths, f"${CHECKPOINTS_ENV}"


def _check_checkpoint_count(n_checkpoints, t_cutoffs, source, t_cutoffs_from):
    if n_checkpoints != len(t_cutoffs) + 1:
        raise ValueError(f"{len(t_cutoffs)} cut point(s) {list(t_cutoffs)} ({t_cutoffs_from}) need "
                         f"{len(t_cutoffs) + 1} checkpoint(s), one per expert; got {n_checkpoints} from {source}: pass "
                         f"{CHECKPOINT_OPTION}, or t_cutoffs=[...] (command line: --t-cutoffs)")


def _read_config(path):
    try:
        with open(path) as file:
            config = yaml.safe_load(file)
    except OSError as error:
        raise ValueError(f"{path}: cannot read the sampling config ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a mapping of settings")
    if "network" not in config and isinstance(config.get("model"), dict):
        # A training config of this project: the UNet is model.vf_model, a single expert.
        model = config["model"]
        settings = {"network": (model.get("vf_model") or {}).get("init_args", {}), "t_cutoffs": [],
                    "beta_max": model.get("beta_max", 1.0)}
        segment = (config.get("data") or {}).get("segment_samples")
        if segment:
            # Windows as long as the training segments: attention that learnt on 64-frame segments, shown 256
            # frames, attends over four times the positions, and a model overfit on one clip then regenerated a
            # steady bed (envelope correlation 0.26 against 0.67 with 64-frame windows).
            frames = 1 + int(segment) // HOP_LENGTH
            settings.update(window_frames=frames, hop_frames=frames // 2)
        return settings
    return config


class Restorer:
    """Loads the experts once; then `bandwidth_extension` and `inpaint` restore audio in memory.

    Args:
        network: models.unet.UNet init args (the released configuration in configs/ensemble_*_sampling.yaml).
        checkpoints: one file per expert in increasing t: released Lightning .ckpt, this project's
            Lightning checkpoints, or safetensors weights; or UNets already in memory (used as copies), such
            as the network of the Lightning module in `main.py predict`.
        t_cutoffs: cut points between the experts ([0.5] for the released two-split ensemble, [] for one).
        device: "cpu", "cuda", "cuda:1", "mps"; checked before any weights load. None: CUDA, else MPS, else CPU.
        bf16: bfloat16 autocast for the UNet on CUDA (ignored on the CPU); the representation and the
            bridge arithmetic stay float32.
        channels_last: the UNet and its inputs in channels_last memory format on CUDA (ignored on the
            CPU). Off by default: whether it pays depends on the card and has not been measured here.
        compile: "auto" compiles the experts with torch.compile, once for the Restorer's life, at the first
            restoration whose window passes make it pay by the cost model of inference/compiling.py, on CUDA
            only; True compiles at the first restoration on any device; False never. Compiled graphs are kept
            in the user's cache folder, so later processes compile in seconds.
        compile_costs: the cost model's seconds (compiling.CompileCosts fields: cold_s, cached_s, saving_s).
        compile_options: keyword arguments of torch.compile, e.g. {"mode": "reduce-overhead"} for CUDA graphs.
        window_frames, hop_frames: MultiDiffusion windows (the hop must divide the window).
        window_batch: windows per UNet call, the setting that bounds GPU memory. None: measured from the
            free GPU memory on CUDA, CPU_WINDOW_BATCH on the CPU.
        chunk_seconds, overlap_seconds: files longer than a chunk are restored chunk by chunk; each chunk
            takes the first half of the overlap, as the previous chunk restored it, as known content.
        beta_max: the bridge's noise schedule peak.
        bandwidth_steps, inpainting_steps: default number of time points (50 and 200 in the paper).
        keep_residual: give back the kept part exactly (see the module notes); False for the plain
            inverse representation of the sampled image.
        normalize_level: sample each file at the training music's typical level and scale the result
            back (see the module notes).
    """

    def __init__(self, network, checkpoints, t_cutoffs, device="cpu", bf16=False, window_frames=256,
                 hop_frames=128, window_batch=None, chunk_seconds=60.0, overlap_seconds=3.0, beta_max=1.0,
                 bandwidth_steps=50, inpainting_steps=200, keep_residual=True, channels_last=False,
                 normalize_level=True, compile="auto", compile_costs=None, compile_options=None):
        self.device = resolve_device(device)
        checkpoints = [path if isinstance(path, torch.nn.Module) else str(path) for path in checkpoints]
        released.check_checkpoint_files([path for path in checkpoints if isinstance(path, str)],
                                        f"the expert checkpoints in increasing t (checkpoints=[...], or "
                                        f"{CHECKPOINTS_ENV}=path1,path2 with from_config)")
        check_cutoffs(t_cutoffs, len(checkpoints))
        check_window(window_frames, hop_frames)
        if window_batch is not None and int(window_batch) < 1:
            raise ValueError(f"Restorer: window_batch must be a positive integer or None, got {window_batch}")
        on_cuda = self.device.type == "cuda"
        self.ensemble = Ensemble(network, checkpoints, t_cutoffs, beta_max, bf16=bool(bf16) and on_cuda,
                                 channels_last=bool(channels_last) and on_cuda).to(self.device)
        if window_frames % 2 ** self.ensemble.levels:
            raise ValueError(f"Restorer: window_frames ({window_frames}) must be a multiple of "
                             f"{2 ** self.ensemble.levels} for a UNet of {self.ensemble.levels} levels")
        self.representation = Representation().to(self.device)
        self.window_frames, self.hop_frames = int(window_frames), int(hop_frames)
        self.window_batch = None if window_batch is None else int(window_batch)
        self.chunk_frames = chunking.frames_for(chunk_seconds)
        self.overlap_frames = chunking.frames_for(overlap_seconds)
        chunking.plan_chunks(1, self.chunk_frames, self.overlap_frames)  # validates the two lengths
        self.beta_max = float(beta_max)
        self.bandwidth_steps, self.inpainting_steps = int(bandwidth_steps), int(inpainting_steps)
        self.keep_residual = bool(keep_residual)
        self.normalize_level = bool(normalize_level)
        self._bytes_per_window = None
        self.compile = compiling.check_compile(compile)
        self.compile_costs = compiling.compile_costs(compile_costs)
        self.compile_options = dict(compile_options or {})
        self.compiled_batch = None  # the one window batch of the compiled graphs, once compiled
        self.compile_seconds = None  # what compiling took, once compiled
        self.window_passes = None  # of the last restoration, as the cost model counted them

    @classmethod
    def from_config(cls, config_path, checkpoints=None, device=None, **overrides):
        """Builds a Restorer from a sampling config; keyword overrides replace its settings.

        config_path may also be a released model name ("twosplit", "onesplit"): its sampling config, and
        by default its released checkpoints. Checkpoints come from the argument, else from the
        A2SB_CHECKPOINTS environment variable (comma-separated paths, in increasing t); released file
        names that are not local files are fetched from the Hugging Face Hub (inference/released.py). An error
        about them names every file at fault, where the paths came from, and the option that fixes it.
        """
        model = config_path if config_path in released.MODELS else None
        if model:
            config_path = released.model_config(model)
        config = _read_config(config_path)
        expected = config.pop("checkpoint_files", None)
        settings = {**config, **overrides}
        checkpoints, source = _checkpoints_and_source(checkpoints, model, config_path)
        if not checkpoints:
            names = f" ({', '.join(expected)})" if expected else ""
            raise ValueError(f"{config_path}: no checkpoints given; pass the expert checkpoint files{names} in "
                             f"increasing t as checkpoints=[...] (CLI: --ckpt), set {CHECKPOINTS_ENV}="
                             f"path1,path2, or name a released model (CLI: --model {', '.join(released.MODELS)})")
        released.check_checkpoint_files(checkpoints, CHECKPOINT_OPTION, source, fetchable=True)
        t_cutoffs_from = "the t_cutoffs argument" if "t_cutoffs" in overrides else f"t_cutoffs of {config_path}"
        _check_checkpoint_count(len(checkpoints), settings.get("t_cutoffs") or [], source, t_cutoffs_from)
        checkpoints = released.resolve_checkpoints(checkpoints, source)
        if "network" not in settings:
            raise ValueError(f"{config_path}: no 'network' section (the UNet settings)")
        known = set(inspect.signature(cls).parameters) - {"checkpoints", "device"}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"{config_path}: unknown setting(s) {unknown}; known: {sorted(known)}")
        return cls(checkpoints=checkpoints, device=device, **settings)

    # ---- public API ------------------------------------------------------------------------------------
    @torch.inference_mode()
    def bandwidth_extension(self, audio, cutoff_hz, n_steps=None, seed=0, ode=False, progress=True, callback=None):
        """Regenerates everything above cutoff_hz; returns float32 audio of the input's shape.

        callback: the sampler's per-step callback (models/sampler.py), once per update of each chunk.
        """
        wave, mono = _validated_audio(audio)
        check_cutoff(cutoff_hz)
        region = Region(rows=band_column(N_BINS, cutoff_bin(float(cutoff_hz))).to(self.device))
        sampling = Sampling(self._steps(n_steps, self.bandwidth_steps), seed, ode, progress, callback)
        out = self._restore_chunks(wave, region, sampling, self.keep_residual, self._gain(wave))
        return out[0] if mono else out

    @torch.inference_mode()
    def inpaint(self, audio, gaps, n_steps=None, seed=0, ode=False, mode="auto", progress=True, callback=None):
        """Regenerates the (start_s, end_s) gaps; returns float32 audio of the input's shape.

        mode "shortcut" samples one window around each gap (the authors' fast inpainting), "full" the
        whole file in chunks; "auto" takes the shortcut when the gaps are short and far enough apart.
        callback: the sampler's per-step callback (models/sampler.py), once per update of each chunk or
        batch of gap windows.
        """
        if mode not in INPAINT_MODES:
            raise ValueError(f"inpaint: mode must be one of {INPAINT_MODES}, got {mode!r}")
        wave, mono = _validated_audio(audio)
        gaps = validate_gaps(gaps, wave.shape[-1] / SAMPLE_RATE)
        sampling = Sampling(self._steps(n_steps, self.inpainting_steps), seed, ode, progress, callback)
        flags = frames_touching_gaps(gaps, num_frames(wave.shape[-1]))
        windows = None
        if mode != "full":
            windows = shortcut_windows(flags.numpy(), self.window_frames, self.window_frames // 8)
            if windows is None and mode == "shortcut":
                raise ValueError(f"inpaint: the shortcut needs every gap (with its neighbours closer than a window) "
                                 f"to fit in {self.window_frames * HOP_LENGTH / SAMPLE_RATE:.2f} s windows with "
                                 f"known audio around it, and no window may hold another gap; use the full mode "
                                 f"(command line: --mode full; Python: mode='full')")
        if not flags.any():
            out = wave.copy()
        else:
            region = Region(rows=self._input_band_rows(wave, gaps), frames=flags)
            if windows is not None:
                out = self._restore_windows(wave, region, windows, sampling, self._gain(wave))
            else:
                out = self._restore_chunks(wave, region, sampling, False, self._gain(wave))
                if self.keep_residual:
                    decoded, out = out, wave.copy()
                    _paste_regenerated(out, wave, decoded, 0, runs(flags.numpy()), keep_residual=True)
        return out[0] if mono else out

    def _input_band_rows(self, wave, gaps):
        """Rows a gap may regenerate: those below the band edge of the audio around the gaps, when it has a clear
        one (lossy or low-rate music), else all (None). Above such an edge the input holds nothing, so the gap
        stays silent there too; a model trained with the true-bandwidth loss mask never learnt those rows. The
        gaps themselves are not looked at: the clicks at their borders reach Nyquist and hid the edge."""
        edge = detect_band_edge(wave, SAMPLE_RATE, skip=gaps)
        if edge.status != "edge":
            return None
        return (1.0 - band_column(N_BINS, cutoff_bin(edge.edge_hz))).to(self.device)

    # ---- sampling ----------------------------------------------------------------------------------------
    @staticmethod
    def _steps(n_steps, default):
        return check_steps(default if n_steps is None else n_steps, "n_steps")

    def _gain(self, wave):
        return gain_to_typical(wave) if self.normalize_level else 1.0

    def _sample(self, x0, mask, active, groups, sampling, generator, progress):
        """Samples the bridge for images x0 (groups * channels, 3, H, T); mask (groups or 1, 1, H or 1, T or 1);
        active (T,) flags of the frames whose windows are computed (None: all)."""
        channels = x0.shape[0] // groups
        if mask.shape[0] > 1:
            mask = mask.repeat_interleave(channels, dim=0)
        noise_fn = _shared_noise(generator, groups)
        x1 = degrade(x0, mask, noise=noise_fn(x0))
        batch = self._window_batch(x0.numel())
        plan = plan_windows(x0.shape[0], x0.shape[-1], self.window_frames, self.hop_frames, batch, active, self.device)

        def predict_x0(x_t, t):
            expert = self.ensemble.denoiser(t)
            return multidiffusion(lambda windows: expert(windows, t), x_t, self.window_frames, self.hop_frames,
                                  batch, plan=plan)

        return sample_bridge(predict_x0, x1, mask, time_grid(sampling.steps), self.beta_max, ode=sampling.ode,
                             noise_fn=noise_fn, progress=progress, callback=sampling.callback)

    def _window_batch(self, state_numel):
        if self.compiled_batch is not None:
            return self.compiled_batch
        if self.window_batch is not None:
            return self.window_batch
        if self.device.type != "cuda":
            return CPU_WINDOW_BATCH
        if self._bytes_per_window is None:
            self._bytes_per_window = self._measure_window_bytes()
        free, total = torch.cuda.mem_get_info(self.device)
        # get_per_process_memory_fraction came with torch 2.9; before it no cap could be read back.
        fraction = getattr(torch.cuda, "get_per_process_memory_fraction", lambda device: 1.0)(self.device)
        free = process_free_bytes(free, total, torch.cuda.memory_reserved(self.device),
                                  torch.cuda.memory_allocated(self.device), fraction)
        return window_batch_for(free, self._bytes_per_window, STATE_IMAGES * 4 * state_numel)

    # ---- torch.compile -----------------------------------------------------------------------------------
    def _prepare(self, windows_per_call, items, state_numel, steps):
        """Before sampling a restoration: counts its window passes and compiles when asked to or when that
        pays (inference/compiling.py). windows_per_call: (item, window) pairs per network call, per sampling
        run (chunk or shortcut batch); items: images of the largest run; state_numel: its image size."""
        self.window_passes = sum(windows_per_call) * (steps - 1)
        if self.compile is False or self.compiled_batch is not None or not any(windows_per_call):
            return
        if self.compile == "auto" and self.device.type != "cuda":
            return
        # The batch is sized for a stereo file at least, since it stays for the Restorer's life; then the
        # largest run's windows are spread evenly over the calls it needs, so that a full chunk pads nothing.
        most = max(windows_per_call)
        calls = -(-most // self._window_batch(state_numel // items * max(items, 2)))
        batch = -(-most // calls)
        card = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else str(self.device)
        key = compiling.graph_key(card, str(self.ensemble.experts[0]), self.window_frames, batch, self.ensemble.bf16,
                                  self.ensemble.channels_last, self.compile_options)
        warm = compiling.compiled_before(key)
        if self.compile == "auto" and not self.compile_costs.pays(self.window_passes, len(self.ensemble.experts),
                                                                  warm):
            return
        compiling.use_persistent_cache()
        start = time.perf_counter()
        self.ensemble.compile_experts(batch, **self.compile_options)
        x = torch.zeros(batch, 3, N_BINS, self.window_frames, device=self.device)
        for t in self.ensemble.expert_times():  # compiles now, at the one shape sampling will use
            self.ensemble.denoiser(t)(x, t)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.compile_seconds = time.perf_counter() - start
        self.compiled_batch = batch
        compiling.mark_compiled(key)

    def _measure_window_bytes(self):
        """Peak GPU memory of one window through the network (activations and output)."""
        x = torch.zeros(1, 3, N_BINS, self.window_frames, device=self.device)
        torch.cuda.synchronize(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        base = torch.cuda.memory_allocated(self.device)
        self.ensemble(x, 0.5)
        torch.cuda.synchronize(self.device)
        return torch.cuda.max_memory_allocated(self.device) - base

    # ---- whole files ------------------------------------------------------------------------------------
    def _restore_chunks(self, wave, region, sampling, add_residual, gain=1.0):
        """Chunk by chunk over the file, regenerating `region`. add_residual synthesises each chunk with the
        input's DC bin (what the round trip loses). Sampling sees the audio times `gain`; the result is scaled
        back."""
        n_samples = wave.shape[-1]
        audio = torch.from_numpy(wave * np.float32(gain))
        chunks = chunking.plan_chunks(num_frames(n_samples), self.chunk_frames, self.overlap_frames)
        generator = torch.Generator(self.device).manual_seed(sampling.seed)
        single = len(chunks) == 1
        channels = wave.shape[0]
        per_call = [channels * len(active_windows(None if region.frames is None else region.frames[first:last],
                                                  last - first, self.window_frames, self.hop_frames))
                    for first, last in chunks]
        self._prepare(per_call, channels, channels * 3 * N_BINS * (chunks[0][1] - chunks[0][0]), sampling.steps)
        out = np.empty_like(wave)
        tail = None
        for k, (first, last) in enumerate(tqdm(chunks, desc="chunks", disable=not sampling.progress or single)):
            x0, dc = chunking.encode_frames_with_dc(self.representation, audio, first, last, self.device)
            if region.frames is None:
                regenerate = torch.ones(last - first, dtype=torch.bool)
            else:
                regenerate = region.frames[first:last].clone()
            if tail is not None:
                x0[..., :tail.shape[-1]] = tail
                regenerate[:tail.shape[-1]] = False
            if regenerate.any():
                frame_mask = regenerate.to(self.device).float().reshape(1, 1, 1, -1)
                rows = region.rows
                mask = frame_mask if rows is None else (rows if regenerate.all() else rows * frame_mask)
                x0 = self._sample(x0, mask, regenerate, 1, sampling, generator, sampling.progress and single)
            if k + 1 < len(chunks):
                next_first = chunks[k + 1][0] - first
                tail = x0[..., next_first:next_first + chunking.known_frames(self.overlap_frames)].clone()
            restored = self._decode(x0, first, n_samples, dc if add_residual else None) / np.float32(gain)
            fade = None if k == 0 else chunking.fade_start(first, self.overlap_frames)
            chunking.paste(out, restored, HOP_LENGTH * first, fade)
        return out

    def _restore_windows(self, wave, region, windows, sampling, gain=1.0):
        """The inpainting shortcut: each window sampled alone (several per batch), its gaps (region.frames)
        pasted back; region.rows limits the regenerated bins. Sampling sees the audio times `gain`; the result
        is scaled back."""
        n_samples = wave.shape[-1]
        audio = torch.from_numpy(wave * np.float32(gain))
        generator = torch.Generator(self.device).manual_seed(sampling.seed)
        out = wave.copy()
        channels = wave.shape[0]
        per_batch = max(1, self.chunk_frames // self.window_frames)
        batches = [windows[i:i + per_batch] for i in range(0, len(windows), per_batch)]
        single = len(batches) == 1
        items = channels * len(batches[0])
        self._prepare([channels * len(batch) for batch in batches], items, items * 3 * N_BINS * self.window_frames,
                      sampling.steps)
        for batch in tqdm(batches, desc="windows", disable=not sampling.progress or single):
            x0 = torch.cat([chunking.encode_frames(self.representation, audio, a, b, self.device) for a, b in batch])
            window_flags = torch.stack([region.frames[a:b] for a, b in batch])
            mask = window_flags.to(self.device).float().reshape(len(batch), 1, 1, -1)
            if region.rows is not None:
                mask = mask * region.rows
            restored = self._sample(x0, mask, None, len(batch), sampling, generator, sampling.progress and single)
            for i, (first, last) in enumerate(batch):
                decoded = self._decode(restored[i * channels:(i + 1) * channels], first, n_samples)
                decoded /= np.float32(gain)
                gap_runs = [(first + a, first + b) for a, b in runs(window_flags[i].numpy())]
                _paste_regenerated(out, wave, decoded, HOP_LENGTH * first, gap_runs, self.keep_residual)
        return out

    def _decode(self, image, first, n_samples, dc=None):
        return chunking.decode_frames(self.representation, image, first, n_samples, dc).cpu().numpy()


def check_cutoff(cutoff_hz, name="cutoff_hz", advice=""):
    """The one rule for a bandwidth extension cutoff: something to keep and something to regenerate. The tools
    call it before loading a model, with their option's name and advice for the message."""
    if not MIN_CUTOFF_HZ <= float(cutoff_hz) < SAMPLE_RATE / 2:
        raise ValueError(f"{name}: cutoff {float(cutoff_hz):g} Hz is outside [{MIN_CUTOFF_HZ:g}, {SAMPLE_RATE / 2:g}) "
                         "Hz (at or above Nyquist there is nothing to regenerate; below 500 Hz too little is kept)"
                         + advice)


def _reach(frame_runs, lowest, highest):
    """Sample spans [start, stop) where runs of regenerated frames change the decoded audio, clipped."""
    return [(max(lowest, HOP_LENGTH * first - SPAN_MARGIN), min(highest, HOP_LENGTH * (last - 1) + SPAN_MARGIN))
            for first, last in frame_runs]


def _paste_regenerated(out, wave, decoded, offset, frame_runs, keep_residual):
    """Writes `decoded` (audio from sample `offset` on) over `out` where the regenerated frame runs change it;
    with keep_residual each span also carries the input's round-trip residual (_paste_span)."""
    for start, stop in _reach(frame_runs, offset, offset + decoded.shape[-1]):
        span = decoded[:, start - offset:stop - offset]
        if keep_residual:
            _paste_span(out, wave, span, start)
        else:
            out[:, start:stop] = span


def _paste_span(out, wave, span, start):
    """out[:, start:start + n] = span plus the input's round-trip residual at both ends, ramped linearly
    between them, so that the span meets the input continuously on either side."""
    stop = start + span.shape[-1]
    ramp = np.linspace(0.0, 1.0, span.shape[-1], dtype=np.float32)
    before = wave[:, start] - span[:, 0]
    after = wave[:, stop - 1] - span[:, -1]
    out[:, start:stop] = span + before[:, None] * (1 - ramp) + after[:, None] * ramp
