"""Batch augmentation on the training device: kornia draws parameters per sample, with no Python loop."""

from __future__ import annotations

from collections.abc import Sequence

import kornia.augmentation as K
import torch
from torch import nn


class BatchAugment(nn.Module):
    """Random affine (rotation, translation, scale, shear) and optional elastic distortion of [N, 1, 28, 28] images.

    Works on images in [0, 1] with a black background, so the zero padding that warping brings in is background.
    """

    def __init__(
        self,
        degrees: float = 10.0,
        translate: float = 0.1,
        scale: Sequence[float] = (0.9, 1.1),
        shear: float = 10.0,
        elastic: bool = False,
        elastic_alpha: float = 1.0,
        elastic_sigma: float = 4.0,
        elastic_p: float = 0.5,
    ) -> None:
        super().__init__()
        steps: list[nn.Module] = [
            K.RandomAffine(degrees=degrees, translate=(translate, translate), scale=tuple(scale), shear=shear, p=1.0)
        ]
        if elastic:
            steps.append(
                K.RandomElasticTransform(
                    kernel_size=(15, 15),
                    sigma=(elastic_sigma, elastic_sigma),
                    alpha=(elastic_alpha, elastic_alpha),
                    p=elastic_p,
                )
            )
        self.steps = nn.Sequential(*steps)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.steps(x)
