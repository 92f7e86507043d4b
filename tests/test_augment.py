"""Batch augmentation: parameters drawn per sample, the documented elastic strength, training batches only."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from digit_lit.augment import BatchAugment
from digit_lit.data import MNISTDataModule

NO_AFFINE = dict(degrees=0.0, translate=0.0, scale=(1.0, 1.0), shear=0.0)


def ramp(n: int) -> torch.Tensor:
    """Each pixel holds its column / 27, so a warped value tells how far (in pixels) it moved along x."""
    return torch.linspace(0, 1, 28).repeat(28, 1).expand(n, 1, 28, 28).clone()


def stroke(n: int) -> torch.Tensor:
    """The same vertical stroke in each of n images."""
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, 6:22, 12:16] = 1.0
    return x


def test_each_image_of_a_batch_gets_its_own_transform() -> None:
    torch.manual_seed(0)
    x = stroke(64)
    out = BatchAugment()(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    assert len({tuple(img.flatten().round(decimals=4).tolist()) for img in out}) == 64
    # a random affine moves the stroke; it does not wipe it out
    assert (out.sum((1, 2, 3)) / x.sum((1, 2, 3))).min() > 0.5


@pytest.mark.parametrize("alpha", [1.0, 2.0])
def test_elastic_displacement_matches_the_config_comment(alpha: float) -> None:
    torch.manual_seed(0)
    x = ramp(256)
    out = BatchAugment(**NO_AFFINE, elastic=True, elastic_alpha=alpha, elastic_p=1.0)(x)
    shift_px = ((out - x)[..., 6:22, 6:22] * 27).pow(2).mean().sqrt().item()
    assert shift_px == pytest.approx(0.64 * alpha, rel=0.2)  # conf/data/mnist_aug.yaml: ~0.64 * alpha px RMS


def test_elastic_p_sets_the_share_of_distorted_images() -> None:
    torch.manual_seed(0)
    x = ramp(400)
    for p, low, high in ((0.0, 0, 0), (0.5, 150, 250), (1.0, 400, 400)):
        out = BatchAugment(**NO_AFFINE, elastic=True, elastic_alpha=2.0, elastic_p=p)(x)
        moved = int(((out - x).abs().amax((1, 2, 3)) > 1e-3).sum())
        assert low <= moved <= high, (p, moved)


def test_datamodule_augments_training_batches_only() -> None:
    dm = MNISTDataModule(augment=BatchAugment())
    x, y = stroke(8), torch.arange(8)
    dm.trainer = SimpleNamespace(training=True)  # type: ignore[assignment]
    x_train, y_train = dm.on_after_batch_transfer((x, y), 0)
    assert not torch.equal(x_train, x) and torch.equal(y_train, y)
    dm.trainer = SimpleNamespace(training=False)  # type: ignore[assignment]
    x_eval, _ = dm.on_after_batch_transfer((x, y), 0)
    assert torch.equal(x_eval, x)
