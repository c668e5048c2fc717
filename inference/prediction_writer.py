"""`main.py predict`: bandwidth extension of whole test files with the restoration engine, written as WAV."""
import os

from lightning.pytorch.callbacks import BasePredictionWriter
from lightning.pytorch.utilities import rank_zero_info

from audiokit.tool_io import read_input, write_audio
from inference.engine import Restorer
from models.representation import num_frames


class RestoredAudioWriter(BasePredictionWriter):
    """Restores every test file named by the predict batches, whole (all channels, full length, in the
    engine's chunks), from the module's `val_cutoff_hz` with `test_sampling_steps` time points, and writes
    `<output_dir>/<dataset>/<index>_<file name>.wav` (44.1 kHz, FLOAT). Files already written there are skipped,
    so an interrupted run picks up where it stopped (delete the folder to restore them again).

    The engine runs the module's network as one expert over MultiDiffusion windows as long as the training
    segments (the context the network learned), overlapping by half.
    """

    def __init__(self, output_dir: str = "predictions", chunk_seconds: float = 60.0, overlap_seconds: float = 3.0):
        super().__init__(write_interval="batch")
        self.output_dir = output_dir
        self.chunk_seconds = chunk_seconds
        self.overlap_seconds = overlap_seconds
        self.restorer = None
        self.skipped = 0

    def on_predict_start(self, trainer, pl_module):
        self.skipped = 0
        window = num_frames(trainer.datamodule.segment_samples)
        window -= window % 2 ** pl_module.vf_model.levels
        self.restorer = Restorer(network=None, checkpoints=[pl_module.vf_model], t_cutoffs=[], device=pl_module.device,
                                 window_frames=window, hop_frames=window // 2, beta_max=pl_module.hparams.beta_max,
                                 chunk_seconds=self.chunk_seconds, overlap_seconds=self.overlap_seconds)

    def write_on_batch_end(self, trainer, pl_module, prediction, batch_indices, batch, batch_idx, dataloader_idx):
        folder = os.path.join(self.output_dir, prediction["dataset"])
        os.makedirs(folder, exist_ok=True)
        files = trainer.datamodule.test_datasets[dataloader_idx].files
        for index in prediction["index"].tolist():
            path = files[index].path
            target = os.path.join(folder, f"{index:05d}_{os.path.splitext(os.path.basename(path))[0]}.wav")
            if os.path.exists(target):
                self.skipped += 1
                continue
            audio, _ = read_input(path)
            restored = self.restorer.bandwidth_extension(audio, pl_module.hparams.val_cutoff_hz,
                                                         n_steps=pl_module.hparams.test_sampling_steps, seed=index,
                                                         progress=False)
            write_audio(target, restored, "FLOAT")

    def on_predict_end(self, trainer, pl_module):
        if self.skipped:
            rank_zero_info(f"predict: {self.skipped} files already written under {self.output_dir} were skipped")
