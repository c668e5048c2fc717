"""torch.compile in the restoration engine: the cost model, the persistent cache, and the compiled path's output
(compiled with the eager backend here: what is tested is the engine's plumbing, not inductor)."""
import numpy as np
import pytest

from helpers import TINY_NETWORK as NET
from helpers import seeded_unet
from inference import compiling
from inference.compiling import CompileCosts, compile_costs
from inference.engine import Restorer, process_free_bytes
from models.unet_weights import save_released_layout

SMALL = dict(window_frames=32, hop_frames=16)
EAGER_BACKEND = {"backend": "eager"}


@pytest.fixture(scope="module")
def experts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("experts")
    paths = [str(folder / f"expert{seed}.ckpt") for seed in (0, 1)]
    for seed, path in enumerate(paths):
        save_released_layout(seeded_unet(seed, std=0.03), path)
    return paths


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    return tmp_path / "inductor"


def test_cost_model_compiles_for_a_song_and_not_for_a_clip():
    costs = CompileCosts()
    # Two experts, cold: 61 + 7.3 s against 9.6 ms per pass; warm: 2 x 7.3 s.
    assert costs.compile_seconds(2, warm=False) == pytest.approx(68.3)
    assert costs.break_even(2, warm=False) == pytest.approx(7115, abs=1)
    assert costs.break_even(2, warm=True) == pytest.approx(1521, abs=1)
    song, minute, clip = 12348, 3920, 588  # stereo, 50 time points: 3 min, 60 s, 10 s (counted by the engine below)
    assert costs.pays(song, 2, warm=False) and not costs.pays(minute, 2, warm=False)
    assert costs.pays(minute, 2, warm=True) and not costs.pays(clip, 2, warm=True)


def test_compile_settings_are_checked():
    assert compile_costs({"saving_s": 0.02}) == CompileCosts(saving_s=0.02)
    with pytest.raises(ValueError, match="unknown field"):
        compile_costs({"cold": 1})
    with pytest.raises(ValueError, match="saving_s must be positive"):
        compile_costs({"saving_s": 0})
    for good in ("auto", True, False):
        assert compiling.check_compile(good) is good
    for bad in ("on", 1, None):
        with pytest.raises(ValueError, match="'auto', True or False"):
            compiling.check_compile(bad)


def test_free_memory_respects_the_process_cap():
    gib = 2 ** 30
    # 140 GiB free on the card, the process capped at 16 GiB of which 5 are allocated: 11 GiB are left.
    assert process_free_bytes(140 * gib, 143 * gib, 6 * gib, 5 * gib, 16 / 143) == pytest.approx(11 * gib)
    assert process_free_bytes(10 * gib, 143 * gib, 6 * gib, 5 * gib, 1.0) == 11 * gib  # uncapped: the card's


def test_persistent_cache_and_markers(cache, monkeypatch):
    assert compiling.use_persistent_cache() == str(cache)  # the user's choice wins
    key = compiling.graph_key("card", 64)
    assert not compiling.compiled_before(key)
    compiling.mark_compiled(key)
    assert compiling.compiled_before(key) and (cache / compiling.MARKERS / key).exists()
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert compiling.use_persistent_cache() == "/somewhere/a2sb/inductor"


def test_the_engine_counts_window_passes_and_compiles_only_where_asked(experts, music):
    auto = Restorer(NET, experts, [0.5], compile_costs={"cold_s": 0, "cached_s": 0}, **SMALL)
    auto.bandwidth_extension(music(0.3, seed=1), 4000, n_steps=2, progress=False)
    # 26 frames: 1 window of 32, 1 network call.
    assert auto.window_passes == 1
    assert auto.compiled_batch is None and not auto.ensemble.compiled  # "auto" compiles on CUDA only
    # The cost model on a song: 4 chunks of 80, 80, 80 and 12 windows per call, 49 calls.
    song = np.zeros((2, 180 * 44100), np.float32)
    counting = Restorer(NET, experts, [0.5], compile=False, normalize_level=False)
    prepare = counting._prepare

    def count_only(*args):
        prepare(*args)
        raise Counted

    counting._prepare = count_only
    with pytest.raises(Counted):
        counting.bandwidth_extension(song, 4000, n_steps=50, progress=False)
    assert counting.window_passes == 12348


class Counted(Exception):
    """Stops a restoration once it has counted its passes."""


@pytest.mark.slow  # tracing two UNets: 2.5 min on the loaded 2-core machine
def test_compiled_restoration_matches_eager_and_pads_to_one_batch(experts, music):
    stereo = np.stack([music(0.6, seed=1), music(0.6, seed=2)])
    eager = Restorer(NET, experts, [0.5], compile=False, **SMALL)
    compiled = Restorer(NET, experts, [0.5], compile=True, compile_options=EAGER_BACKEND, window_batch=4, **SMALL)
    calls = []
    for expert in compiled.ensemble.experts:
        expert.register_forward_pre_hook(lambda module, args: calls.append(args[0].shape[0]))
    expected = eager.bandwidth_extension(stereo, 4000, n_steps=3, seed=2, progress=False)
    out = compiled.bandwidth_extension(stereo, 4000, n_steps=3, seed=2, progress=False)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)
    # 52 frames, 2 x 3 windows per step, at most 4 per call: the batch spread evenly, 2 calls of 3 per step
    # (2 steps), after one warm-up call per expert.
    assert compiled.compiled_batch == 3 and compiled.compile_seconds > 0
    assert set(calls) == {3} and len(calls) == 2 + 2 * 2
    # A further restoration reuses the compiled experts (no second warm-up).
    calls.clear()
    compiled.inpaint(stereo, gaps=[(0.4, 0.5)], n_steps=3, progress=False)
    assert set(calls) == {3} and len(calls) > 0
