"""Multi-head self-attention over all positions of a (bins x frames) map, with 2-D axial rotary positions."""

import torch
import torch.nn.functional as F
from torch import nn

from models.rotary import AxialRotaryEmbedding
from models.unet_blocks import GroupNorm32

ROTARY_DIM = 32
ROTARY_MAX_FREQ = 64


class AttentionBlock(nn.Module):
    """q, k, v 1x1 projections; rotary positions on q and k; scaled dot-product attention.

    As in the released model there is no output projection and no residual: the merged heads replace the input.
    """

    def __init__(self, channels: int, num_heads: int, input_norm: bool = True):
        super().__init__()
        self.pos_emb = AxialRotaryEmbedding(ROTARY_DIM, ROTARY_MAX_FREQ)
        if channels % num_heads:
            raise ValueError(f"AttentionBlock: {channels} channels do not split into {num_heads} heads")
        head_dim = channels // num_heads
        if head_dim < self.pos_emb.rotary_channels:
            raise ValueError(
                f"AttentionBlock: head dim {channels} / {num_heads} = {head_dim} is below the "
                f"{self.pos_emb.rotary_channels} channels the 2-D rotary embedding rotates"
            )
        self.num_heads = num_heads
        self.gnorm = GroupNorm32(channels) if input_norm else nn.Identity()
        self.q_proj = nn.Conv2d(channels, channels, 1)
        self.k_proj = nn.Conv2d(channels, channels, 1)
        self.v_proj = nn.Conv2d(channels, channels, 1)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, heads * d, h, w) -> (B, heads, h, w, d)."""
        b, c, h, w = x.shape
        return x.view(b, self.num_heads, c // self.num_heads, h, w).permute(0, 1, 3, 4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        x = self.gnorm(x)
        q = self.pos_emb(self._split_heads(self.q_proj(x))).flatten(2, 3)
        k = self.pos_emb(self._split_heads(self.k_proj(x))).flatten(2, 3)
        v = self._split_heads(self.v_proj(x)).flatten(2, 3)
        out = F.scaled_dot_product_attention(q, k, v)
        return out.transpose(-1, -2).reshape(b, c, h, w)
