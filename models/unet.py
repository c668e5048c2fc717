"""The A2SB UNet: an improved-diffusion style UNet conditioned on time and frequency band.

Layout (L = len(hidden_channels) - 1 levels, widths C_0..C_L), named as in the released checkpoints:
  input_projection -> for each level l: enc_blocks.l at C_l, ds_layers.l (C_l -> C_l+1, skip saved)
  -> middle_block at C_L -> for each i: add the last skip, dec_blocks.i at C_(L-i), us_layers.i
  (C_(L-i) -> C_(L-i-1)) -> output_projection.
Attention follows the ResBlocks of encoder level l and of decoder stage L - 1 - l for l in attention_levels.
input_skip adds the input projection's output to the last stage's before the output projection: the
full-resolution skip of improved-diffusion's UNet, which the released layout lacks (its finest skip is taken
after the first downsampling). The network's target (x_t - x0) / sigma_fwd(t) holds the input's own noise pixel
by pixel, which without this skip must squeeze through a stride-2 convolution; small networks trained briefly
leave much of it in their x0 estimates (a noise bed). It has no parameters, so checkpoints keep their keys.
freq_attention_levels adds a FrequencyAttention block (the bins of each frame attend to each other, residual)
at the end of the stages that the same levels in attention_levels would give attention: a path from the kept
band to the rows far above it at the stage's own time resolution. Off by default; the released layout has none.
The other blocks keep their keys, and the new block starts as the identity, so a network trained without it
can be extended and trained on (A2SBModule's init_weights_from).
Every block is conditioned on [band embedding of its row, time embedding]: constant along frames, so it is
kept as a (B, E, h, 1) map, built once per resolution and forward.
The 3x3 convolutions take NNPACK's Winograd kernels on the CPU (models/winograd.py); winograd=False, or
set_winograd(False), gives the plain eager module with the same weights.
"""

from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from models.attention import AttentionBlock, FrequencyAttention
from models.unet_blocks import Downsample, GroupNorm32, ResBlock, Upsample
from models.winograd import Conv3x3

BAND_PI = 3.14  # the released model uses this literal, not math.pi


def band_embedding(rows: int, dim: int = 16, device=None, dtype=torch.float32) -> torch.Tensor:
    """(dim, rows): cos then sin of f * r * 2 * 3.14 / (3 * rows) for f = 1..dim/2 and row r."""
    f = torch.arange(1, dim // 2 + 1, device=device, dtype=torch.float32)
    r = torch.arange(rows, device=device, dtype=torch.float32)
    angles = torch.outer(f, r) * (2 * BAND_PI / (3 * rows))
    return torch.cat((angles.cos(), angles.sin())).to(dtype)


class UNet(nn.Module):
    def __init__(
        self,
        hidden_channels: Sequence[int] = (128, 256, 512, 768, 1024, 2048),
        attention_levels: Sequence[int] = (3, 4),
        num_res_blocks: int = 2,
        in_channels: int = 3,
        out_channels: int = 3,
        time_emb_dim: int = 128,
        band_emb_dim: int = 16,
        num_heads: int = 8,
        dropout: float = 0.1,
        attn_input_norm: bool = True,
        checkpointing: bool = False,
        winograd: bool = True,
        input_skip: bool = False,
        freq_attention_levels: Sequence[int] = (),
    ):
        super().__init__()
        widths = list(hidden_channels)
        levels = len(widths) - 1
        attention_levels = sorted(set(attention_levels))
        freq_attention_levels = sorted(set(freq_attention_levels))
        _check_config(widths, attention_levels, num_res_blocks, band_emb_dim)
        _check_levels("freq_attention_levels", freq_attention_levels, levels)
        self.levels = levels
        self.in_channels = in_channels
        self.time_emb_dim = time_emb_dim
        self.band_emb_dim = band_emb_dim
        self.checkpointing = checkpointing
        self.input_skip = input_skip
        cond_channels = band_emb_dim + time_emb_dim

        def stage(width: int, level: int) -> nn.ModuleList:
            blocks = []
            for _ in range(num_res_blocks):
                blocks.append(ResBlock(width, cond_channels, dropout))
                if level in attention_levels:
                    blocks.append(AttentionBlock(width, num_heads, attn_input_norm))
            if level in freq_attention_levels:  # last, so the other blocks keep their checkpoint keys
                blocks.append(FrequencyAttention(width))
            return nn.ModuleList(blocks)

        self.input_projection = Conv3x3(in_channels, widths[0])
        self.enc_blocks = nn.ModuleList(stage(widths[l], l) for l in range(levels))
        self.ds_layers = nn.ModuleList(Downsample(widths[l], widths[l + 1]) for l in range(levels))
        self.middle_block = nn.ModuleList(
            [
                ResBlock(widths[levels], cond_channels, dropout),
                AttentionBlock(widths[levels], num_heads, attn_input_norm),
                ResBlock(widths[levels], cond_channels, dropout),
            ]
        )
        self.dec_blocks = nn.ModuleList(stage(widths[levels - i], levels - 1 - i) for i in range(levels))
        self.us_layers = nn.ModuleList(Upsample(widths[levels - i], widths[levels - i - 1]) for i in range(levels))
        self.output_projection = nn.Sequential(
            GroupNorm32(widths[0]), nn.SiLU(), Conv3x3(widths[0], out_channels)
        )
        self.set_winograd(winograd)

    def set_winograd(self, enabled: bool) -> "UNet":
        """Winograd CPU convolutions on or off (models/winograd.py); off gives the plain eager module."""
        for module in self.modules():
            if isinstance(module, Conv3x3):
                module.winograd = bool(enabled)
        return self

    def extension_modules(self) -> tuple[str, ...]:
        """Names of the blocks that start as the identity (frequency attention): a checkpoint of the same network
        without them loads into this one with these left as initialised, and computes the same."""
        return tuple(name for name, module in self.named_modules() if isinstance(module, FrequencyAttention))

    def conditioning(self, t_emb: torch.Tensor, rows: int) -> torch.Tensor:
        """(B, band_emb_dim + time_emb_dim, rows, 1): band embedding in front of the time embedding."""
        band = band_embedding(rows, self.band_emb_dim, t_emb.device, t_emb.dtype)
        band = band[None, :, :, None].expand(t_emb.shape[0], -1, -1, -1)
        time = t_emb[:, :, None, None].expand(-1, -1, rows, -1)
        return torch.cat((band, time), dim=1)

    def _run_stage(self, blocks: nn.ModuleList, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        use_checkpoint = self.checkpointing and torch.is_grad_enabled()
        for block in blocks:
            args = (h, cond) if isinstance(block, ResBlock) else (h,)
            h = checkpoint(block, *args, use_reentrant=False) if use_checkpoint else block(*args)
        return h

    def forward(self, x: torch.Tensor, t_emb: torch.Tensor) -> torch.Tensor:
        """x: (B, in_channels, H, W) with H, W multiples of 2**levels; t_emb: (B, time_emb_dim)."""
        self._check_inputs(x, t_emb)
        height, t_emb = x.shape[-2], t_emb.to(x.dtype)
        cond = [self.conditioning(t_emb, height >> level) for level in range(self.levels + 1)]

        h = first = self.input_projection(x)
        skips = []
        for level, (blocks, down) in enumerate(zip(self.enc_blocks, self.ds_layers)):
            h = down(self._run_stage(blocks, h, cond[level]))
            skips.append(h)
        h = self._run_stage(self.middle_block, h, cond[self.levels])
        for i, (blocks, up) in enumerate(zip(self.dec_blocks, self.us_layers)):
            h = up(self._run_stage(blocks, h + skips.pop(), cond[self.levels - i]))
        if self.input_skip:
            h = h + first
        return self.output_projection(h)

    def _check_inputs(self, x: torch.Tensor, t_emb: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"UNet: input must be (batch, {self.in_channels}, height, width), got {tuple(x.shape)}")
        multiple = 2**self.levels
        if x.shape[-2] % multiple or x.shape[-1] % multiple:
            raise ValueError(
                f"UNet: input height and width must be multiples of {multiple} (2**{self.levels} levels), "
                f"got {tuple(x.shape[-2:])}"
            )
        if t_emb.shape != (x.shape[0], self.time_emb_dim):
            raise ValueError(
                f"UNet: time embedding must be ({x.shape[0]}, {self.time_emb_dim}), got {tuple(t_emb.shape)}"
            )


def _check_config(widths: list[int], attention_levels: list[int], num_res_blocks: int, band_emb_dim: int) -> None:
    levels = len(widths) - 1
    if levels < 1:
        raise ValueError(f"UNet: hidden_channels needs at least 2 widths (levels + 1), got {widths}")
    bad = [w for w in widths if w <= 0 or w % 32]
    if bad:
        raise ValueError(f"UNet: hidden_channels must be positive multiples of 32 (GroupNorm(32)); {bad} in {widths}")
    _check_levels("attention_levels", attention_levels, levels)
    if num_res_blocks < 1:
        raise ValueError(f"UNet: num_res_blocks must be at least 1, got {num_res_blocks}")
    if band_emb_dim < 2 or band_emb_dim % 2:
        raise ValueError(f"UNet: band_emb_dim must be a positive even number (cosines and sines), got {band_emb_dim}")


def _check_levels(name: str, chosen: list[int], levels: int) -> None:
    outside = [l for l in chosen if not 0 <= l < levels]
    if outside:
        raise ValueError(f"UNet: {name} must lie in 0..{levels - 1} for {levels} levels, got {outside}")
