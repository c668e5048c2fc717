import numpy as np
import pytest

from inference.sharding import parse_shard, shard_slice


@pytest.fixture
def no_torchrun_env(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)


@pytest.mark.parametrize("n_items", [0, 1, 2, 5, 7, 10, 31, 64, 100, 1001])
@pytest.mark.parametrize("n_shards", [1, 2, 3, 4, 7, 8, 16, 33])
def test_shards_cover_every_item_once_like_array_split(n_items, n_shards, no_torchrun_env):
    shards = [shard_slice(n_items, f"{i}/{n_shards}") for i in range(n_shards)]
    covered = [index for shard in shards for index in shard]
    assert covered == list(range(n_items))  # contiguous, in order, each exactly once
    expected = np.array_split(np.arange(n_items), n_shards)
    assert [list(shard) for shard in shards] == [part.tolist() for part in expected]
    sizes = [len(shard) for shard in shards]
    assert max(sizes) - min(sizes) <= 1


def test_worked_example():
    # 10 items over 4 shards: sizes 3, 3, 2, 2.
    assert [shard_slice(10, f"{i}/4") for i in range(4)] == [range(0, 3), range(3, 6), range(6, 8), range(8, 10)]


def test_no_spec_and_no_env_takes_everything(no_torchrun_env):
    assert shard_slice(17) == range(17)


def test_torchrun_env_chooses_the_shard(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")
    ranks = []
    for rank in range(3):
        monkeypatch.setenv("RANK", str(rank))
        ranks.append(shard_slice(11))
    assert ranks == [range(0, 4), range(4, 8), range(8, 11)]


def test_explicit_spec_wins_over_env(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert shard_slice(10, "0/5") == range(0, 2)


@pytest.mark.parametrize("env, message", [
    ({"RANK": "2", "WORLD_SIZE": "2"}, "RANK=2 WORLD_SIZE=2: the shard index .* must be in 0..1"),
    ({"RANK": "0"}, "WORLD_SIZE=None: set both or neither"),
    ({"WORLD_SIZE": "4"}, "RANK=None WORLD_SIZE=4: set both or neither"),
    ({"RANK": "x", "WORLD_SIZE": "4"}, "whole numbers"),
])
def test_bad_env_is_a_clear_error(monkeypatch, no_torchrun_env, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        shard_slice(10)


@pytest.mark.parametrize("spec, message", [
    ("3/2", "must be in 0..1"),
    ("2/2", "must be in 0..1"),
    ("-1/2", "must be in 0..1"),
    ("a/b", "expected 'i/n'"),
    ("1", "expected 'i/n'"),
    ("1/2/3", "expected 'i/n'"),
    ("", "expected 'i/n'"),
    ("0/0", "at least 1"),
    ("0/-3", "at least 1"),
])
def test_bad_specs_are_clear_errors(spec, message):
    with pytest.raises(ValueError, match=message) as error:
        parse_shard(spec)
    assert repr(spec) in str(error.value)


def test_negative_item_count_is_an_error():
    with pytest.raises(ValueError, match="number of items"):
        shard_slice(-1, "0/1")
