"""Which items of a list one worker processes when a job is spread over several GPUs or machines.

A shard is written "i/n" (0-based i): the items are cut into n contiguous runs whose sizes differ by at
most one (the longer runs first, like numpy.array_split) and shard i takes run i. Without a spec, a
process started by torchrun takes its shard from the RANK and WORLD_SIZE environment variables; any other
process takes everything.
"""
import os

RANK_ENV, WORLD_SIZE_ENV = "RANK", "WORLD_SIZE"


def parse_shard(spec: str) -> tuple[int, int]:
    """"i/n" -> (i, n), with 0 <= i < n; a ValueError naming the spec otherwise."""
    parts = str(spec).split("/")
    try:
        if len(parts) != 2:
            raise ValueError
        index, count = int(parts[0]), int(parts[1])
    except ValueError:
        raise ValueError(f"shard {spec!r}: expected 'i/n' with whole numbers, shard i of n counting from 0 "
                         "(e.g. 0/4)") from None
    if count < 1:
        raise ValueError(f"shard {spec!r}: the number of shards must be at least 1, got {count}")
    if not 0 <= index < count:
        raise ValueError(f"shard {spec!r}: the shard index counts from 0 and must be in 0..{count - 1}, "
                         f"got {index}")
    return index, count


def shard_from_env() -> tuple[int, int] | None:
    """(RANK, WORLD_SIZE) as torchrun sets them; None when neither is set."""
    rank, world_size = os.environ.get(RANK_ENV), os.environ.get(WORLD_SIZE_ENV)
    if rank is None and world_size is None:
        return None
    if rank is None or world_size is None:
        missing = RANK_ENV if rank is None else WORLD_SIZE_ENV
        raise ValueError(f"environment: {RANK_ENV} and {WORLD_SIZE_ENV} must be set together "
                         f"(as torchrun does); {missing} is missing")
    return parse_shard(f"{rank.strip()}/{world_size.strip()}")


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
