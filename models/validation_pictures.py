"""Callback saving spectrograms and audio of fixed validation samples after every validation."""
import os

import lightning as L

from audiokit.constants import SAMPLE_RATE
from audiokit.plots import save_spectrogram_png, spectrogram_figure
from audiokit.tool_io import write_audio


class ValidationPictures(L.Callback):
    """Writes clean / degraded / restored spectrogram PNGs and the restored WAVs of the first validation
    items of each data set and task to `<dirpath>/step=<N>/`, and logs the figures to TensorBoard when
    that logger is configured. The restorations come from the module's validation step (`val_examples`).

    Args:
        dirpath: output folder; defaults to `<trainer.log_dir>/validation_pictures`.
        num_items: items per data set and task.
    """

    def __init__(self, dirpath: str | None = None, num_items: int = 2):
        self.dirpath = dirpath
        self.num_items = num_items

    def _root(self, trainer):
        return self.dirpath or os.path.join(trainer.log_dir or trainer.default_root_dir, "validation_pictures")

    def on_validation_epoch_end(self, trainer, pl_module):
        if trainer.sanity_checking or not trainer.is_global_zero or not pl_module.val_examples:
            return
        folder = os.path.join(self._root(trainer), f"step={trainer.global_step}")
        os.makedirs(folder, exist_ok=True)
        experiment = getattr(trainer.logger, "experiment", None)
        for (dataset, task), example in pl_module.val_examples.items():
            for i in range(min(self.num_items, len(example["clean"]))):
                signals = {kind: example[kind][i].numpy() for kind in ("clean", "degraded", "restored")}
                stem = f"{dataset}_{task}_{i}"
                save_spectrogram_png(os.path.join(folder, stem + ".png"), signals,
                                     title=f"{dataset} {task} item {i}, step {trainer.global_step}")
                write_audio(os.path.join(folder, stem + "_restored.wav"), signals["restored"][None], "PCM_16")
                if hasattr(experiment, "add_figure"):
                    experiment.add_figure(f"val_pictures/{stem}", spectrogram_figure(signals),
                                          global_step=trainer.global_step)
                    experiment.add_audio(f"val_audio/{stem}", signals["restored"][None],
                                         global_step=trainer.global_step, sample_rate=SAMPLE_RATE)

