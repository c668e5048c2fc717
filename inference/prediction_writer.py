"""`main.py predict`: bandwidth extension of whole test files with the restoration engine, written as WAV."""
import os

import torch
from lightning.pytorch.callbacks import BasePredictionWriter

from audiokit.tool_io import read_input, write_audio
from inference import provenance
from inference.engine import Restorer
from models.representation import num_frames

TASK = "bandwidth_extension"


class RestoredAudioWriter(BasePredictionWriter):
    """Restores every test file named by the predict batches, whole (all channels, full length, in the
    engine's chunks), from the module's `val_cutoff_hz` with `test_sampling_steps` time points, and writes
    `<output_dir>/<dataset>/<index>_<file name>.wav` (44.1 kHz, FLOAT) with its provenance record beside it
    (`.wav.json`, inference/provenance.py: the checkpoint file's size and hash, the network, the engine's
    settings, steps, seed, cutoff, the input's hash). Files already written there with this run's settings are
    kept, so an interrupted run picks up where it stopped; files written with other settings stop the run before
    anything is sampled, unless `redo_changed` restores them again. `summary`: what was written where.

    The engine runs the module's network as one expert over MultiDiffusion windows as long as the training
    segments (the context the network learned), overlapping by half: the windows, batch and float32 precision
    of `Restorer.from_config` on the same training config, so both restore alike and as fast.
    """

    def __init__(self, output_dir: str = "predictions", chunk_seconds: float = 60.0, overlap_seconds: float = 3.0,
                 redo_changed: bool = False):
        super().__init__(write_interval="batch")
        self.output_dir = output_dir
        self.chunk_seconds = chunk_seconds
        self.overlap_seconds = overlap_seconds
        self.redo_changed = redo_changed
        self.restorer = None
        self.wanted = {}  # target path -> the provenance settings this run gives it
        self.facts = {}
        self.written = self.kept = 0
        self.summary = None

    def on_predict_start(self, trainer, pl_module):
        window = num_frames(trainer.datamodule.segment_samples)
        window -= window % 2 ** pl_module.vf_model.levels
        engine = {"window_frames": window, "hop_frames": window // 2, "beta_max": pl_module.hparams.beta_max,
                  "chunk_seconds": self.chunk_seconds, "overlap_seconds": self.overlap_seconds}
        self.restorer = Restorer(network=None, checkpoints=[pl_module.vf_model], t_cutoffs=[], device=pl_module.device,
                                 **engine)
        self.wanted = self._wanted_settings(trainer, pl_module, engine)
        self.facts = {"tool": "main.py predict", "checkpoints": [os.path.abspath(trainer.ckpt_path)]
                      if trainer.ckpt_path else [], "device": str(pl_module.device)}
        self.written = self.kept = 0
        self._refuse_outputs_of_other_settings()

    def _targets(self, trainer):
        """(target path, test file path, index) of every test file, in the data sets' order."""
        datamodule = trainer.datamodule
        for name, dataset in zip(datamodule.test_dataset_names, datamodule.test_datasets):
            for index, file in enumerate(dataset.files):
                yield self._target(name, index, file.path), file.path, index

    def _target(self, dataset_name, index, path):
        stem = os.path.splitext(os.path.basename(path))[0]
        return os.path.join(self.output_dir, dataset_name, f"{index:05d}_{stem}.wav")

    def _wanted_settings(self, trainer, pl_module, engine):
        """The provenance settings of every target. The weights are the checkpoint file's (comparable with the
        tools' records of the same file), or the network's own values when no checkpoint was given."""
        weights = (provenance.weights_record(trainer.ckpt_path) if trainer.ckpt_path
                   else provenance.module_weights_record(pl_module.vf_model))
        shared = {"weights": [weights], "network_sha256": provenance.settings_digest(str(pl_module.vf_model)),
                  "engine": engine, "steps": int(pl_module.hparams.test_sampling_steps), "sampler": "sde"}
        task = {"task": TASK, "cutoff_hz": float(pl_module.hparams.val_cutoff_hz)}
        return {target: provenance.file_settings({**shared, "seed": index}, task, path)
                for target, path, index in self._targets(trainer)}

    def _refuse_outputs_of_other_settings(self):
        """Before anything is sampled: outputs already there but made otherwise are never kept as this run's."""
        if self.redo_changed:
            return
        changed = [(target, differs) for target, wanted in self.wanted.items() if os.path.exists(target)
                   and (differs := provenance.differences(provenance.read_settings(target), wanted))]
        if changed:
            target, differs = changed[0]
            raise ValueError(f"{self.output_dir}: {len(changed)} prediction(s) were made with other settings than "
                             f"this run's, e.g. {target}: {'; '.join(differs)}; set redo_changed: true in "
                             "RestoredAudioWriter's init_args to restore them again, or another output_dir")

    def write_on_batch_end(self, trainer, pl_module, prediction, batch_indices, batch, batch_idx, dataloader_idx):
        files = trainer.datamodule.test_datasets[dataloader_idx].files
        for index in prediction["index"].tolist():
            path = files[index].path
            target = self._target(prediction["dataset"], index, path)
            wanted = self.wanted[target]
            if os.path.exists(target) and not provenance.differences(provenance.read_settings(target), wanted):
                self.kept += 1
                continue
            audio, _ = read_input(path)
            restored = self.restorer.bandwidth_extension(audio, wanted["task"]["cutoff_hz"], n_steps=wanted["steps"],
                                                         seed=wanted["seed"], progress=False)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            provenance.write_record(target, wanted, self.facts, {"source": os.path.abspath(path)})
            write_audio(target, restored, "FLOAT")  # last: its presence marks the file as done
            self.written += 1

    def on_predict_end(self, trainer, pl_module):
        """Sums every rank's counts into `summary`, which main.py prints once the progress bar is gone."""
        counts = torch.tensor([self.written, self.kept], device=pl_module.device)
        written, kept = trainer.strategy.reduce(counts, reduce_op="sum").tolist()
        folders = ", ".join(os.path.join(self.output_dir, name) for name in trainer.datamodule.test_dataset_names)
        kept_note = f"; kept {kept} already written with these settings" if kept else ""
        self.summary = (f"predict: wrote {written} restored file(s) (WAV, with .wav.json records) to {folders}"
                        f"{kept_note}")
