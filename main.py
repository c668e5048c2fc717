"""Training and evaluation entry point: `python main.py {fit,validate,test,predict} --config configs/X.yaml`."""
import logging
import os
import sys
import warnings

import torch
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.utilities import rank_zero_info
from lightning_utilities.core import rank_zero as lightning_rank_zero

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from audiokit.cli import run_main  # noqa: E402
from datasets.datamodule import A2SBDataModule  # noqa: E402
from inference.prediction_writer import RestoredAudioWriter  # noqa: E402
from models.a2sb_module import A2SBModule  # noqa: E402
from models.trainer import Trainer  # noqa: E402
from models.unet_weights import check_training_checkpoint  # noqa: E402

PROJECT_PACKAGES = ("audiokit", "datasets", "corrupt", "models", "inference", "benchmarks", "main", "__main__")
# warnings attributed to any module outside this project (warnings.filterwarnings matches the module's name)
LIBRARY_MODULE = rf"(?!(?:{'|'.join(PROJECT_PACKAGES)})(?:\.|$))"
LIGHTNING_TIP = "💡 Tip"


class DropLightningTips(logging.Filter):
    """Drops Lightning's advertisements ("💡 Tip: ... try installing litlogger"); its other lines stay."""

    def filter(self, record):
        return not str(record.msg).startswith(LIGHTNING_TIP)


DROP_LIGHTNING_TIPS = DropLightningTips()


def quiet_library_noise():
    """Keeps the terminal to what concerns this run: no deprecation notices about the libraries' own code (torch's
    pytree inside Lightning's loops) and no Lightning tips. Errors, the project's warnings and Lightning's
    information lines (device, checkpoint restored) still show."""
    for category in (DeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category, module=LIBRARY_MODULE)
    lightning_rank_zero.log.addFilter(DROP_LIGHTNING_TIPS)  # the logger of Lightning's rank_zero_info (once)


def checkpoint_hyperparameters(path):
    """The module's init arguments saved in a Lightning checkpoint ({} when it has none)."""
    hyperparameters = torch.load(path, weights_only=True, map_location="cpu").get("hyper_parameters") or {}
    return {key: value for key, value in hyperparameters.items() if not key.startswith("_")}


class A2SBCLI(LightningCLI):
    def parse_arguments(self, parser, args):
        """Checks --ckpt_path right after parsing: LightningCLI then reads it with a bare torch.load, which
        fails deep inside torch on a truncated or foreign file (A2SBModule.on_load_checkpoint checks that
        the weights fit the configured network).

        The checkpoint's hyperparameters become the model's defaults, and the arguments are parsed again: the
        config and the command line win over them. LightningCLI applies them over both (its _parse_ckpt_path),
        which made `predict --ckpt_path X --model.test_sampling_steps 3` sample the 10 points the checkpoint
        recorded."""
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if path and os.path.isfile(path):
            check_training_checkpoint(path)
            if self._use_as_model_defaults(subcommand, checkpoint_hyperparameters(path)):
                super().parse_arguments(parser, args)

    def _use_as_model_defaults(self, subcommand, hyperparameters):
        """Sets the model's defaults from `hyperparameters`; whether any was set. A setting this version of the
        module no longer has is left out: it cannot change what the module does."""
        parser = self._parser(subcommand)
        defaults = {f"model.{key}": value for key, value in hyperparameters.items()}
        known = {key: value for key, value in defaults.items() if _has_option(parser, key)}
        if known:
            parser.set_defaults(known)
        return bool(known)

    def after_predict(self):
        """The last line: what predict wrote and where (after Lightning's progress bar has finished)."""
        writers = [callback for callback in self.trainer.callbacks if isinstance(callback, RestoredAudioWriter)]
        for writer in writers:
            rank_zero_info(writer.summary)
        if not writers:
            rank_zero_info("predict: nothing written: trainer.callbacks has no inference.prediction_writer."
                           "RestoredAudioWriter (configs/tiny_cpu.yaml shows one)")

    def _parse_ckpt_path(self):
        """Done in parse_arguments, with the arguments winning over the checkpoint's hyperparameters."""


def _has_option(parser, key):
    try:
        parser.get_default(key)
    except KeyError:
        return False
    return True


def cli(args=None):
    quiet_library_noise()
    # Trainer: Lightning's, whose precision also takes bf16-mixed-if-native (configs/small_cpu.yaml).
    A2SBCLI(A2SBModule, A2SBDataModule, trainer_class=Trainer, save_config_kwargs={"overwrite": True}, args=args)


def main(args=None):
    return run_main(cli, args)


if __name__ == "__main__":
    sys.exit(main())
