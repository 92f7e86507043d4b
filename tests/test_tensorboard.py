"""What TensorBoard shows of a run, read back from its event files as TensorBoard reads them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig

from digit_lit.config import instantiate
from digit_lit.report import HPARAM_METRICS
from digit_lit.train import train
from tests.helpers.events import event_dirs, hparams_plugin_data, load_run, summaries_in_order

FIGURES = ("test/misclassified", "test/reliability", "test/confusion_matrix")


def test_history_lr_hparams_and_figures(tiny_mnist: Path, train_cfg: Callable[..., DictConfig]) -> None:
    # 3 epochs of 50 steps, logged every 10
    overrides = ("model=mlp", "trainer.max_epochs=3", "trainer.log_every_n_steps=10", "data.batch_size=10")
    cfg = train_cfg(*overrides, "data.val_size=100", "callbacks.progress_bar=null", data_dir=tiny_mnist)
    train(cfg)
    root = Path(cfg.paths.output_dir) / "tensorboard"
    (run,) = event_dirs(root)
    assert run == root / "mlp"  # the run is named by its model (and experiment, when there is one)
    events = load_run(run)

    def steps(tag: str) -> list[int]:
        return [e.step for e in events.Scalars(tag)]

    # every validation's value at its own step: none at step 0, which would purge the tag's history
    assert steps("val/acc_best") == steps("val/acc") == [49, 99, 149]
    assert steps("test/acc") == steps("test/wrong_accept") == [150]
    assert steps("lr-AdamW") == list(range(9, 150, 10))  # one-cycle's rate at every logging step
    assert set(FIGURES) <= set(events.Tags()["images"])

    plugin = hparams_plugin_data(events)
    experiment = plugin["_hparams_/experiment"].experiment
    names = [h.name for h in experiment.hparam_infos]
    assert len(names) <= 20 and not any("_target_" in n or "_partial_" in n for n in names)
    assert {"experiment", "model.net.name", "model.optimizer", "data.batch_size", "trainer.max_epochs"} <= set(names)
    assert [m.name.tag for m in experiment.metric_infos] == list(HPARAM_METRICS)
    chosen = plugin["_hparams_/session_start_info"].session_start_info.hparams
    assert chosen["model.net.name"].string_value == "mlp" and chosen["model.optimizer"].string_value == "AdamW"
    # written before anything else, at step 0
    first = summaries_in_order(run)[:3]
    assert first == [(0, f"_hparams_/{name}") for name in ("experiment", "session_start_info", "session_end_info")]


def test_run_name_has_model_and_experiment(train_cfg: Callable[..., DictConfig]) -> None:
    logger = instantiate(train_cfg("experiment=fast_cpu").logger.tensorboard)
    assert Path(logger.log_dir).parts[-3:] == ("tensorboard", "tiny_cnn", "fast_cpu")
