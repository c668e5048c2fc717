"""3x3 convolutions that run through NNPACK's Winograd kernels on the CPU.

On a 2-core AVX-512 CPU the UNet's stride-1 3x3 convolutions run 1.4-3x faster through NNPACK than through
oneDNN's direct kernels once a feature map has WINOGRAD_MIN_PIXELS positions or more; below that, the
kernel transform NNPACK redoes on every call costs more than it saves (the 2048-wide 32 x 8 middle level
of a 256-frame window is 1.4x slower). Results agree to float rounding (relative difference about 5e-6).
NNPACK's batched path is not Winograd and no faster, so batches go through it one item at a time.
Gradients flow through the ordinary convolution backward. Everywhere else (CUDA, strided or half-precision
convolutions, autocast, channels_last inputs, torch.compile) the plain nn.Conv2d forward runs.
"""

import torch
from torch import nn

WINOGRAD_MIN_PIXELS = 1024
# Also initialises NNPACK, without which its convolution fails.
NNPACK_AVAILABLE = torch.backends.nnpack.is_available()


class Conv3x3(nn.Conv2d):
    """nn.Conv2d(in, out, 3, stride, padding=1) (same parameters and state_dict keys) with a Winograd CPU
    forward where it pays; `winograd = False` keeps the plain forward everywhere."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__(in_channels, out_channels, 3, stride=stride, padding=1)
        self.winograd = True

    def _winograd_applies(self, x: torch.Tensor) -> bool:
        return (
            self.winograd
            and NNPACK_AVAILABLE
            and self.stride == (1, 1)
            and x.ndim == 4
            and x.device.type == "cpu"
            and x.dtype == self.weight.dtype == torch.float32
            and x.shape[-2] * x.shape[-1] >= WINOGRAD_MIN_PIXELS
            and x.is_contiguous()
            and not torch.is_autocast_enabled("cpu")
            and not torch.compiler.is_compiling()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._winograd_applies(x):
            return super().forward(x)
        items = [
            torch._nnpack_spatial_convolution(item, self.weight, self.bias, self.padding, self.stride)
            for item in x.split(1)
        ]
        return items[0] if len(items) == 1 else torch.cat(items)
