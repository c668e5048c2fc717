"""Building blocks of the A2SB UNet (improved-diffusion style), named as in the released checkpoints."""

import torch
import torch.nn.functional as F
from torch import nn

from models.winograd import Conv3x3


class GroupNorm32(nn.GroupNorm):
    """GroupNorm(32) computed in float32 and cast back, so statistics stay accurate under bf16 autocast."""

    def __init__(self, channels: int):
        super().__init__(32, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.group_norm(x.float(), self.num_groups, self.weight.float(), self.bias.float(), self.eps).to(x.dtype)


class ResBlock(nn.Module):
    """Residual block whose GroupNorm output is scaled and shifted by the conditioning.

    The conditioning arrives as a (B, E, h, 1) map: it is constant along frames, so the 1x1 `emb_layers`
    conv runs on that single column and its output broadcasts over the frames of the (B, C, h, w) input.
    """

    def __init__(self, channels: int, cond_channels: int, dropout: float):
        super().__init__()
        self.in_layers = nn.Sequential(GroupNorm32(channels), nn.SiLU(), Conv3x3(channels, channels))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Conv2d(cond_channels, 2 * channels, 1))
        self.out_norm = GroupNorm32(channels)
        self.out_rest = nn.Sequential(nn.SiLU(), nn.Dropout(dropout), Conv3x3(channels, channels))
        # A zero last conv makes every block start as the identity, as in improved-diffusion.
        nn.init.zeros_(self.out_rest[2].weight)
        nn.init.zeros_(self.out_rest[2].bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale, shift = self.emb_layers(cond).chunk(2, dim=1)
        h = torch.addcmul(shift, self.out_norm(self.in_layers(x)), 1 + scale)
        return x + self.out_rest(h)


class Downsample(nn.Module):
    """Strided 3x3 conv halving height and width."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.op = Conv3x3(in_channels, out_channels, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Upsample(nn.Module):
    """Nearest-neighbour x2 upsampling followed by a 3x3 conv."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = Conv3x3(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))
