"""Which items of a list one worker processes when a job is spread over several GPUs or machines.

A shard is written "i/n" (0-based i): the items are cut into n contiguous runs whose sizes differ by at
most one (the longer runs first, like numpy.array_split) and shard i takes run i. Without a spec, a
process started by torchrun takes its shard from the RANK and WORLD_SIZE environment variables; any other
process takes everything.
"""
import os
import re

RANK_ENV, WORLD_SIZE_ENV = "RANK", "WORLD_SIZE"
_SPEC = re.compile(r"\s*(-?\d+)\s*/\s*(-?\d+)\s*")


def _checked(index, count, where):
    if count < 1:
        raise ValueError(f"{where}: the number of shards must be at least 1, got {count}")
    if not 0 <= index < count:
        raise ValueError(f"{where}: the shard index counts from 0 and must be in 0..{count - 1}, got {index}")
    return index, count


def parse_shard(spec: str) -> tuple[int, int]:
    """"i/n" -> (i, n), with 0 <= i < n; a ValueError naming the spec otherwise."""
    match = _SPEC.fullmatch(str(spec))
    if not match:
        raise ValueError(f"shard {spec!r}: expected 'i/n' with whole numbers, shard i of n counting from 0 "
                         "(e.g. 0/4)")
    return _checked(int(match[1]), int(match[2]), f"shard {spec!r}")


def shard_from_env() -> tuple[int, int] | None:
    """(RANK, WORLD_SIZE) as torchrun sets them; None when neither is set."""
    rank, world_size = os.environ.get(RANK_ENV), os.environ.get(WORLD_SIZE_ENV)
    if rank is None and world_size is None:
        return None
    where = f"environment {RANK_ENV}={rank} {WORLD_SIZE_ENV}={world_size}"
    if rank is None or world_size is None:
        raise ValueError(f"{where}: set both or neither (torchrun sets both)")
    try:
        index, count = int(rank), int(world_size)
    except ValueError:
        raise ValueError(f"{where}: both must be whole numbers") from None
    return _checked(index, count, where)


def shard_slice(n_items: int, shard: str | None = None) -> range:
    """The indices of the items that shard `shard` ("i/n") processes, out of range(n_items).

    shard None: torchrun's RANK/WORLD_SIZE when set, else all items. Across the n shards every index
    appears exactly once; shards beyond the number of items are empty.
    """
    if n_items < 0:
        raise ValueError(f"shard_slice: the number of items must be >= 0, got {n_items}")
    index, count = parse_shard(shard) if shard is not None else (shard_from_env() or (0, 1))
    base, extra = divmod(n_items, count)
    start = index * base + min(index, extra)
    return range(start, start + base + (index < extra))
