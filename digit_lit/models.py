"""The classifiers. Each takes [N, 1, 28, 28] images in [0, 1] (white ink on black, as MNIST) and returns logits.

Normalisation is the first layer, so a checkpoint or ONNX export needs no separate preprocessing constants.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from digit_lit.constants import IMAGE_SIZE, MNIST_MEAN, MNIST_STD, NUM_CLASSES
from digit_lit.errors import ConfigError

PIXELS = IMAGE_SIZE * IMAGE_SIZE


class Normalize(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - MNIST_MEAN) / MNIST_STD


def linear() -> nn.Sequential:
    """Softmax regression, the textbook model."""
    return nn.Sequential(Normalize(), nn.Flatten(), nn.Linear(PIXELS, NUM_CLASSES))


def mlp(hidden: Sequence[int] = (512, 256), dropout: float = 0.2) -> nn.Sequential:
    layers: list[nn.Module] = [Normalize(), nn.Flatten()]
    width = PIXELS
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, NUM_CLASSES))


def _conv_block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


def cnn(channels: Sequence[int] = (32, 64, 128), dropout: float = 0.25, fc: int = 256) -> nn.Sequential:
    """Stages of two 3x3 conv-BN-ReLU layers, each stage halving the resolution (28 -> 14 -> 7 -> 3)."""
    layers: list[nn.Module] = [Normalize()]
    c_prev = 1
    for c in channels:
        layers += [*_conv_block(c_prev, c), *_conv_block(c, c), nn.MaxPool2d(2)]
        c_prev = c
    side = IMAGE_SIZE >> len(channels)
    layers += [
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(c_prev * side * side, fc, bias=False),
        nn.BatchNorm1d(fc),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(fc, NUM_CLASSES),
    ]
    return nn.Sequential(*layers)


def tiny_cnn(c1: int = 24, c2: int = 48) -> nn.Sequential:
    """A small, fast CNN for 99% on CPU in seconds: 5x5 conv, pool, 3x3 conv, pool, linear."""
    return nn.Sequential(
        Normalize(),
        nn.Conv2d(1, c1, 5, bias=False),  # 24x24
        nn.BatchNorm2d(c1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),  # 12x12
        nn.Conv2d(c1, c2, 3, bias=False),  # 10x10
        nn.BatchNorm2d(c2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),  # 5x5
        nn.Flatten(),
        nn.Linear(c2 * 25, NUM_CLASSES),
    )


NETS = {"linear": linear, "mlp": mlp, "cnn": cnn, "tiny_cnn": tiny_cnn}


def build_net(name: str, **kwargs: object) -> nn.Module:
    """Build a net from a plain spec (name + keyword args) so a checkpoint can rebuild it without running code."""
    if name not in NETS:
        raise ConfigError(f"unknown net {name!r}; choose one of {', '.join(NETS)}")
    return NETS[name](**kwargs)
