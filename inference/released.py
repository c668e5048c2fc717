"""The authors' released checkpoints: which sampling config goes with them, and fetching them from the Hub.

NVIDIA publishes them on the Hugging Face Hub (model card MODEL_CARD), under `ckpt/` in the repository.
A short model name (`twosplit`, `onesplit`) picks a sampling config in configs/; the config's
`checkpoint_files` lists the released files of that model, in increasing t. `small` is shipped in this
repository (pretrained/small/): its config names the file by its path in the repository, and nothing is fetched. A released file name that is
not a local file is fetched with `hf_hub_download` into the Hugging Face cache (its own progress bars; a
file already there is not fetched again; HF_HUB_OFFLINE=1 uses the cache only).
"""
import os

import yaml

HUB_REPO = "nvidia/audio_to_audio_schrodinger_bridge"
HUB_FOLDER = "ckpt"
MODEL_CARD = f"https://huggingface.co/{HUB_REPO}"
CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")
REPO_ROOT = os.path.dirname(CONFIG_DIR)
MODELS = {"twosplit": "ensemble_2split_sampling.yaml", "onesplit": "ensemble_1split_sampling.yaml",
          "small": "small_sampling.yaml"}
DEFAULT_MODEL = "twosplit"
_TRUE = {"1", "ON", "YES", "TRUE"}  # how huggingface_hub reads its boolean environment variables
HUB_PROBE_SECONDS = 5.0  # for the one request that asks whether the Hub answers


class HubUnavailableError(ValueError):
    """A released checkpoint that is neither a local file, in the cache, nor downloadable now."""


def model_config(model):
    """Path of the sampling config of a released model name."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; models: {', '.join(MODELS)}")
    return os.path.join(CONFIG_DIR, MODELS[model])


def model_files(model):
    """The checkpoint files of a model, in increasing t (its config's checkpoint_files): the path of weights
    shipped in this repository, else the released file name on the Hub."""
    with open(model_config(model)) as file:
        names = list(yaml.safe_load(file)["checkpoint_files"])
    return [shipped if os.path.isfile(shipped := os.path.join(REPO_ROOT, name)) else name for name in names]


def released_names():
    """The file names that are fetched from the Hub."""
    return {name for model in MODELS for name in model_files(model) if os.path.basename(name) == name}


def is_released_name(path):
    """A bare released file name that is not a local file: it is looked up in the Hub cache, else fetched."""
    path = str(path)
    return not os.path.exists(path) and os.path.basename(path) == path and path in released_names()


def check_checkpoint_files(paths, fix, source=None, fetchable=False):
    """One error naming every folder, else every missing file, among the checkpoint paths; `fix` says what to pass
    instead, `source` where the paths came from. With `fetchable`, bare released file names are left to
    resolve_checkpoints (the Hub cache, then the Hub)."""
    local = [path for path in paths if not (fetchable and is_released_name(path))]
    origin = f" (from {source})" if source else ""
    folders = [path for path in local if os.path.isdir(path)]
    if folders:
        raise ValueError(f"checkpoint path(s) {', '.join(folders)}{origin}: is a directory; pass the checkpoint "
                         f"files inside it as {fix}")
    missing = [path for path in local if not os.path.isfile(path)]
    if missing:
        raise FileNotFoundError(f"checkpoint file(s) not found: {', '.join(missing)}{origin}; pass {fix}")


def resolve_checkpoints(paths, source=None):
    """Each path: a local path as it is; a bare released file name that is not a local file: its copy in the Hub
    cache, asking the Hub at most once when some are not cached. Where it cannot be reached (or HF_HUB_OFFLINE
    is set), one error names every missing file, at once (no retries), and `source`, where the paths came from
    (e.g. "--model twosplit", "$A2SB_CHECKPOINTS")."""
    paths = [str(path) for path in paths]
    names = [path for path in paths if is_released_name(path)]
    if not names:
        return paths
    offline = os.environ.get("HF_HUB_OFFLINE", "").upper() in _TRUE
    found = {name: _cached(name) for name in names}
    missing = [name for name, cached in found.items() if cached is None]
    if missing:
        why = "offline mode (HF_HUB_OFFLINE) and not in the cache" if offline else _unreachable(missing[0])
        if why:
            raise HubUnavailableError(_unavailable_message(missing, why, source))
        found.update({name: fetch(name, source) for name in missing})
    return [found.get(path, path) for path in paths]


def _cache_dir():
    # huggingface_hub reads HF_HUB_CACHE once, when first imported; this follows the environment as it is now.
    return os.environ.get("HF_HUB_CACHE") or (os.path.join(os.environ["HF_HOME"], "hub")
                                              if os.environ.get("HF_HOME") else None)


def _cached(name):
    """Path of a released file in the Hub cache, None when it is not there (no network)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return hf_hub_download(HUB_REPO, f"{HUB_FOLDER}/{name}", cache_dir=_cache_dir(), local_files_only=True)
    except (LocalEntryNotFoundError, OSError):
        return None


def _unreachable(name):
    """None when the Hub answers about `name` now; else why not. One request, no retries (huggingface_hub's
    download retries a dead network five times, 23 s, with a line each)."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    try:
        get_hf_file_metadata(hf_hub_url(HUB_REPO, f"{HUB_FOLDER}/{name}"), timeout=HUB_PROBE_SECONDS)
    except Exception as error:  # httpx's transport errors are no OSErrors; any failure means the Hub did not answer
        return f"the Hub cannot be reached ({type(error).__name__})"
    return None


def _unavailable_message(names, why, source=None):
    files = " ".join(f"{HUB_FOLDER}/{name}" for name in names)
    ckpts = " ".join(f"--ckpt /path/to/{name}" for name in names)
    python_paths = ", ".join(f"'/path/to/{name}'" for name in names)
    named_by = f" (named by {source})" if source else ""
    return (f"cannot fetch {', '.join(names)}{named_by} from {HUB_REPO}: {why}; download "
            f"{'them' if len(names) > 1 else 'it'} from {MODEL_CARD} (Files, folder {HUB_FOLDER}/) and pass {ckpts} "
            f"(Python: checkpoints=[{python_paths}]), or fetch into the cache while online (hf download {HUB_REPO} "
            f"{files}) and run with HF_HUB_OFFLINE=1")


def fetch(name, source=None):
    """Downloads a released checkpoint into the Hugging Face cache (or finds it there); returns its path."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError

    try:
        return hf_hub_download(HUB_REPO, f"{HUB_FOLDER}/{name}", cache_dir=_cache_dir())
    except (EntryNotFoundError, HfHubHTTPError, OSError) as error:
        raise HubUnavailableError(_unavailable_message([name], f"the download failed ({type(error).__name__})",
                                                       source)) from None
