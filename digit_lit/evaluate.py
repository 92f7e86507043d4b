"""Evaluate a model (.ckpt or .onnx) on the official MNIST test set, and how its guard treats non-digits.

python -m digit_lit.evaluate ckpt_path=RUN/checkpoints/epoch_009.ckpt
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import torch
from omegaconf import DictConfig
from torchvision.datasets import FashionMNIST

import digit_lit.quiet  # noqa: F401 - on import, silences third-party noise (see quiet.py)
from digit_lit import report
from digit_lit.config import no_added_settings, one_path, path_of
from digit_lit.data import archives_present, load_split, world_test
from digit_lit.errors import ConfigError, command_line, exit_cleanly
from digit_lit.guard import Guard
from digit_lit.metrics import TestSamples, test_figures

log = logging.getLogger(__name__)


def refused_share(guard: Guard, images: np.ndarray) -> float:
    """Share of uint8 [N, 28, 28] images the guard refuses."""
    return float(1.0 - guard.decide(guard.probs(images)).mean())


def nondigit_refusal(guard: Guard, n_per_family: int) -> dict[str, float]:
    """Share of drawn non-digit pictures (letters, symbols, scribbles...) the guard refuses, through predict's path."""
    from digit_lit.nondigits import non_digits
    from digit_lit.preprocess import PreprocessError

    out = {}
    for family, pictures in non_digits(n_per_family, seed=1234).items():
        refused = 0
        for picture in pictures:
            try:
                refused += not guard.read(picture)["accepted"]
            except PreprocessError:
                refused += 1
        out[f"nondigit/{family}/refused"] = refused / len(pictures)
    return out


def world_figures(
    guard: Guard,
    data_dir: str,
    images: np.ndarray,
    labels: np.ndarray,
    renders: int,
    workers: int,
    other_hands: bool = True,
) -> dict[str, float]:
    """The official test digits drawn as real-world pictures (their own seed: never seen in training or calibration)
    and read as predict reads them. Pictures preprocessing refuses count as refused."""
    views, view_labels, n = world_test(
        data_dir, torch.from_numpy(images), torch.from_numpy(labels), renders, workers, other_hands
    )
    probs = guard.probs(views.numpy())
    correct = probs.argmax(1) == view_labels.numpy()
    accepted = guard.decide(probs)
    return {
        "world/pictures": float(n),
        "world/acc": float(correct.mean()),
        "world/coverage": float(accepted.sum() / n),
        "world/wrong_accept": float((accepted & ~correct).sum() / n),
    }


# what each of evaluate's own settings is, for its one-line error
SWITCHES = {"fashion": "Fashion-MNIST's refusal", "other_hands": "flagged 1s and crossed 7s in the world test"}
# ... and the most of each: a million pictures, hours to draw, is past any use (world=100000 asked for 784 GB of views
# and ended in a traceback)
COUNTS = {
    "world": ("world pictures of each test digit", 100),
    "nondigits": ("drawn non-digits of each family", 100_000),
}


def check(cfg: DictConfig) -> None:
    """Fail in one line, before any work, on a setting that would crash deep inside the run or be read as another."""
    for key, what in SWITCHES.items():
        if not isinstance(cfg.get(key), bool):
            raise ConfigError(f"{key}={cfg.get(key)!r} must be true or false ({what})")
    for key, (what, most) in COUNTS.items():
        value = cfg.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
            raise ConfigError(f"{key}={value!r} must be a whole number of {what} up to {most}, or 0 to skip them")
    download = cfg.data.get("download")
    if not isinstance(download, bool):  # "no" was read as true: a download tried, empty folders left
        raise ConfigError(f"data.download={download!r} must be true or false")
    workers = cfg.get("workers", 2)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers={workers!r} must be a positive integer (processes that draw the world test)")


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    log.info(f"run dir: {cfg.paths.output_dir}")
    ckpt = path_of(cfg, "ckpt_path", "give ckpt_path=RUN/checkpoints/X.ckpt (or an exported X.onnx)")
    check(cfg)
    other_hands = cfg.other_hands
    guard = Guard.load(ckpt)
    data_dir, download = one_path("data.data_dir", cfg.data.data_dir), cfg.data.download
    # optional data is looked for before any work, in the one data dir every part of the run uses
    if cfg.get("fashion") and not archives_present(data_dir, FashionMNIST):
        raise ConfigError(
            f"fashion=true but {Path(data_dir) / 'FashionMNIST' / 'raw'} holds no Fashion-MNIST files; copy them there "
            "(e.g. from ../shared/fashion-mnist) or set fashion=false"
        )
    images, labels = (t.numpy() for t in load_split(data_dir, train=False, download=download))
    probs = guard.probs(images)  # the test set, once
    metrics: dict[str, Any] = {"model": str(cfg.ckpt_path), **guard.identity, **guard.rule.as_dict()}
    metrics.update(test_figures(probs, labels, guard.rule))
    if cfg.get("world"):
        metrics.update(world_figures(guard, data_dir, images, labels, cfg.world, cfg.get("workers", 2), other_hands))
    if cfg.get("fashion"):
        fashion, _ = load_split(data_dir, train=False, download=False, cls=FashionMNIST)
        metrics["fashion/refused"] = refused_share(guard, fashion.numpy())
    if cfg.get("nondigits"):
        metrics.update(nondigit_refusal(guard, cfg.nondigits))
    report.finish(cfg, metrics, samples=TestSamples(images, labels, probs), threshold=guard.threshold)
    log.info(f"done; this run is in {cfg.paths.output_dir}")
    return metrics


@command_line
@hydra.main(version_base="1.3", config_path="conf", config_name="eval")
@exit_cleanly
def main(cfg: DictConfig) -> None:
    no_added_settings("evaluate", "conf/eval.yaml lists its settings (--cfg job prints them)", own=(cfg, "eval"))
    evaluate(cfg)


if __name__ == "__main__":
    main()
