"""The Lightning module: trains the A2SB bridge network and scores sampled restorations."""
import logging
import os

import lightning as L
import numpy as np
import torch
from torch import nn

from audiokit.constants import SAMPLE_RATE
from corrupt.degrade import degrade
from corrupt.masks import (bandwidth_mask, cutoff_bin, random_degradation_mask, true_band_mask,
                           validation_inpainting_mask)
from models import bridge
from models.denoiser import Denoiser
from models.representation import Representation
from models.sampler import sample_bridge
from models.unet_weights import check_fits, load_into, load_unet_weights, unet_weights_of

log = logging.getLogger(__name__)

VAL_TASKS = ("bandwidth", "inpainting")
SCORES = ("lsd", "log_sispec", "sispec", "ssim")  # what ssr_eval's AudioMetrics.evaluation scores


class A2SBModule(L.LightningModule):
    """Holds the UNet as `vf_model` and the time embedding as `t_to_emb`: the released checkpoint layout.

    Args:
        vf_model: the bridge network (models.unet.UNet).
        representation: waveform <-> image transforms; the released model's chains when omitted.
        beta_max: peak of the bridge's noise schedule.
        train_t_min, train_t_max: training times are drawn uniformly in [train_t_min, train_t_max);
            (0, 0.5) and (0.5, 1) train the two experts of the released two-split ensemble.
        mask_probs: probabilities of the (bandwidth, inpainting, extension) degradations.
        lr, weight_decay: RAdam with decoupled weight decay.
        init_weights_from: T-finetuning: start the network from this checkpoint's UNet weights with a fresh
            optimizer (ignored when resuming a run with --ckpt_path, whose state wins).
        val_t_values: times at which the validation loss is measured.
        val_sampling_steps: time points of the sampled validation restoration (0 disables it).
        val_restore_items: how many validation items per data set (and rank) are restored and scored.
        val_cutoff_hz: band edge of the validation bandwidth-extension task.
        test_sampling_steps: time points of the sampled restoration in `test`.
        compile: run the network through torch.compile (keeps the checkpoint keys unchanged).
    """

    def __init__(
        self,
        vf_model: nn.Module,
        representation: Representation | None = None,
        beta_max: float = 1.0,
        train_t_min: float = 0.0,
        train_t_max: float = 1.0,
        mask_probs: tuple[float, float, float] = (0.5, 0.5, 0.0),
        lr: float = 8e-5,
        weight_decay: float = 1e-8,
        init_weights_from: str | None = None,
        val_t_values: tuple[float, ...] = (0.01, 0.25, 0.5, 0.75, 0.99),
        val_sampling_steps: int = 25,
        val_restore_items: int = 4,
        val_cutoff_hz: float = 4000.0,
        test_sampling_steps: int = 50,
        compile: bool = False,
    ):
        super().__init__()
        if not 0.0 <= train_t_min < train_t_max <= 1.0:
            raise ValueError(f"model.train_t_min/train_t_max must satisfy 0 <= min < max <= 1, "
                             f"got {train_t_min}, {train_t_max}")
        self.save_hyperparameters(ignore=["vf_model", "representation"])
        self.vf_model = vf_model
        self.t_to_emb = bridge.TimeEmbedding()
        self.representation = representation or Representation()
        self._compiled_net = None
        self.val_examples = {}
        self._sums = {}

    # ---- network -------------------------------------------------------------------------------------
    @property
    def denoiser(self):
        """The network as an x0-predictor (models/denoiser.py), compiled when `compile` is on."""
        network = self.vf_model if self._compiled_net is None else self._compiled_net
        return Denoiser(network, self.t_to_emb, self.hparams.beta_max)

    def setup(self, stage):
        if stage == "fit" and self.hparams.init_weights_from and not self._resuming():
            path = self.hparams.init_weights_from
            if not os.path.isfile(path):
                raise FileNotFoundError(f"model.init_weights_from: checkpoint not found: {path} (set it to your "
                                        "pretrained checkpoint, e.g. A2SB_onesplit_0.0_1.0_release.ckpt)")
            # A network trained without frequency attention can be extended: the new blocks start as the identity.
            load_into(self.vf_model, load_unet_weights(path), path, new_modules=self.vf_model.extension_modules())
            log.info("initialised vf_model from %s", path)
        if self.hparams.compile and self._compiled_net is None:
            # Stored outside the module tree so state_dict keys stay those of the released layout.
            self.__dict__["_compiled_net"] = torch.compile(self.vf_model)

    def on_load_checkpoint(self, checkpoint):
        """Weights of another network raise one line naming the file (Lightning's strict load would list
        every key in a traceback)."""
        check_fits(self.vf_model, unet_weights_of(checkpoint), self.trainer.ckpt_path)

    def _resuming(self):
        return self._trainer is not None and self.trainer.ckpt_path is not None

    # ---- training ------------------------------------------------------------------------------------
    def bridge_loss(self, x0, mask, max_bin, t, generator=None):
        """Loss of the network on images x0 degraded by `mask`, at times t, over the degraded entries inside
        each item's true band (max_bin)."""
        x1 = degrade(x0, mask, generator=generator)
        loss_mask = mask * true_band_mask(max_bin, *x0.shape[-2:]).to(mask)
        return self.denoiser.loss(x0, x1, t, loss_mask, noise=_randn_like(x0, generator))

    def training_step(self, batch, batch_idx):
        if _is_empty(batch):
            # Alone, skip the step. Under DDP Lightning cannot skip on one rank (the others would wait for its
            # gradients), so this rank adds zero gradients to the others' average instead.
            if not self._distributed():
                return None
            return sum(parameter.sum() for parameter in self.parameters() if parameter.requires_grad) * 0.0
        x0 = self.representation.encode(batch["audio"])
        batch_size, _, height, width = x0.shape
        mask = random_degradation_mask(batch_size, height, width, self.hparams.mask_probs).to(x0)
        t_min, t_max = self.hparams.train_t_min, self.hparams.train_t_max
        t = t_min + (t_max - t_min) * torch.rand(batch_size, device=x0.device)
        # sigma_fwd(0) = 0 makes the target 0/0; the clamp moves only the measure-zero t = 0.
        t = t.clamp_min(1e-5)
        loss = self.bridge_loss(x0, mask, batch["max_bin"], t)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        return loss

    def _distributed(self):
        return self._trainer is not None and self.trainer.world_size > 1

    def configure_optimizers(self):
        return torch.optim.RAdam(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay,
                                 decoupled_weight_decay=True)

    # ---- validation / test ---------------------------------------------------------------------------
    def _dataset_name(self, dataloader_idx, stage):
        names = getattr(self.trainer.datamodule, f"{stage}_dataset_names", None) if self._trainer else None
        return names[dataloader_idx] if names else f"set{dataloader_idx}"

    def _fixed_masks(self, batch_size, height, width, device):
        """The two validation degradations: a fixed band edge and a centred gap."""
        bw = bandwidth_mask(height, width, cutoff_bin(self.hparams.val_cutoff_hz)).to(device)
        inp = validation_inpainting_mask(height, width).to(device)
        return {"bandwidth": bw.expand(batch_size, 1, height, width),
                "inpainting": inp.expand(batch_size, 1, height, width)}

    def validation_step(self, batch, batch_idx, dataloader_idx=0):
        if _is_empty(batch):
            return None
        name = self._dataset_name(dataloader_idx, "val")
        x0 = self.representation.encode(batch["audio"])
        batch_size, _, height, width = x0.shape
        generator = torch.Generator(device=x0.device).manual_seed(1234 + batch_idx)
        masks = self._fixed_masks(batch_size, height, width, x0.device)
        losses = []
        for t_value in self.hparams.val_t_values:
            t = torch.full((batch_size,), t_value, device=x0.device)
            task_losses = [self.bridge_loss(x0, m, batch["max_bin"], t, generator) for m in masks.values()]
            loss_t = torch.stack(task_losses).mean()
            losses.append(loss_t)
            self._add(f"val/{name}/loss_t{t_value:g}", loss_t, batch_size)
        self._add(f"val/{name}/loss", torch.stack(losses).mean(), batch_size)
        self._restore_and_score(batch, batch_idx, x0, masks, name, self.hparams.val_sampling_steps, "val")

    def test_step(self, batch, batch_idx, dataloader_idx=0):
        if _is_empty(batch):
            return None
        name = self._dataset_name(dataloader_idx, "test")
        x0 = self.representation.encode(batch["audio"])
        batch_size, _, height, width = x0.shape
        masks = self._fixed_masks(batch_size, height, width, x0.device)
        self._restore_and_score(batch, batch_idx, x0, masks, name, self.hparams.test_sampling_steps, "test")

    def restore(self, x0, mask, n_steps, length, generator):
        """Degrades clean images x0 with `mask`, samples them back over n_steps time points, returns waveforms."""
        x1 = degrade(x0, mask, generator=generator)
        times = bridge.time_grid(n_steps).tolist()
        restored = sample_bridge(self.denoiser, x1, mask, times, self.hparams.beta_max, generator=generator)
        return self.representation.decode(restored.float(), length)

    def _restore_and_score(self, batch, batch_idx, x0, masks, name, n_steps, stage):
        """Samples restorations of the first items and logs ssr_eval metrics (LSD and friends)."""
        limit = self.hparams.val_restore_items if stage == "val" else None
        first = batch_idx * x0.shape[0]
        n_items = x0.shape[0] if limit is None else min(x0.shape[0], max(0, limit - first))
        if n_steps < 2 or n_items == 0:
            return
        from ssr_eval.metrics import AudioMetrics

        metrics = AudioMetrics(SAMPLE_RATE)
        length = batch["audio"].shape[-1]
        clean = batch["audio"][:n_items]
        generator = torch.Generator(device=x0.device).manual_seed(4321 + batch_idx)
        for task, mask in masks.items():
            mask = mask[:n_items]
            restored = self.restore(x0[:n_items], mask, n_steps, length, generator)
            scores = [metrics.evaluation(r.cpu().double().numpy(), c.cpu().double().numpy(), None)
                      for r, c in zip(restored, clean)]
            for key in SCORES:
                self._add(f"{stage}/{name}/{task}/{key}", np.mean([s[key] for s in scores]), n_items)
            if stage == "val" and batch_idx == 0:
                degraded = self.representation.decode((x0[:n_items] * (1 - mask)).float(), length)
                self.val_examples[(name, task)] = {"clean": clean.cpu(), "degraded": degraded.cpu(),
                                                   "restored": restored.cpu()}

    def predict_step(self, batch, batch_idx, dataloader_idx=0):
        """Names the batch's test files. Restoring them whole (all channels, full length) needs the restoration
        engine, which lives above this package: the predict callback does it (inference/prediction_writer.py)."""
        return {"dataset": self._dataset_name(dataloader_idx, "test"), "index": batch["index"]}

    # ---- epoch means ---------------------------------------------------------------------------------
    # Each rank sums its items' values; the sums are reduced once at the end of the epoch, over a list of keys that
    # every rank builds alike. Lightning's own sync_dist means would hang when a rank never logged a key (its
    # batches all failed to decode) and are skewed when the ranks saw different numbers of items (it averages
    # the item counts in integers).
    def _add(self, key, value, n_items):
        total, count = self._sums.get(key, (0.0, 0))
        self._sums[key] = (total + float(value) * n_items, count + n_items)

    def _epoch_keys(self, stage, n_steps):
        loaders = self.trainer.num_val_batches if stage == "val" else self.trainer.num_test_batches
        keys = []
        for name in (self._dataset_name(i, stage) for i in range(len(loaders))):
            if stage == "val":
                keys += [f"val/{name}/loss_t{t:g}" for t in self.hparams.val_t_values] + [f"val/{name}/loss"]
            if n_steps >= 2:
                keys += [f"{stage}/{name}/{task}/{score}" for task in VAL_TASKS for score in SCORES]
        return keys

    def _log_epoch_means(self, stage, n_steps):
        """Logs every key's mean over all ranks' items (keys no rank saw are left out); returns them."""
        keys = self._epoch_keys(stage, n_steps)
        totals = torch.tensor([self._sums.get(key, (0.0, 0)) for key in keys], dtype=torch.float64,
                              device=self.device).reshape(-1, 2)
        if self._distributed():
            totals = self.trainer.strategy.reduce(totals, reduce_op="sum")
        means = {key: total / count for key, (total, count) in zip(keys, totals.tolist()) if count > 0}
        for key, value in means.items():
            # The same value on every rank: syncing leaves it as it is and keeps Lightning from warning.
            self.log(key, value, sync_dist=True)
        return means

    def on_validation_epoch_start(self):
        self.val_examples = {}
        self._sums = {}

    def on_validation_epoch_end(self):
        """`val_loss`: the mean over data sets of each set's mean loss (what checkpoints can monitor)."""
        means = self._log_epoch_means("val", self.hparams.val_sampling_steps)
        per_set = [value for key, value in means.items() if key.endswith("/loss")]
        if per_set:
            self.log("val_loss", float(np.mean(per_set)), prog_bar=True, sync_dist=True)

    def on_test_epoch_start(self):
        self._sums = {}

    def on_test_epoch_end(self):
        self._log_epoch_means("test", self.hparams.test_sampling_steps)


def _is_empty(batch):
    """Every file of the batch failed to decode (the data module logged them and left them out)."""
    return batch["audio"].shape[0] == 0


def _randn_like(x, generator):
    return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
