import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from datasets.synthetic import music_like, write_demo_dataset  # noqa: E402
from helpers import tiny_model  # noqa: E402


@pytest.fixture
def music():
    """Callable returning music-like float32 mono audio: music(seconds, seed=0)."""
    return lambda seconds, seed=0: music_like(seconds, seed=seed)


@pytest.fixture
def demo_manifest(tmp_path):
    """A small data set of music-like WAV files with a manifest; returns the manifest path."""
    return write_demo_dataset(str(tmp_path / "data"), n_train=4, n_val=2, n_test=2, seconds=3.5)


@pytest.fixture(scope="session")
def model(tmp_path_factory):
    """Two tiny random experts in the released checkpoint layout and their sampling config: (config, [ckpts])."""
    return tiny_model(str(tmp_path_factory.mktemp("tiny_model")))
