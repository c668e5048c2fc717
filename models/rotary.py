"""2-D axial rotary position embedding for attention over a (bins x frames) map.

Numerically the scheme of rotary_embedding_torch's RotaryEmbedding(dim, freqs_for='pixel', max_freq)
with get_axial_freqs(h, w), which the released checkpoints were trained with:
- freqs = linspace(1, max_freq / 2, dim // 2) * pi, stored as the `freqs` buffer (so loaded values are used);
- positions are linspace(-1, 1, n) along each axis; angle = position * freq, each angle repeated twice;
- the h-axis angles then the w-axis angles give 2 * dim rotary channels per head;
- adjacent channel pairs (x0, x1) are rotated to (x0 cos - x1 sin, x1 cos + x0 sin);
- channels of a head beyond the rotary ones pass through unchanged.
"""

import math

import torch
from torch import nn

_MAX_CACHED_TABLES = 8


class AxialRotaryEmbedding(nn.Module):
    def __init__(self, dim: int = 32, max_freq: float = 64.0):
        super().__init__()
        if dim < 2 or dim % 2:
            raise ValueError(f"AxialRotaryEmbedding: dim must be a positive even number, got {dim}")
        self.register_buffer("freqs", torch.linspace(1.0, max_freq / 2, dim // 2) * math.pi)
        self._tables: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
        # Loading new frequencies invalidates the cos/sin tables built from the old ones.
        self.register_load_state_dict_post_hook(lambda module, incompatible: module._tables.clear())

    @property
    def rotary_channels(self) -> int:
        """Leading channels of each head that get rotated (2 axes x 2 channels per frequency)."""
        return 4 * self.freqs.numel()

    def _build_tables(self, h: int, w: int, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
        freqs = self.freqs.to(device=device, dtype=torch.float32)
        angles_h = torch.outer(torch.linspace(-1.0, 1.0, h, device=device), freqs).repeat_interleave(2, dim=-1)
        angles_w = torch.outer(torch.linspace(-1.0, 1.0, w, device=device), freqs).repeat_interleave(2, dim=-1)
        angles = torch.cat((angles_h[:, None, :].expand(h, w, -1), angles_w[None, :, :].expand(h, w, -1)), dim=-1)
        # The sign of the sine is folded in per channel pair so that applying the rotation only needs a
        # swap of each pair: x' = x * cos + swap(x) * signed_sin.
        sign = torch.tensor([-1.0, 1.0], device=device).repeat(angles.shape[-1] // 2)
        return angles.cos().to(dtype), (angles.sin() * sign).to(dtype)

    def _tables_for(self, h: int, w: int, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
        if torch.compiler.is_compiling():
            # Inside a compiled graph the tables are traced as constants; a Python-side cache would only
            # add guards.
            return self._build_tables(h, w, device, dtype)
        key = (h, w, device, dtype)
        tables = self._tables.get(key)
        if tables is None:
            if len(self._tables) >= _MAX_CACHED_TABLES:
                self._tables.clear()
            tables = self._tables[key] = self._build_tables(h, w, device, dtype)
        return tables

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Rotate x laid out (..., h, w, head_dim); head_dim must be at least `rotary_channels`."""
        h, w, head_dim = x.shape[-3:]
        n = self.rotary_channels
        if head_dim < n:
            raise ValueError(f"AxialRotaryEmbedding: head dim {head_dim} is smaller than the {n} rotary channels")
        # Like the reference, half-precision inputs are rotated in float32 and cast back.
        cos, signed_sin = self._tables_for(h, w, x.device, torch.promote_types(x.dtype, torch.float32))
        rotated, rest = x[..., :n], x[..., n:]
        swapped = rotated.unflatten(-1, (-1, 2)).flip(-1).flatten(-2)
        return torch.cat(((rotated * cos + swapped * signed_sin).to(x.dtype), rest), dim=-1)
