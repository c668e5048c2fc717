"""torch.compile for restoration: whether it pays, and a compile cache that outlives the process.

Cost model. Compiling the released UNet with inductor takes about a minute, and afterwards every window pass
(one window of one channel through the network) is faster. Before sampling, a restoration knows how many passes
lie ahead: windows per network call x network calls (time points - 1), summed over its chunks. It compiles when

    passes x saving_s  >  compile cost,

where the compile cost is cold_s for the first graph plus cached_s for each further one (the experts of an
ensemble share one architecture, so the second is found in the cache the first filled), or cached_s for every
graph when this machine compiled the same graph before (a marker in the cache says so). The defaults
(CompileCosts) come from one H200 (docs/performance.md); a config or the Restorer can replace them.

Cache. Inductor keeps compiled graphs in its FX graph cache under TORCHINDUCTOR_CACHE_DIR, by default a folder in
/tmp that a reboot or a container clears. use_persistent_cache points it at the user's cache folder instead
(~/.cache/a2sb/inductor, or under $XDG_CACHE_HOME), unless TORCHINDUCTOR_CACHE_DIR is set already, so a second
process finds the graphs of the first and compiles in seconds.
"""
import hashlib
import os
from dataclasses import dataclass

import torch

MARKERS = "a2sb_compiled"  # folder of the markers, inside the inductor cache (cleared with it)


@dataclass(frozen=True)
class CompileCosts:
    """Seconds the cost model weighs. Measured on one H200 with the released UNet (docs/performance.md):
    cold_s the inductor compile of one window (bf16, channels_last), cached_s the same graph found in the cache;
    saving_s per window pass is eager bf16 at window batch 8 (20.7 ms) less compiled at batch 1 (11.1 ms), a
    lower bound: compiled passes at larger batches were not measured and can only be cheaper."""
    cold_s: float = 61.0
    cached_s: float = 7.3
    saving_s: float = 0.0096

    def compile_seconds(self, graphs, warm):
        """Expected compile time of `graphs` graphs of one architecture; warm: compiled here before."""
        return graphs * self.cached_s if warm else self.cold_s + (graphs - 1) * self.cached_s

    def break_even(self, graphs, warm):
        """Window passes from which compiling pays."""
        return self.compile_seconds(graphs, warm) / self.saving_s

    def pays(self, passes, graphs, warm):
        return passes * self.saving_s > self.compile_seconds(graphs, warm)


def compile_costs(settings):
    """CompileCosts from None (the defaults), a CompileCosts, or a mapping of some of its fields (a config)."""
    if settings is None or isinstance(settings, CompileCosts):
        return settings or CompileCosts()
    known = sorted(CompileCosts.__dataclass_fields__)
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise ValueError(f"compile_costs: unknown field(s) {unknown}; known: {known}")
    costs = CompileCosts(**{name: float(value) for name, value in settings.items()})
    if min(costs.cold_s, costs.cached_s) < 0 or costs.saving_s <= 0:
        raise ValueError(f"compile_costs: the seconds must not be negative and saving_s must be positive, got {costs}")
    return costs


def check_compile(choice):
    if not (choice == "auto" or choice is True or choice is False):
        raise ValueError(f"compile must be 'auto', True or False, got {choice!r}")
    return choice


def default_cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "a2sb", "inductor")


def use_persistent_cache():
    """Points inductor's cache at the user's cache folder unless TORCHINDUCTOR_CACHE_DIR chooses one; returns it."""
    return os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", default_cache_dir())


def graph_key(*parts):
    """A marker name for one compiled graph: what decides its code (torch, device, network, shapes, options)."""
    text = repr((torch.__version__, *parts))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _marker(key):
    return os.path.join(use_persistent_cache(), MARKERS, key)


def compiled_before(key):
    return os.path.exists(_marker(key))


def mark_compiled(key):
    os.makedirs(os.path.dirname(_marker(key)), exist_ok=True)
    with open(_marker(key), "w"):
        pass


class FixedBatch:
    """A compiled network called at one batch size: a shorter call (the last of a step, or of a short chunk) is
    padded with zeros and its output cut, so one graph serves every call and nothing recompiles (and CUDA graphs,
    which replay fixed shapes, can serve it too)."""

    def __init__(self, network, batch, memory_format):
        self.network, self.batch, self.memory_format = network, int(batch), memory_format

    def __call__(self, x, emb):
        n = x.shape[0]
        if n > self.batch:
            raise ValueError(f"compiled network: a call of {n} windows exceeds its batch of {self.batch}")
        if n < self.batch:
            x = torch.cat((x, x.new_zeros(self.batch - n, *x.shape[1:])))
            emb = torch.cat((emb, emb[:1].expand(self.batch - n, -1)))
        # One layout for every call: the time embedding arrives as a stride-0 expansion or, padded, contiguous.
        return self.network(x.contiguous(memory_format=self.memory_format), emb.contiguous())[:n]
