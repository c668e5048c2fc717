"""Multi-head self-attention over a (bins x frames) map, with 2-D axial rotary positions: over all positions
(the released model's block) or among the bins of each frame (FrequencyAttention, this project's addition)."""

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

    def __init__(self, channels: int, num_heads: int, input_norm: bool = True, per_frame: bool = False):
        super().__init__()
        self.per_frame = per_frame
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
        q = self.pos_emb(self._split_heads(self.q_proj(x)))
        k = self.pos_emb(self._split_heads(self.k_proj(x)))
        v = self._split_heads(self.v_proj(x))
        if self.per_frame:
            # (B, heads, w, h, d): each frame's bins attend to each other. Within a frame the frame-axis
            # rotations are equal, so only the bins' distances enter the scores.
            q, k, v = (z.transpose(2, 3) for z in (q, k, v))
            out = F.scaled_dot_product_attention(q, k, v)
            return out.permute(0, 1, 4, 3, 2).reshape(b, c, h, w)
        out = F.scaled_dot_product_attention(q.flatten(2, 3), k.flatten(2, 3), v.flatten(2, 3))
        return out.transpose(-1, -2).reshape(b, c, h, w)


class FrequencyAttention(nn.Module):
    """x + proj(attention among the bins of each frame), proj zero at initialisation (an identity to start).

    In a UNet with square downsampling the global attention of the coarse levels sees a frame only at 1/8 of
    its time resolution or less, so an onset in the kept band reaches the rows far above it smeared over
    about 0.1 s. Attending along frequency at a fine level lets every row of a frame read the whole spectrum
    of that frame at the level's own time resolution, for little compute (bins^2 per frame, not
    (bins x frames)^2). One head per 2 * ROTARY_DIM channels: the smallest head that holds the rotary channels.
    """

    def __init__(self, channels: int):
        super().__init__()
        head_dim = 2 * ROTARY_DIM
        if channels < head_dim:
            raise ValueError(f"FrequencyAttention: needs at least {head_dim} channels (one head), got {channels}")
        self.attention = AttentionBlock(channels, channels // head_dim, per_frame=True)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.proj(self.attention(x))
