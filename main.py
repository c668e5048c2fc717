"""Training and evaluation entry point: `python main.py {fit,validate,test,predict} --config configs/X.yaml`."""
import os
import sys

from lightning.pytorch.cli import LightningCLI

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from datasets.datamodule import A2SBDataModule  # noqa: E402
from models.a2sb_module import A2SBModule  # noqa: E402

# Errors our own code raises for bad input (manifests, audio files, checkpoints, configs) carry a message
# that names the file and the problem; a traceback adds nothing for the user unless debugging.
USER_ERRORS = (ValueError, FileNotFoundError)


def main(args=None):
    try:
        LightningCLI(A2SBModule, A2SBDataModule, save_config_kwargs={"overwrite": True}, args=args)
    except USER_ERRORS as error:
        if os.environ.get("A2SB_DEBUG"):
            raise
        print(f"error: {error}  (set A2SB_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
