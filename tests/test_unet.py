import math
import os

import numpy as np
import pytest
import torch
from rotary_embedding_torch import RotaryEmbedding, apply_rotary_emb

from helpers import TINY_ATTENTION_NETWORK as TINY, randomize_
from models.attention import AttentionBlock, FrequencyAttention
from models.rotary import AxialRotaryEmbedding
from models.unet import UNet, band_embedding
from models.unet_blocks import GroupNorm32, ResBlock

# Every vf_model.* key and shape of a released checkpoint, listed in the repository so this test always runs.
RELEASED_KEYS = os.path.join(os.path.dirname(__file__), "data", "unet_state_dict_full.tsv")


def read_key_shapes(path):
    shapes = {}
    with open(path) as file:
        for line in file:
            if line.startswith("#") or not line.strip():
                continue
            key, shape = line.rstrip("\n").split("\t")
            shapes[key] = tuple(int(n) for n in shape.strip("()").split(",") if n.strip())
    return shapes


def test_released_config_state_dict_matches_the_released_key_list():
    with torch.device("meta"):
        model = UNet()
    ours = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    released = read_key_shapes(RELEASED_KEYS)
    assert len(released) == 327
    assert sorted(ours.keys() - released.keys()) == []
    assert sorted(released.keys() - ours.keys()) == []
    assert {key: shape for key, shape in ours.items() if released[key] != shape} == {}


def test_tiny_unet_output_shape_finite_and_conditioned():
    torch.manual_seed(0)
    model = randomize_(UNet(**TINY)).eval()
    x, t_emb = torch.randn(2, 3, 24, 40), torch.randn(2, 128)
    with torch.no_grad():
        out = model(x, t_emb)
        out_other_time = model(x, t_emb.flip(0))
    assert out.shape == (2, 3, 24, 40)
    assert torch.isfinite(out).all()
    assert out.std() > 1e-3
    # The time embedding reaches the output: swapping the two items' embeddings changes each result.
    assert (out - out_other_time).abs().max() > 1e-4


@pytest.mark.parametrize(
    "config, shape",
    [
        (dict(hidden_channels=[64, 64], attention_levels=[0], num_heads=1), (1, 3, 6, 10)),
        (dict(hidden_channels=[32, 64, 64], attention_levels=[], num_heads=1), (1, 3, 12, 4)),
    ],
)
def test_other_level_counts_run(config, shape):
    model = UNet(**config).eval()
    with torch.no_grad():
        out = model(torch.randn(shape), torch.randn(shape[0], 128))
    assert out.shape == shape and torch.isfinite(out).all()


def test_bad_input_sizes_raise_clear_errors():
    model = UNet(**TINY)
    t_emb = torch.randn(1, 128)
    with pytest.raises(ValueError, match=r"multiples of 8.*\(20, 40\)"):
        model(torch.randn(1, 3, 20, 40), t_emb)
    with pytest.raises(ValueError, match=r"multiples of 8.*\(24, 36\)"):
        model(torch.randn(1, 3, 24, 36), t_emb)
    with pytest.raises(ValueError, match=r"\(batch, 3, height, width\)"):
        model(torch.randn(1, 2, 24, 40), t_emb)
    with pytest.raises(ValueError, match=r"time embedding must be \(1, 128\)"):
        model(torch.randn(1, 3, 24, 40), torch.randn(1, 64))


@pytest.mark.parametrize(
    "config, message",
    [
        (dict(hidden_channels=[32, 48, 128]), r"multiples of 32.*\[48\]"),
        (dict(hidden_channels=[32]), r"at least 2 widths"),
        (dict(hidden_channels=[32, 64, 128], attention_levels=[2], num_heads=2), r"attention_levels.*0\.\.1"),
        (dict(hidden_channels=[32, 64, 128], attention_levels=[0], num_heads=2), r"head dim 32 / 2 = 16"),
        (dict(hidden_channels=[32, 64, 128], attention_levels=[], num_heads=3), r"128 channels.*3 heads"),
    ],
)
def test_bad_configs_raise_clear_errors(config, message):
    with pytest.raises(ValueError, match=message):
        UNet(**config)


def test_band_embedding_matches_hand_computed_values():
    rows = 12
    band = band_embedding(rows, 16).numpy()
    f = np.arange(1, 9)[:, None]
    r = np.arange(rows)[None, :]
    angle = f * r * 2 * 3.14 / (3 * rows)
    assert band.shape == (16, rows)
    np.testing.assert_allclose(band[:8], np.cos(angle), atol=2e-6)
    np.testing.assert_allclose(band[8:], np.sin(angle), atol=2e-6)
    # Spot check one entry fully by hand: f = 3, r = 5, h = 12 -> angle = 3 * 5 * 6.28 / 36 = 2.61666...
    assert band[8 + 2, 5] == pytest.approx(math.sin(2.6166666666666667), abs=1e-6)


def test_conditioning_map_is_band_then_time_per_row():
    model = UNet(**TINY)
    t_emb = torch.randn(2, 128)
    cond = model.conditioning(t_emb, 6)
    assert cond.shape == (2, 144, 6, 1)
    torch.testing.assert_close(cond[1, :16, :, 0], band_embedding(6, 16), rtol=0, atol=0)
    torch.testing.assert_close(cond[1, 16:, 4, 0], t_emb[1], rtol=0, atol=0)


def test_broadcast_conditioning_equals_full_map_evaluation():
    torch.manual_seed(0)
    block = randomize_(ResBlock(64, 144, dropout=0.0)).eval()
    x = torch.randn(2, 64, 8, 12)
    cond_column = torch.randn(2, 144, 8, 1)
    with torch.no_grad():
        fast = block(x, cond_column)
        # Reference: the 1x1 conv evaluated at every pixel of the full h x w conditioning map.
        cond_full = cond_column.expand(-1, -1, -1, 12).contiguous()
        emb = torch.nn.functional.conv2d(
            torch.nn.functional.silu(cond_full), block.emb_layers[1].weight, block.emb_layers[1].bias
        )
        scale, shift = emb[:, :64], emb[:, 64:]
        h = block.out_norm(block.in_layers(x)) * (1 + scale) + shift
        full = x + block.out_rest(h)
    torch.testing.assert_close(fast, full, rtol=0, atol=1e-6)


def test_res_block_starts_as_identity():
    block = ResBlock(32, 144, dropout=0.1).eval()
    x = torch.randn(1, 32, 4, 4)
    assert torch.equal(block(x, torch.randn(1, 144, 4, 1)), x)


def test_group_norm_runs_in_float32_under_bfloat16():
    norm = randomize_(GroupNorm32(64))
    x = torch.randn(2, 64, 4, 4) * 30 + 100
    expected = torch.nn.functional.group_norm(x.bfloat16().float(), 32, norm.weight, norm.bias, 1e-5)
    out = norm(x.bfloat16())
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out, expected.bfloat16(), rtol=0, atol=0)


def reference_rotary(q, freqs=None):
    rotary = RotaryEmbedding(dim=32, freqs_for="pixel", max_freq=64, custom_freqs=freqs)
    return apply_rotary_emb(rotary.get_axial_freqs(q.shape[-3], q.shape[-2]), q)


def test_rotary_matches_rotary_embedding_torch():
    torch.manual_seed(0)
    q = torch.randn(2, 3, 6, 10, 96)  # 64 rotated channels, 32 passed through
    ours = AxialRotaryEmbedding(dim=32, max_freq=64)
    torch.testing.assert_close(ours(q), reference_rotary(q), rtol=0, atol=1e-6)
    assert torch.equal(ours(q)[..., 64:], q[..., 64:])
    # Half precision is rotated in float32 and cast back, like the reference.
    torch.testing.assert_close(ours(q.bfloat16()), reference_rotary(q.bfloat16()), rtol=0, atol=0)


def test_rotary_uses_loaded_frequencies_after_caching():
    q = torch.randn(1, 2, 4, 8, 64)
    ours = AxialRotaryEmbedding()
    ours(q)  # fills the cos/sin cache
    loaded = torch.linspace(0.5, 20.0, 16)
    ours.load_state_dict({"freqs": loaded})
    torch.testing.assert_close(ours(q), reference_rotary(q, freqs=loaded), rtol=0, atol=1e-6)


def test_attention_block_matches_reference_rotary_attention():
    torch.manual_seed(0)
    channels, heads, h, w = 192, 2, 6, 10
    block = randomize_(AttentionBlock(channels, heads))
    block.pos_emb.load_state_dict({"freqs": torch.linspace(1.0, 32.0, 16) * math.pi})
    x = torch.randn(2, channels, h, w)
    with torch.no_grad():
        out = block(x)
        normed = torch.nn.functional.group_norm(x, 32, block.gnorm.weight, block.gnorm.bias)

        def heads_of(proj):  # 'b (heads d) x y -> b heads x y d'
            return proj(normed).reshape(2, heads, channels // heads, h, w).permute(0, 1, 3, 4, 2)

        q = reference_rotary(heads_of(block.q_proj)).reshape(2, heads, h * w, -1)
        k = reference_rotary(heads_of(block.k_proj)).reshape(2, heads, h * w, -1)
        v = heads_of(block.v_proj).reshape(2, heads, h * w, -1)
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(channels // heads), dim=-1)
        expected = (weights @ v).permute(0, 1, 3, 2).reshape(2, channels, h, w)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)


def test_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = randomize_(UNet(**TINY, dropout=0.0))
    checkpointed = UNet(**TINY, dropout=0.0, checkpointing=True)
    checkpointed.load_state_dict(plain.state_dict())
    x, t_emb = torch.randn(1, 3, 16, 16), torch.randn(1, 128)
    plain(x, t_emb).square().mean().backward()
    checkpointed(x, t_emb).square().mean().backward()
    for (name, a), b in zip(plain.named_parameters(), checkpointed.parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-5, atol=1e-7, msg=name)


def test_input_skip_adds_the_input_projection_before_the_output_projection_with_the_same_keys():
    plain = randomize_(UNet(**TINY)).eval()
    skipped = UNet(**TINY, input_skip=True).eval()
    assert list(skipped.state_dict()) == list(plain.state_dict())  # no parameters: checkpoints load either way
    skipped.load_state_dict(plain.state_dict())
    seen = {}
    skipped.input_projection.register_forward_hook(lambda m, i, o: seen.__setitem__("first", o))
    skipped.us_layers[-1].register_forward_hook(lambda m, i, o: seen.__setitem__("last", o))
    skipped.output_projection.register_forward_hook(lambda m, i, o: seen.__setitem__("into_output", i[0]))
    x, emb = torch.randn(1, 3, 64, 16), torch.randn(1, 128)
    with torch.no_grad():
        out = skipped(x, emb)
        assert torch.equal(seen["into_output"], seen["last"] + seen["first"])
        assert not torch.allclose(out, plain(x, emb))


def test_frequency_attention_attends_among_the_bins_of_each_frame_with_the_rotary_of_a_one_frame_map():
    torch.manual_seed(0)
    channels, h, w = 128, 8, 5
    block = randomize_(AttentionBlock(channels, 2, per_frame=True))
    whole = AttentionBlock(channels, 2)
    whole.load_state_dict(block.state_dict())
    whole.gnorm = torch.nn.Identity()  # the map is normalised as a whole, before it is cut into frames
    x = torch.randn(2, channels, h, w)
    with torch.no_grad():
        out = block(x)
        normed = block.gnorm(x)
        # Frame by frame, global attention over a one-frame map is attention among that frame's bins.
        expected = torch.cat([whole(normed[..., j : j + 1]) for j in range(w)], dim=-1)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)


def test_frequency_attention_starts_as_the_identity_and_then_mixes_bins_within_frames_only():
    torch.manual_seed(0)
    block = FrequencyAttention(64)
    x = torch.randn(1, 64, 16, 6)
    with torch.no_grad():
        assert torch.equal(block(x), x)
        randomize_(block)
    block.attention.gnorm = torch.nn.Identity()  # its statistics span the map; the attention itself must not
    x.requires_grad_(True)
    block(x)[0, :, 15, 2].sum().backward()  # the top bin of frame 2
    reach = x.grad[0].abs().sum(0)  # (bins, frames)
    assert reach[0, 2] > 0  # reads the bottom bin of its own frame
    assert reach[:, [0, 1, 3, 4, 5]].max() == 0  # and nothing of the other frames
    with pytest.raises(ValueError, match="at least 64 channels"):
        FrequencyAttention(32)


def test_unet_frequency_attention_levels_add_a_block_at_the_end_of_the_mirrored_stages():
    levels = len(TINY["hidden_channels"]) - 1
    plain = randomize_(UNet(**TINY)).eval()
    model = UNet(**dict(TINY, freq_attention_levels=[1, 2])).eval()
    added = [name for name, module in model.named_modules() if isinstance(module, FrequencyAttention)]
    # decoder stage L - 1 - l mirrors encoder level l, as for attention_levels; level 2 also has attention
    assert added == ["enc_blocks.1.2", "enc_blocks.2.4", f"dec_blocks.{levels - 3}.4", f"dec_blocks.{levels - 2}.2"]
    # every other block keeps its key, and the new blocks start as the identity: the same network
    assert set(model.state_dict()) - set(plain.state_dict()) == {
        key for key in model.state_dict() if any(key.startswith(name + ".") for name in added)}
    model.load_state_dict(plain.state_dict(), strict=False)
    x, emb = torch.randn(1, 3, 32, 16), torch.randn(1, 128)
    with torch.no_grad():
        assert torch.equal(model(x, emb), plain(x, emb))
    with pytest.raises(ValueError, match=r"freq_attention_levels must lie in 0\.\.2"):
        UNet(**dict(TINY, freq_attention_levels=[9]))
