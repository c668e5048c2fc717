"""What made a restoration: a JSON sidecar beside every output the tools write (OUT + ".json", e.g.
restored.wav.json), and the check that a tool resuming a job keeps only outputs made with this run's settings.

A record has two parts. `settings` decides the output and is what a resuming tool compares: the model's
weights (size and sha256 of each checkpoint, not their paths), the sampling config's content, the overrides,
steps, sampler, seed, the task as asked (e.g. "cutoff: detect") and the input's sha256. `facts` is recorded
only: paths, model name, device, what was detected (the cutoff, the gaps), the project version and the time.
A new project version alone does not make an output stale; a different model, config or input does.
`main.py predict` has no sampling config: its records (inference/prediction_writer.py) hold the digest of the
network's description and the engine's settings in its place.
"""
import datetime
import functools
import hashlib
import json
import os
import subprocess

import torch
import yaml

from audiokit.files import write_text

SIDECAR_SUFFIX = ".json"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HASH_BLOCK = 1 << 22
SHOWN_VALUE_CHARS = 48  # a differing value longer than this is reported as "differs"
NO_RECORD = "no provenance record beside it (made by an older version or another program)"


def sidecar_path(output):
    return output + SIDECAR_SUFFIX


@functools.lru_cache(maxsize=None)
def _sha256(path, size, mtime_ns):  # keyed by size and mtime too: a file replaced in place is hashed again
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path):
    stat = os.stat(path)
    return _sha256(os.path.realpath(path), stat.st_size, stat.st_mtime_ns)


def weights_record(path):
    """Size and content hash of one checkpoint file."""
    return {"bytes": os.path.getsize(path), "sha256": file_sha256(path)}


def module_weights_record(module):
    """Number and content hash of a network's parameters and buffers in memory (a network that no checkpoint
    file holds, such as the configured initialisation that `main.py predict` runs without --ckpt_path)."""
    digest = hashlib.sha256()
    values = 0
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())  # any dtype
        values += tensor.numel()
    return {"values": values, "sha256": digest.hexdigest()}


def settings_digest(settings):
    """sha256 of settings (as JSON with sorted keys, so that the order of a mapping does not count)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def config_digest(path):
    """sha256 of the config's settings (parsed, so comments and layout do not count)."""
    with open(path) as file:
        return settings_digest(yaml.safe_load(file))


@functools.lru_cache(maxsize=None)
def project_version():
    """`git describe` of this checkout (commit, with -dirty for uncommitted edits), else "unknown"."""
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"


def model_settings(config, checkpoints, overrides, steps, seed, ode):
    """The settings of one run that decide every output (the task and input are added per file)."""
    return {"weights": [weights_record(path) for path in checkpoints], "config_sha256": config_digest(config),
            "overrides": dict(sorted(overrides.items())), "steps": int(steps), "sampler": "ode" if ode else "sde",
            "seed": int(seed)}


def model_facts(model, config, checkpoints, device):
    return {"model": model, "config": os.path.abspath(config),
            "checkpoints": [os.path.abspath(path) for path in checkpoints], "device": str(device)}


def file_settings(run_settings, task, input_path):
    return {**run_settings, "task": task, "input_sha256": file_sha256(input_path)}


def write_record(output, settings, facts, result):
    """Writes OUT.json (atomically): settings, facts, and `result` (what this file's run found and did)."""
    record = {"settings": settings,
              "facts": {**facts, "output": os.path.abspath(output), "result": result, "version": project_version(),
                        "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}}
    write_text(sidecar_path(output), json.dumps(record, indent=1, default=str) + "\n")


def read_settings(output):
    """The settings recorded beside an output; None when there is no readable record."""
    try:
        with open(sidecar_path(output)) as file:
            record = json.load(file)
    except (OSError, ValueError):
        return None
    return record.get("settings") if isinstance(record, dict) else None


def _shown(value):
    text = json.dumps(value, default=str)
    return text if len(text) <= SHOWN_VALUE_CHARS else "differs"


def differences(recorded, wanted):
    """[] when an output's recorded settings are the wanted ones, else what differs, e.g. ["steps 5 -> 3"]."""
    if recorded is None:
        return [NO_RECORD]
    found = []
    for key in sorted(set(recorded) | set(wanted)):
        old, new = recorded.get(key), wanted.get(key)
        if old == new:
            continue
        if key == "input_sha256":
            found.append("the input file changed")
        elif key == "weights":
            found.append("other model weights")
        elif _shown(old) == "differs" or _shown(new) == "differs":
            found.append(f"{key} differs")
        else:
            found.append(f"{key} {_shown(old)} -> {_shown(new)}")
    return found
