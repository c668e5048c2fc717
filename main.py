"""Training and evaluation entry point: `python main.py {fit,validate,test,predict} --config configs/X.yaml`."""
import os
import sys

from lightning.pytorch.cli import LightningCLI

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from datasets.datamodule import A2SBDataModule  # noqa: E402
from datasets.segments import TooManyFailedFilesError  # noqa: E402
from models.a2sb_module import A2SBModule  # noqa: E402
from models.checkpoint import check_training_checkpoint  # noqa: E402

# Errors our own code raises for bad input (manifests, audio files, checkpoints, configs, data that fails to
# decode) carry a message that names the file and the problem; a traceback adds nothing for the user unless
# debugging.
USER_ERRORS = (ValueError, FileNotFoundError, TooManyFailedFilesError)


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


def main(args=None):
    try:
        A2SBCLI(A2SBModule, A2SBDataModule, save_config_kwargs={"overwrite": True}, args=args)
    except USER_ERRORS as error:
        if os.environ.get("A2SB_DEBUG"):
            raise
        print(f"error: {error}  (set A2SB_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
