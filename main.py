"""Training and evaluation entry point: `python main.py {fit,validate,test,predict} --config configs/X.yaml`."""
import os
import sys

from lightning.pytorch.cli import LightningCLI

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from datasets.datamodule import A2SBDataModule  # noqa: E402
from models.a2sb_module import A2SBModule  # noqa: E402


def main(args=None):
    LightningCLI(A2SBModule, A2SBDataModule, save_config_kwargs={"overwrite": True}, args=args)


if __name__ == "__main__":
    main()
