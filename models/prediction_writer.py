"""Callback writing the restorations of `main.py predict` as WAV files."""
import os

from lightning.pytorch.callbacks import BasePredictionWriter

from inference.io import write_audio


class RestoredAudioWriter(BasePredictionWriter):
    """Writes `<output_dir>/<dataset>/<index>.wav` (44.1 kHz, FLOAT) for every predicted item."""

    def __init__(self, output_dir: str = "predictions"):
        super().__init__(write_interval="batch")
        self.output_dir = output_dir

    def write_on_batch_end(self, trainer, pl_module, prediction, batch_indices, batch, batch_idx, dataloader_idx):
        folder = os.path.join(self.output_dir, prediction["dataset"])
        os.makedirs(folder, exist_ok=True)
        for index, audio in zip(prediction["index"].tolist(), prediction["restored"].cpu().numpy()):
            write_audio(os.path.join(folder, f"{index:05d}.wav"), audio[None], "FLOAT")
