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


def resolve_checkpoint(path):
    """A local path as it is; a bare released file name that is not a local file: its copy in the Hub cache."""
    path = str(path)
    if os.path.exists(path) or os.path.basename(path) != path or path not in released_names():
        return path
    return fetch(path)


def fetch(name):
    """Downloads a released checkpoint into the Hugging Face cache (or finds it there); returns its path."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError

    # huggingface_hub reads HF_HUB_OFFLINE and HF_HUB_CACHE once, when first imported; these follow the
    # environment as it is now.
    offline = os.environ.get("HF_HUB_OFFLINE", "").upper() in _TRUE
    cache = os.environ.get("HF_HUB_CACHE") or (os.path.join(os.environ["HF_HOME"], "hub")
                                               if os.environ.get("HF_HOME") else None)
    try:
        return hf_hub_download(HUB_REPO, f"{HUB_FOLDER}/{name}", cache_dir=cache, local_files_only=offline)
    except (EntryNotFoundError, HfHubHTTPError, OSError) as error:
        why = "offline mode (HF_HUB_OFFLINE) and not in the cache" if offline else \
            f"the Hub cannot be reached ({type(error).__name__})"
        raise HubUnavailableError(
            f"{name}: cannot fetch {HUB_FOLDER}/{name} of {HUB_REPO}: {why}; download it from {MODEL_CARD} "
            f"(Files, folder {HUB_FOLDER}/) and pass --ckpt /path/to/{name}, or fetch it into the cache while "
            f"online: hf download {HUB_REPO} {HUB_FOLDER}/{name}") from None
