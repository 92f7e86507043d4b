"""Outlier exposure: the synthetic non-digits, the filter that keeps digits out of them, and training with them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import DictConfig
from scipy import ndimage

from digit_lit import outliers, world
from digit_lit.data import TensorBatches
from digit_lit.guard import Guard
from digit_lit.outliers import (
    DIGIT_LIKE,
    OUTLIER_LABEL,
    cached_outlier_views,
    crossed_out_ink,
    digit_bank,
    digit_likeness,
    fragment_ink,
    frame_cut_page,
    looks_like_a_digit,
    loops_path,
    outlier_pool,
    outlier_views,
    outlier_views_by_family,
    scribble_path,
    self_crossings,
    too_digit_like,
    turning,
    two_digits_ink,
    word_path,
)
from digit_lit.train import train


def test_pool_is_deterministic_and_mnist_framed() -> None:
    pool = outlier_pool(60, seed=3)
    assert pool.shape == (60, 28, 28) and pool.dtype == torch.uint8
    assert torch.equal(pool, outlier_pool(60, seed=3)) and not torch.equal(pool, outlier_pool(60, seed=4))
    for img in pool.float() / 255:
        assert img.max() > 0.5 and img[:2].max() == 0 and img[-2:].max() == 0  # the 20-px box, plus the pen
        cy, cx = ndimage.center_of_mass(img.numpy())
        assert abs(cy - 13.5) < 6 and abs(cx - 13.5) < 6


def test_batches_carry_labelled_outliers() -> None:
    images, labels = torch.zeros(100, 28, 28, dtype=torch.uint8), torch.arange(100) % 10
    pool = outlier_pool(20)
    loader = TensorBatches(images, labels, 25, shuffle=True, outliers=pool, outliers_per_batch=5)
    batches = list(loader)
    assert len(batches) == len(loader) == 4
    for x, y in batches:
        assert x.shape == (30, 1, 28, 28) and (y == OUTLIER_LABEL).sum() == 5
        assert x[y == OUTLIER_LABEL].amax() > 0 and x[y != OUTLIER_LABEL].amax() == 0


def test_training_with_outliers_spreads_belief_on_them(tiny_mnist: Path, train_cfg: Callable[..., DictConfig]) -> None:
    common = ["model=mlp", "trainer.max_epochs=3", "logger=none", "data.val_size=100", "data.batch_size=50"]
    pool = outlier_pool(200, seed=99).unsqueeze(1).float() / 255
    entropy = {}
    for n in (0, 500):
        cfg = train_cfg(*common, f"data.outliers={n}", f"model.outlier_weight={0.5 if n else 0.0}", data_dir=tiny_mnist)
        metrics = train(cfg)
        p = torch.from_numpy(Guard.load(metrics["best_ckpt"]).probs(pool.numpy()))
        entropy[n] = float(-(p * p.clamp_min(1e-12).log()).sum(1).mean())
        assert metrics["test/acc"] > 0.9  # the digits are still learnt
    assert entropy[500] > entropy[0] + 0.15


# ---------------------------------------------------------------- the filter: nothing that reads as one digit


def circle(n: int = 60, turns: float = 1.0) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi * turns, n)
    return np.stack([np.cos(t), np.sin(t)], 1)


def figure_eight(n: int = 80) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n) + 0.3  # starting off the crossing, as a pen would
    return np.stack([0.5 * np.sin(2 * t), np.sin(t)], 1)  # lobes one above the other, crossing in the middle


def zigzag(teeth: int = 6) -> np.ndarray:
    return np.array([[i, i % 2] for i in range(2 * teeth + 1)], float)


@pytest.mark.parametrize("angle", [0, 30, 90, 135])
def test_straight_strokes_at_any_angle_are_digit_like(angle: float) -> None:
    t = np.deg2rad(angle)
    line = np.linspace(0, 1, 20)[:, None] * [np.cos(t), np.sin(t)]
    assert too_digit_like(line + np.random.default_rng(0).normal(0, 0.01, line.shape))


def test_loops_and_simple_shapes_are_digit_like() -> None:
    assert self_crossings(circle()) == 0 and too_digit_like(circle())  # 0
    assert self_crossings(figure_eight()) == 1 and too_digit_like(figure_eight())  # 8
    t = np.linspace(-1.6, 1.6, 60)
    alpha = np.stack([t**3 - t, t**2 - 1], 1)  # a loop with two tails: 6, 9, a looped 2 or 4
    assert self_crossings(alpha) == 1 and too_digit_like(alpha)
    seven = np.array([[0, 0], [1, 0], [0.4, 1.5]], float)
    assert too_digit_like(seven) and too_digit_like(np.array([[0, 0], [0, 1], [0.8, 1]], float))  # 7, L
    arc = circle(30, 0.4)
    assert too_digit_like(arc)  # a bracket-like arc reads as a 1


def test_paths_that_cross_themselves_often_or_zigzag_are_not_digit_like() -> None:
    assert turning(zigzag()) > 600 and not too_digit_like(zigzag())
    spring = circle(200, 4) + np.linspace(0, 6, 200)[:, None] * [1, 0]  # a coil: loops travelling sideways
    assert self_crossings(spring) >= 3 and not too_digit_like(spring)


def test_pen_path_families_pass_the_filter() -> None:
    for seed in range(25):
        rng = np.random.default_rng(seed)
        assert not too_digit_like(scribble_path(rng))
        loops = loops_path(rng)
        assert not too_digit_like(loops) and self_crossings(loops) >= 3
        word = word_path(rng)
        assert np.ptp(word[:, 0]) > 1.5 * np.ptp(word[:, 1])  # a row, wider than tall


def blank() -> np.ndarray:
    return np.zeros((28, 28), np.uint8)


def ring_view(centre: tuple[int, int] = (14, 14), r: float = 7) -> np.ndarray:
    yy, xx = np.mgrid[0:28, 0:28]
    d = np.hypot(yy - centre[0], xx - centre[1])
    return ((np.abs(d - r) < 1.6) * 255).astype(np.uint8)


def test_views_that_read_as_one_digit_are_caught() -> None:
    one, dash = blank(), blank()
    one[4:24, 12:15] = 255
    dash[12:15, 4:24] = 255
    assert looks_like_a_digit(one, None) and not looks_like_a_digit(dash, None)  # a 1; a dash is no digit
    assert looks_like_a_digit(ring_view(), None)  # 0
    eight = np.maximum(ring_view((9, 14), 4.5), ring_view((19, 14), 4.5))
    assert looks_like_a_digit(eight, None)  # 8: two loops one above the other
    pair = np.maximum(ring_view((14, 7), 4.5), ring_view((14, 21), 4.5))
    assert not looks_like_a_digit(pair, None)  # 00: two digits side by side
    scatter = blank()
    for y, x in ((5, 5), (20, 8), (10, 20), (22, 22)):
        scatter[y : y + 3, x : x + 3] = 255
    assert not looks_like_a_digit(scatter, None)


def test_the_digit_bank_knows_a_digit_it_has_seen() -> None:
    from tests.test_world import seven

    digits = np.stack([seven(), ring_view(), np.roll(seven(), 3, axis=1)])
    bank = digit_bank(digits, size=3)
    assert looks_like_a_digit(seven(), bank)
    scatter = blank()
    scatter[3:8, 3:8] = scatter[20:25, 20:25] = 255
    assert digit_likeness(scatter[None], bank)[0] < DIGIT_LIKE


# ---------------------------------------------------------------- families built from digits


def toy_digits() -> np.ndarray:
    from tests.test_world import bar, seven

    return np.stack([seven(), bar(), ring_view()] * 3)


def test_fragments_keep_well_under_half_of_the_ink_and_never_a_1_or_a_0() -> None:
    rng = np.random.default_rng(0)
    ink = world.handwriting(toy_digits()[0], rng)
    for share in (0.15, 0.3, 0.45):
        part = outliers._cut(ink, rng.uniform(0, 2 * np.pi), share)
        assert float(part.sum()) == pytest.approx(share * float(ink.sum()), abs=0.03 * float(ink.sum()))
    bar_ink = world.handwriting(toy_digits()[1], rng, shear=0.0, angle=0.0, aspect=1.0, elastic=0.0)
    assert outliers._readable_part(bar_ink)  # a 1
    assert outliers._readable_part(world.handwriting(toy_digits()[2], rng))  # a 0
    for seed in range(10):
        part = fragment_ink(np.random.default_rng(seed), toy_digits())
        assert not outliers._readable_part(part)


def test_two_digits_crossed_out_and_frame_cuts(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[np.ndarray] = []
    handwriting = world.handwriting

    def recorded(*args: object, **kwargs: object) -> np.ndarray:
        drawn.append(handwriting(*args, **kwargs))  # type: ignore[arg-type]
        return drawn[-1]

    with monkeypatch.context() as m:
        m.setattr(world, "handwriting", recorded)
        for seed in range(5):
            drawn.clear()
            pair = two_digits_ink(np.random.default_rng(seed), toy_digits()[:1])
            first, second = drawn
            # side by side: at most a quarter of the first overlaps, the second is at least 0.8 times as big
            assert pair.shape[1] >= 0.75 * first.shape[1] + 0.8 * second.shape[1] - 2
        crossed = crossed_out_ink(np.random.default_rng(seed), toy_digits()[:1])
        assert (
            crossed.sum()
            >= (1 + outliers.OVERWRITE_INK)
            * world.handwriting(toy_digits()[0], np.random.default_rng(seed)).sum()
            * 0.9
        )
        page = frame_cut_page(np.random.default_rng(seed), toy_digits())
        solid = page > 0.1 * page.max()  # fine pens are faint
        assert solid.any() and (solid[0].any() or solid[-1].any() or solid[:, 0].any() or solid[:, -1].any())


# ---------------------------------------------------------------- the pool seen through the world


def test_outlier_views_are_seeded_filtered_and_do_not_depend_on_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(world, "CHUNK", 16)
    views1, fams = outlier_views_by_family(40, seed=2, digits=toy_digits(), workers=1)
    views2 = outlier_views(40, seed=2, digits=toy_digits(), workers=2)
    assert views1.dtype == torch.uint8 and views1.shape[1:] == (28, 28) and 20 <= len(views1) <= 40
    assert torch.equal(views1, views2) and len(fams) == len(views1)
    assert not torch.equal(views1[:10], outlier_views(40, seed=3, digits=toy_digits(), workers=1)[:10])
    assert {"fragment", "two_digits", "crossed_out", "frame_cut"} & set(fams)
    bank = digit_bank(toy_digits())
    assert not any(looks_like_a_digit(v, bank) for v in views1.numpy())
    drawn_only, fams_drawn = outlier_views_by_family(20, seed=2, digits=None, workers=1)
    assert len(drawn_only) > 10 and not {"fragment", "two_digits", "crossed_out", "frame_cut"} & set(fams_drawn)


def test_cached_outlier_views(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(world, "CHUNK", 16)
    first = cached_outlier_views(20, seed=1, digits=None, cache_dir=tmp_path, workers=1)
    calls = []
    monkeypatch.setattr(outliers, "outlier_views", lambda *a, **k: calls.append(1))
    assert torch.equal(first, cached_outlier_views(20, seed=1, digits=None, cache_dir=tmp_path, workers=1))
    assert not calls and len(list(tmp_path.glob("outliers_*.pt"))) == 1


@pytest.mark.mnist
def test_real_digit_families_are_not_digits_by_an_independent_bank(mnist_dir: Path) -> None:
    from digit_lit.data import load_split

    images, _ = load_split(mnist_dir, train=True, download=False)
    digits = images[:5000].numpy()
    views = outlier_views(200, seed=0, digits=digits, workers=2).numpy()
    assert len(views) >= 120
    independent = digit_bank(images[30000:].numpy(), seed=1)
    assert (digit_likeness(views, independent) >= DIGIT_LIKE).mean() < 0.1
