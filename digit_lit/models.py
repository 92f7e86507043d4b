"""The classifiers. Each takes [N, 1, 28, 28] images in [0, 1] (white ink on black, as MNIST) and returns logits.

Normalisation is the first layer, so a checkpoint or ONNX export needs no separate preprocessing constants.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from digit_lit.constants import IMAGE_SIZE, MNIST_MEAN, MNIST_STD, NUM_CLASSES
from digit_lit.errors import ConfigError

PIXELS = IMAGE_SIZE * IMAGE_SIZE
# the most members an ensemble and hidden layers an MLP may have: far above any digit net's, and what bounds the work
# of building one from a spec (a checkpoint's spec is built on the meta device before its shapes are checked: a
# member count of millions would build millions of modules there, for minutes, before the one-line refusal)
MAX_MEMBERS = 64
MAX_LAYERS = 64


class Normalize(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - MNIST_MEAN) / MNIST_STD


def linear(normalize: bool = True) -> nn.Sequential:
    """Softmax regression, the textbook model (which fed raw [0, 1] pixels: normalize=false)."""
    return nn.Sequential(Normalize() if normalize else nn.Identity(), nn.Flatten(), nn.Linear(PIXELS, NUM_CLASSES))


def mlp(hidden: Sequence[int] = (512, 256), dropout: float = 0.2) -> nn.Sequential:
    if len(hidden) > MAX_LAYERS:
        raise ConfigError(f"model.net.hidden has {len(hidden)} layers; an MLP has at most {MAX_LAYERS}")
    if any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):  # [0]: a constant net, trained
        raise ConfigError(f"model.net.hidden={list(hidden)!r} must be positive layer widths, e.g. [512, 256]")
    layers: list[nn.Module] = [Normalize(), nn.Flatten()]
    width = PIXELS
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, NUM_CLASSES))


def _conv(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


def cnn(channels: Sequence[int] = (24, 48, 96), dropout: float = 0.3) -> nn.Sequential:
    """3x3 conv-BN-ReLU stages; strided convs halve the resolution (28 -> 14 -> 7) at a fraction of conv + pool."""
    c1, c2, c3 = channels
    return nn.Sequential(
        Normalize(),
        *_conv(1, c1),
        *_conv(c1, c1, stride=2),
        *_conv(c1, c2),
        *_conv(c2, c2, stride=2),
        *_conv(c2, c3),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(c3 * (IMAGE_SIZE // 4) ** 2, NUM_CLASSES),
    )


def tiny_cnn(c1: int = 16, c2: int = 32, hidden: int = 128) -> nn.Sequential:
    """A small CNN for 99% on a CPU in seconds: strided convs (28 -> 14 -> 7) cost a quarter of conv + pool."""
    return nn.Sequential(
        Normalize(),
        nn.Conv2d(1, c1, 5, stride=2, padding=2, bias=False),
        nn.BatchNorm2d(c1),
        nn.ReLU(inplace=True),
        nn.Conv2d(c1, c2, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(c2),
        nn.ReLU(inplace=True),
        nn.Flatten(),
        nn.Linear(c2 * (IMAGE_SIZE // 4) ** 2, hidden),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, NUM_CLASSES),
    )


def members(logits: torch.Tensor) -> torch.Tensor:
    """Logits as [N, members, 10]: a single net's [N, 10] is an ensemble of one."""
    return logits.reshape(logits.shape[0], -1, NUM_CLASSES)


# Test-time views, in the order `views` takes them: the picture itself, then small rigid moves of it (degrees, dx px,
# dy px). How many refuse best at the same wrong-accept: benchmarks/uncertainty.py --tta N ("ensemble TTA").
MOVES = ((0.0, 0, 0), (6.0, 0, 0), (-6.0, 0, 0), (0.0, 1, 0), (0.0, -1, 0), (0.0, 0, 1), (0.0, 0, -1))


def view_grids(views: int) -> torch.Tensor:
    """grid_sample grids [views - 1, 28, 28, 2] of the first `views` MOVES after the view itself."""
    thetas = []
    for deg, dx, dy in MOVES[1:views]:
        a, shift = math.radians(deg), 2 / IMAGE_SIZE  # grid units: the image spans [-1, 1]
        thetas.append([[math.cos(a), -math.sin(a), dx * shift], [math.sin(a), math.cos(a), dy * shift]])
    if not thetas:
        return torch.zeros(0, IMAGE_SIZE, IMAGE_SIZE, 2)
    return F.affine_grid(torch.tensor(thetas), [len(thetas), 1, IMAGE_SIZE, IMAGE_SIZE], align_corners=False)


def moved_views(x: torch.Tensor, grids: torch.Tensor) -> torch.Tensor:
    """[N, 1, 28, 28] images and their moves by `grids` as one batch [(1 + moves) * N, ...], view-major."""
    if len(grids) == 0:
        return x
    n = x.shape[0]
    grid = grids[:, None].expand(-1, n, -1, -1, -1).reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 2)
    moved = F.grid_sample(x.repeat(len(grids), 1, 1, 1), grid, mode="bilinear", align_corners=False)
    return torch.cat([x, moved])


class Ensemble(nn.Module):
    """A deep ensemble (Lakshminarayanan et al., 2017): members trained side by side from different initialisations.

    Returns [N, members, 10]; the guard averages the members' calibrated probabilities, and where they disagree
    that mean is unsure, which is what lets the guard refuse pictures unlike anything seen in training. With
    `views` > 1, in eval mode every member also reads `views - 1` small moves of each picture (test-time
    augmentation, inside the net so that the checkpoint, its calibration and the ONNX graph all carry it): the output
    is then [N, views x members, 10], and a digit the members read the same however it is nudged is the surest.
    Training sees the pictures as they are (its own augmentation is the data's business).
    """

    def __init__(self, nets: Sequence[nn.Module], views: int = 1) -> None:
        super().__init__()
        self.members = nn.ModuleList(nets)
        self.views = views
        # not in the state dict: made from `views` (the spec), so checkpoints without views load unchanged
        self.register_buffer("grids", view_grids(views), persistent=False)

    def members_of(self, x: torch.Tensor) -> torch.Tensor:
        """Every member's logits of the pictures as they are: [N, members, 10]."""
        return torch.stack([m(x) for m in self.members], dim=1)

    def read_views(self, x: torch.Tensor, grids: torch.Tensor) -> torch.Tensor:
        """Every member's logits of the pictures and of their moves by `grids`: [N, 1 + moves, members, 10]."""
        z = self.members_of(moved_views(x, grids))  # [(1 + moves) * N, members, 10], view-major
        return z.reshape(len(grids) + 1, x.shape[0], -1, NUM_CLASSES).transpose(0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or self.views == 1:
            return self.members_of(x)
        return self.read_views(x, self.grids).flatten(1, 2)  # [N, views x members, 10]


def ensemble(member: dict[str, object], size: int = 3, views: int = 1) -> Ensemble:
    """`size` copies of one net spec (each with its own random initialisation), reading `views` views in eval mode."""
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_MEMBERS:
        raise ConfigError(f"model.net.size={size!r} must be a whole number from 1 to {MAX_MEMBERS}")
    if not isinstance(member, Mapping) or member.get("name") == "ensemble":
        raise ConfigError("model.net.member must be the spec of one net (name and settings), not an ensemble")
    if isinstance(views, bool) or not isinstance(views, int) or not 1 <= views <= len(MOVES):
        raise ConfigError(f"model.net.views={views!r} must be a whole number from 1 to {len(MOVES)}")
    return Ensemble([build_net(**member) for _ in range(size)], views)  # type: ignore[arg-type]


NETS = {"linear": linear, "mlp": mlp, "cnn": cnn, "tiny_cnn": tiny_cnn, "ensemble": ensemble}


def build_net(name: str, **kwargs: object) -> nn.Module:
    """Build a net from a plain spec (name + keyword args) so a checkpoint can rebuild it without running code."""
    if name not in NETS:
        raise ConfigError(f"unknown net {name!r}; choose one of {', '.join(NETS)}")
    return NETS[name](**kwargs)
