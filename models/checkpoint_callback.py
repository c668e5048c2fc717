"""Lightning's ModelCheckpoint, plus last.ckpt when training stops between two saves.

Lightning 2.6 writes last.ckpt at the end of training only if it never wrote one before, so a run stopped by
`trainer.max_time` or `max_steps` between two periodic saves loses its final steps (a one-hour CPU run here lost
174 of 1174). Resuming with --ckpt_path last.ckpt then repeats them, and a time-limited recipe never gets its full
budget. This subclass saves last.ckpt once more when the step count moved since the last save.
"""
from lightning.pytorch.callbacks import ModelCheckpoint as LightningModelCheckpoint


class ModelCheckpoint(LightningModelCheckpoint):
    def on_train_end(self, trainer, pl_module):
        if self.save_last and self._last_global_step_saved != trainer.global_step:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        else:
            super().on_train_end(trainer, pl_module)
