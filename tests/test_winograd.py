import pytest
import torch

from datasets.synthetic import music_like
from models.representation import Representation
from models.unet import UNet
from models.winograd import NNPACK_AVAILABLE, WINOGRAD_MIN_PIXELS, Conv3x3
from helpers import TINY_ATTENTION_NETWORK as TINY, randomize_

pytestmark = pytest.mark.skipif(not NNPACK_AVAILABLE, reason="this torch build has no NNPACK")


def relative_difference(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.fixture(scope="module")
def music_images():
    """Two 64-frame windows of music-like audio as the UNet sees them, cut to the lowest 256 bins (3 x 256 x 64)
    to keep the test short; every level of the tiny UNet still has maps of WINOGRAD_MIN_PIXELS or more."""
    audio = torch.stack([torch.from_numpy(music_like(32256 / 44100, seed=seed)) for seed in (0, 1)])
    return Representation().encode(audio)[..., :256, :].contiguous()


def test_winograd_unet_equals_plain_module_to_float_rounding(music_images):
    torch.manual_seed(0)
    model = randomize_(UNet(**TINY, dropout=0.0)).eval()
    t_emb = torch.randn(2, 128)
    with torch.inference_mode():
        fast = model(music_images, t_emb)
        plain = model.set_winograd(False)(music_images, t_emb)
        single = model.set_winograd(True)(music_images[1:], t_emb[1:])
    assert plain.std() > 1e-2
    # Another kernel ran (not bit-equal), and it agrees to float rounding.
    assert not torch.equal(fast, plain)
    assert relative_difference(fast, plain) < 1e-4
    # A batch goes through item by item: one item alone gives the same numbers up to the other layers' kernels,
    # which may pick another algorithm for another batch size when several threads run.
    assert relative_difference(fast[1:], single) < 1e-5


def test_winograd_gradients_equal_plain_gradients(music_images):
    torch.manual_seed(0)
    model = randomize_(UNet(**TINY, dropout=0.0))
    t_emb = torch.randn(2, 128)
    grads = {}
    for enabled in (True, False):
        model.set_winograd(enabled).zero_grad()
        model(music_images, t_emb).square().mean().backward()
        grads[enabled] = torch.cat([p.grad.flatten() for p in model.parameters()])
    assert grads[False].norm() > 0
    assert relative_difference(grads[True], grads[False]) < 1e-4


@pytest.mark.parametrize(
    "stride, pixels, dtype, winograd",
    [
        (1, WINOGRAD_MIN_PIXELS, torch.float32, True),
        (1, WINOGRAD_MIN_PIXELS // 2, torch.float32, False),  # too small a map: the kernel transform dominates
        (2, 4 * WINOGRAD_MIN_PIXELS, torch.float32, False),  # Winograd is stride-1 only
        (1, WINOGRAD_MIN_PIXELS, torch.float64, False),
    ],
)
def test_winograd_runs_only_where_it_applies(stride, pixels, dtype, winograd):
    conv = Conv3x3(32, 32, stride=stride).to(dtype)
    x = torch.randn(1, 32, pixels // 32, 32, dtype=dtype)
    assert conv._winograd_applies(x) is winograd
    with torch.no_grad():
        torch.testing.assert_close(conv(x), torch.nn.functional.conv2d(x, conv.weight, conv.bias, stride, 1),
                                   rtol=1e-4, atol=1e-5)
    # channels_last inputs and autocast keep the plain kernels.
    assert not conv._winograd_applies(x.contiguous(memory_format=torch.channels_last))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not conv._winograd_applies(x)


def test_winograd_keeps_the_released_state_dict_keys():
    with torch.device("meta"):
        keys = list(UNet().state_dict())
        plain_keys = list(UNet(winograd=False).state_dict())
    assert keys == plain_keys and len(keys) == 327
