"""The LightningModule: cross-entropy training, torchmetrics, and per-epoch calibration of the guard."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_warn
from torchmetrics import MaxMetric
from torchmetrics.classification import MulticlassAccuracy
from torchmetrics.utilities.distributed import gather_all_tensors

from digit_lit.calibration import ACCEPT_NOTHING, choose_threshold, fit_temperature
from digit_lit.checkpoint import checkpoint_digest
from digit_lit.constants import NUM_CLASSES
from digit_lit.errors import CheckpointError, ConfigError
from digit_lit.guard import FORMAT, GuardError, Rule, check_max_wrong_accept, rejection_report
from digit_lit.lightning_quirks import is_logging_step
from digit_lit.metrics import TestSamples, test_figures
from digit_lit.models import build_net, members
from digit_lit.outliers import OUTLIER_LABEL

OptimizerFactory = Callable[..., torch.optim.Optimizer]
SchedulerFactory = Callable[..., torch.optim.lr_scheduler.LRScheduler]


def check_optimizer(optimizer: OptimizerFactory | None) -> None:
    """Build the optimizer once on a probe parameter: torch checks lr, betas, weight decay... when one is made."""
    if optimizer is None:
        return
    try:
        optimizer(params=[torch.nn.Parameter(torch.zeros(1))])
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"model.optimizer is invalid: {str(exc).strip().splitlines()[0]}") from exc


class DigitClassifier(L.LightningModule):
    """`net` is a plain spec ({"name": "mlp", "hidden": [...]}) so checkpoints rebuild it with weights_only=True.

    The calibration (temperature, threshold) lives in buffers: every checkpoint carries the values fitted on the
    validation split at the end of its own validation epoch.
    """

    def __init__(
        self,
        net: dict[str, Any],
        optimizer: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        max_wrong_accept: float = 0.001,
        bound_confidence: float | None = 0.95,
        max_world_wrong_accept: float | None = None,
        max_nondigit_accept: float | None = None,
        outlier_weight: float = 0.0,
    ) -> None:
        super().__init__()
        check_max_wrong_accept(max_wrong_accept)
        if bound_confidence is not None:
            check_max_wrong_accept(bound_confidence, "model.bound_confidence")
        for name, value in (
            ("max_world_wrong_accept", max_world_wrong_accept),
            ("max_nondigit_accept", max_nondigit_accept),
        ):
            if value is not None:
                check_max_wrong_accept(value, f"model.{name}")
        check_optimizer(optimizer)
        self.save_hyperparameters(ignore=["optimizer", "scheduler"])
        self.net = build_net(**net)
        self.optimizer, self.scheduler = optimizer, scheduler
        self.max_wrong_accept, self.outlier_weight = max_wrong_accept, outlier_weight
        self.bound_confidence = bound_confidence
        # the wrong-accept target of each validation group the threshold is fitted on (None: watched, not bounded)
        self.targets = {
            "mnist": max_wrong_accept,
            "world": max_wrong_accept if max_world_wrong_accept is None else max_world_wrong_accept,
            "outliers": max_nondigit_accept,
        }
        # float64: a threshold sits between two confidences that can differ by less than float32's step near 1
        self.register_buffer("temperature", torch.tensor(1.0, dtype=torch.float64))
        self.register_buffer("threshold", torch.tensor(0.0, dtype=torch.float64))

        # per-step metric on the hot path: skip input validation (the net always emits [N, 10] logits)
        # Training figures are two running sums, not torchmetrics: a Metric update costs ~0.5 ms on the hot path
        # (~15% of an MLP step on CPU). Train shards are equal under DDP, so the synced epoch mean is exact.
        self.register_buffer("_train_sums", torch.zeros(3), persistent=False)  # loss sum, correct, samples
        self.val_acc = MulticlassAccuracy(NUM_CLASSES, average="micro")
        self.val_acc_best = MaxMetric()
        self.val_acc_best.persistent(True)  # in the checkpoint: a resumed run knows the best epoch before it
        self._test_report: dict[str, Any] = {}
        self._test_samples: TestSamples | None = None
        self._val_outputs: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def exact(self, x: torch.Tensor) -> torch.Tensor:
        """The net's logits [N, members, 10] in float32 whatever `trainer.precision` says: the rule is fitted (and
        tested) on what `predict` computes, float32 in torch and ONNX Runtime; fitted on bf16 logits, a threshold
        that close to 1 would not be the one the shipped model meets. Mixed precision speeds up training only."""
        with torch.autocast(self.device.type, enabled=False):
            return members(self.net(x))

    def rule(self) -> Rule | None:
        """The decision rule as calibrated so far (None before the first validation epoch)."""
        try:
            return Rule(float(self.temperature), float(self.threshold), self.max_wrong_accept)
        except GuardError:
            return None

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        # [N, members, 10]; a single net is an ensemble of one. Under trainer.precision=bf16-mixed the net runs in
        # bf16 here; the losses are taken in float32
        logits = members(self.net(x)).float()
        k = logits.shape[1]
        # a deep ensemble: each member learns the digits on its own (the mean over members of their losses)
        loss = F.cross_entropy(logits.flatten(0, 1), y.repeat_interleave(k), ignore_index=OUTLIER_LABEL)
        if self.outlier_weight:
            # outlier exposure: cross-entropy to the uniform distribution on the non-digits of the batch (if any);
            # masks rather than branches, so a GPU never waits on a host sync here
            outliers = (y == OUTLIER_LABEL).float()
            spread = -(F.log_softmax(logits, dim=2).mean(2).mean(1) * outliers).sum() / outliers.sum().clamp_min(1)
            loss = loss + self.outlier_weight * spread
        with torch.no_grad():
            digits = y != OUTLIER_LABEL
            n = digits.sum()
            correct = ((logits.mean(1).argmax(1) == y) & digits).sum()
            self._train_sums += torch.stack([loss.detach() * n, correct, n])
        if is_logging_step(self.trainer):  # self.log costs time on every step: call it when Lightning writes
            self.log("train/loss_step", loss, prog_bar=True, on_step=True, on_epoch=False)
        return loss

    def on_train_epoch_end(self) -> None:
        loss_mean, acc, _ = self._train_sums / self._train_sums[2].clamp_min(1)
        self.log_dict({"train/loss": loss_mean, "train/acc": acc}, sync_dist=True)
        self._train_sums.zero_()

    def on_validation_epoch_start(self) -> None:
        self._val_outputs = {}

    def validation_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        x, y = batch
        logits = self.exact(x)
        self._val_outputs.setdefault(dataloader_idx, []).append((logits.detach(), y))
        if dataloader_idx == 0:  # the MNIST validation split: what checkpoints and early stopping watch
            log_mix = torch.logsumexp(F.log_softmax(logits, dim=2), dim=1) - math.log(logits.shape[1])
            self.log("val/loss", F.nll_loss(log_mix, y), sync_dist=True, add_dataloader_idx=False)
            self.val_acc(log_mix, y)
            self.log("val/acc", self.val_acc, prog_bar=True, add_dataloader_idx=False)

    def _val_groups(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Each validation set's logits and labels, named by its loader (e.g. mnist, world, outliers)."""
        loaders = self.trainer.val_dataloaders
        loaders = loaders if isinstance(loaders, list | tuple) else [loaders]
        groups = {}
        for idx, outputs in sorted(self._val_outputs.items()):
            logits, labels = (torch.cat(t) for t in zip(*outputs, strict=True))
            if self.trainer.world_size > 1:  # every rank fits the same calibration on the whole split
                # torchmetrics' gather accepts shards of unequal length (an odd split over two ranks)
                logits, labels = (torch.cat(gather_all_tensors(t)) for t in (logits, labels))
            groups[getattr(loaders[idx], "name", f"set{idx}")] = (logits, labels)
        return groups

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:  # the untrained model's accuracy is no run's best, nor its calibration
            return
        self.val_acc_best(self.val_acc.compute())
        self.log("val/acc_best", self.val_acc_best.compute(), prog_bar=True, sync_dist=True)
        if not self._val_outputs:
            return
        groups = self._val_groups()
        rule = self.calibrate(groups)
        figures: dict[str, Any] = {"val/temperature": rule.temperature, "val/threshold": rule.threshold}
        for name, (logits, labels) in groups.items():
            probs = rule.probs(logits.float().cpu().numpy())
            correct = probs.argmax(1) == labels.cpu().numpy()
            report = rejection_report(rule.accepts(rule.confidence(probs)), correct)
            prefix = "val/" if name == "mnist" else f"val/{name}/"
            figures.update({f"{prefix}{k}": v for k, v in report.items() if k != "accepted_acc"})
            if name != "mnist" and (labels != OUTLIER_LABEL).any():
                figures[f"{prefix}acc"] = float(correct.mean())
        # the same on every rank: sync_dist only keeps Lightning's DDP bookkeeping quiet
        self.log_dict({k: float(v) for k, v in figures.items()}, sync_dist=True, add_dataloader_idx=False)

    def calibrate(self, groups: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> Rule:
        """Fit the temperature on the validation digits, then the threshold over the validation groups at once, each
        within its target (`self.targets`): MNIST digits, world digits, drawn non-digits (unbounded: only watched)."""
        digits = [(z[y != OUTLIER_LABEL], y[y != OUTLIER_LABEL]) for z, y in groups.values()]
        t = fit_temperature(torch.cat([z for z, _ in digits]), torch.cat([y for _, y in digits]))
        unfitted = Rule(t, ACCEPT_NOTHING, self.max_wrong_accept)  # the confidences the guard will compute
        scored = []
        for name, (logits, labels) in groups.items():
            target = self.targets.get(name, self.max_wrong_accept)
            if target is None:
                continue
            probs = unfitted.probs(logits.float().cpu().numpy())
            # a non-digit (OUTLIER_LABEL) is never a correct accept
            scored.append((unfitted.confidence(probs), probs.argmax(1) == labels.cpu().numpy(), target))
        thr = choose_threshold(scored, self.bound_confidence)
        self.temperature.fill_(t)
        self.threshold.fill_(thr)
        return Rule(t, thr, self.max_wrong_accept)

    def on_test_epoch_start(self) -> None:
        self._test_outputs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self._test_report: dict[str, Any] = {}
        self._test_samples = None

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        # the images too, back in uint8 (exact: the loader made them as uint8 / 255), for the misread-digits figure
        self._test_outputs.append((self.exact(x).detach(), y, x[:, 0].mul(255).round().to(torch.uint8)))

    def on_test_epoch_end(self) -> None:
        logits, labels, images = (torch.cat(parts) for parts in zip(*self._test_outputs, strict=True))
        if self.trainer.world_size > 1:  # every rank computes the figures of the whole test set
            logits, labels, images = (torch.cat(gather_all_tensors(t)) for t in (logits, labels, images))
        rule = self.rule()
        if rule is None:
            rank_zero_warn(
                "the model was never calibrated (no validation epoch ran): no coverage or wrong-accept figures"
            )
        probs = (rule or Rule(1.0, ACCEPT_NOTHING, self.max_wrong_accept)).probs(logits.float().cpu().numpy())
        self._test_report = test_figures(probs, labels.cpu().numpy(), rule)
        self._test_samples = TestSamples(images.cpu().numpy(), labels.cpu().numpy(), probs)
        scalars = {k: v for k, v in self._test_report.items() if isinstance(v, float)}
        # identical on every rank: sync_dist only keeps Lightning's DDP bookkeeping quiet
        self.log_dict(scalars, sync_dist=True)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Bind the decision rule to the weights it was fitted with (see guard.digest); none before calibration."""
        rule = self.rule()
        if rule is not None:
            spec = self.hparams["net"]
            checkpoint["digit_lit"] = {
                "format": FORMAT,
                "rule": rule.as_dict(),
                "digest": checkpoint_digest(rule, spec, checkpoint["state_dict"]),
            }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Before Lightning loads a checkpoint to resume: it must hold this very module, and a schedule laid out for
        this run's length, or one line says why not."""
        stored = checkpoint.get("state_dict")
        stored = stored if isinstance(stored, dict) else {}
        odd = [
            k
            for k, v in self.state_dict().items()
            if not isinstance(stored.get(k), torch.Tensor) or stored[k].shape != v.shape
        ]
        if any(k.startswith("net.") for k in odd):
            spec = (checkpoint.get("hyper_parameters") or {}).get("net", "another net")
            raise CheckpointError(
                f"the checkpoint to resume holds {spec}, not the {self.hparams['net']} this run builds; resume with "
                "the model settings it was trained with, or start a new run"
            )
        if odd:
            raise CheckpointError(
                f"the checkpoint to resume lacks {', '.join(odd)}: an older digit_lit wrote it; resume it with that "
                "version, or start a new run"
            )
        # OneCycleLR cannot be stretched mid-run (e.g. a finished run given a higher trainer.max_epochs): it would
        # fail steps later, far from the cause
        if self._trainer is None or self.trainer.state.fn != TrainerFn.FITTING:
            return
        planned = self.trainer.estimated_stepping_batches
        for state in checkpoint.get("lr_schedulers", []):
            laid_out = state.get("total_steps")
            if laid_out is not None and laid_out != planned:
                raise ConfigError(
                    f"cannot resume {self.trainer.ckpt_path}: its learning-rate schedule was laid out for {laid_out} "
                    f"steps and this run plans {planned:g} (trainer.max_epochs, max_steps, data.batch_size or devices "
                    "changed); resume with the settings it started with, or start a new run"
                )

    def test_report(self) -> dict[str, Any]:
        """Every figure of the finished test epoch (see metrics.test_figures)."""
        return dict(self._test_report)

    def test_samples(self) -> TestSamples | None:
        """The finished test epoch's images, labels and calibrated probabilities (None before any test)."""
        return self._test_samples

    def configure_optimizers(self) -> Any:
        if self.optimizer is None:
            raise RuntimeError("DigitClassifier needs an optimizer factory to train")
        try:
            optimizer = self.optimizer(params=self.parameters())
        except (TypeError, ValueError) as exc:  # a setting of the wrong kind or range: model.optimizer.lr=abc, =-1
            raise ConfigError(f"model.optimizer cannot be built ({exc}); check its settings") from exc
        if self.scheduler is None:
            return optimizer
        # the schedule is laid out over the whole run in advance (e.g. OneCycleLR)
        steps = self.trainer.estimated_stepping_batches
        try:
            scheduler = self.scheduler(optimizer, total_steps=steps)
        except TypeError as exc:  # model.scheduler.max_lr=abc
            raise ConfigError(f"model.scheduler cannot be built ({exc}); check its settings") from exc
        except (ValueError, ZeroDivisionError) as exc:  # OneCycleLR divides by the length of each phase
            raise ConfigError(
                f"model.scheduler cannot be laid out over this run's {steps} optimizer steps "
                f"({str(exc) or type(exc).__name__}); train for more steps or set model.scheduler=null"
            ) from exc
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
