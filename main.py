"""Training and evaluation entry point: `python main.py {fit,validate,test,predict} --config configs/X.yaml`."""
import os
import sys

from lightning.pytorch.cli import LightningCLI

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from audiokit.cli import run_main  # noqa: E402
from datasets.datamodule import A2SBDataModule  # noqa: E402
from models.a2sb_module import A2SBModule  # noqa: E402
from models.trainer import Trainer  # noqa: E402
from models.unet_weights import check_training_checkpoint  # noqa: E402


class A2SBCLI(LightningCLI):
    def parse_arguments(self, parser, args):
        """Checks --ckpt_path right after parsing: LightningCLI then reads it with a bare torch.load, which
        fails deep inside torch on a truncated or foreign file (A2SBModule.on_load_checkpoint checks that
        the weights fit the configured network)."""
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if path and os.path.isfile(path):
            check_training_checkpoint(path)


def cli(args=None):
    # Trainer: Lightning's, whose precision also takes bf16-mixed-if-native (configs/small_cpu.yaml).
    A2SBCLI(A2SBModule, A2SBDataModule, trainer_class=Trainer, save_config_kwargs={"overwrite": True}, args=args)


def main(args=None):
    return run_main(cli, args)


if __name__ == "__main__":
    sys.exit(main())
