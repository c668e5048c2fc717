"""Which torch device restoration runs on: checked before any weights are loaded."""
import torch


def resolve_device(requested=None):
    """torch.device for `requested` ("cpu", "cuda", "cuda:1", "mps", ...), or the best available one for None:
    CUDA, else Apple's MPS, else the CPU. A device this torch build or machine lacks raises one ValueError."""
    if requested is None:
        return _best_available()
    try:
        device = torch.device(requested)
    except (RuntimeError, TypeError):
        raise ValueError(f"--device {requested}: not a torch device; use cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = "this torch build has no CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise ValueError(f"--device {requested}: CUDA is not available ({build}); use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"--device {requested}: there are {torch.cuda.device_count()} CUDA device(s), "
                             f"numbered from 0")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"--device {requested}: Apple's MPS is not available here; use --device cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"--device {requested}: restoration runs on cpu, cuda or mps, not {device.type}")
    return device


def _best_available():
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
