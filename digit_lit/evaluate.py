"""Evaluate a checkpoint on the official MNIST test set, and how its guard treats non-digits.

python -m digit_lit.evaluate ckpt_path=RUN/checkpoints/epoch_009.ckpt
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
import matplotlib
import torch
from omegaconf import DictConfig
from torchvision.datasets import FashionMNIST

from digit_lit import run
from digit_lit.data import load_split
from digit_lit.errors import ConfigError, exit_cleanly
from digit_lit.module import DigitClassifier

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@torch.inference_mode()
def calibrated_probs(model: DigitClassifier, images: torch.Tensor, batch: int = 2000) -> torch.Tensor:
    """Calibrated probabilities of uint8 [N, 28, 28] images."""
    return torch.cat([model.calibrated_probs(x.unsqueeze(1).float() / 255) for x in images.split(batch)])


def misclassified_grid(images: torch.Tensor, labels: torch.Tensor, preds: torch.Tensor, path: Path) -> int:
    """Save up to 100 misclassified test images with true and predicted labels; return how many were wrong."""
    wrong = (preds != labels).nonzero().flatten()
    shown = wrong[:100]
    cols = 10
    rows = max(1, -(-len(shown) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.25), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, shown.tolist(), strict=False):
        ax.imshow(images[i], cmap="gray")
        ax.set_title(f"true {int(labels[i])} / {int(preds[i])}", fontsize=7)
    fig.suptitle(f"{len(wrong)} misclassified test images (true / predicted), first {len(shown)}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return len(wrong)


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    if not cfg.get("ckpt_path"):
        raise ConfigError("give ckpt_path=RUN/checkpoints/X.ckpt")
    model = run.load_checkpoint(cfg.ckpt_path)
    datamodule = run.instantiate(cfg.data)
    trainer = run.make_trainer(cfg)
    trainer.test(model, datamodule=datamodule)
    metrics: dict[str, Any] = {"ckpt_path": str(cfg.ckpt_path), **run.test_metrics(trainer, model)}
    metrics["temperature"], metrics["threshold"] = float(model.temperature), float(model.threshold)

    out = Path(cfg.paths.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    images, labels = (t.cpu() for t in datamodule.splits["test"])
    preds = calibrated_probs(model.cpu(), images).argmax(1)
    metrics["test/misclassified"] = misclassified_grid(images, labels, preds, out / "misclassified.png")
    if cfg.get("fashion"):
        fashion, _ = load_split(cfg.paths.data_dir, train=False, download=cfg.data.download, cls=FashionMNIST)
        metrics["fashion/rejected"] = refused_share(model, fashion)
    if cfg.get("nondigits"):
        metrics.update(nondigit_refusal(model, cfg.nondigits))
    run.finish(cfg, trainer, metrics, model)
    return metrics


def refused_share(model: DigitClassifier, images: torch.Tensor) -> float:
    """Share of uint8 [N, 28, 28] images whose calibrated confidence falls below the model's threshold."""
    return float((calibrated_probs(model, images).amax(1) < model.threshold).float().mean())


def nondigit_refusal(model: DigitClassifier, n_per_family: int) -> dict[str, float]:
    """Share of drawn non-digit pictures (letters, symbols, scribbles...) the guard refuses, through predict's path."""
    from digit_lit.nondigits import non_digits
    from digit_lit.predict import Reader
    from digit_lit.preprocess import PreprocessError

    reader = Reader(model, float(model.threshold), "torch")
    out = {}
    for family, pictures in non_digits(n_per_family, seed=1234).items():
        refused = 0
        for picture in pictures:
            try:
                refused += not reader.read(picture)["accepted"]
            except PreprocessError:
                refused += 1
        out[f"nondigit/{family}/refused"] = refused / len(pictures)
    return out


@hydra.main(version_base="1.3", config_path="../conf", config_name="eval")
@exit_cleanly
def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    main()
