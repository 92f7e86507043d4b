"""digit_lit.hands: a 1's flag and foot and a 7's crossbar land where they claim; only 1s and 7s change."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from digit_lit import data, hands
from digit_lit.preprocess import holes
from tests.helpers.digits import bar, hooked_seven, seven
from tests.helpers.tiny_mnist import make_digits


def added(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Where a restyling put new ink (at least half-strength where there was paper)."""
    return (after.astype(int) - before.astype(int) > 127) & (before < 64)


def test_a_flag_runs_down_to_the_left_of_the_stems_top_and_keeps_the_stem() -> None:
    d = bar()
    out = hands.flag_one(d, np.random.default_rng(0), foot=False)
    assert out.dtype == np.uint8 and out.shape == (28, 28)
    assert (out.astype(int) >= d.astype(int) - 1).all()  # the written stroke is kept
    ys, xs = np.nonzero(added(d, out))
    assert len(ys) >= 4
    # from the stem's top (row 4; the pen's round end reaches 2 px around it) down to the left, at most the longest
    # flag of the digit's height (20 px) down
    assert ys.min() >= 2 and ys.max() <= 4 + hands.FLAG_LENGTH[1] * 20 + 2
    assert xs[ys >= 7].max() < 12 and len(xs[ys >= 7]) >= 4  # below the pen's end, left of the stem (columns 12-16)
    assert not added(d, out)[14:].any()  # no foot asked for


def test_a_foot_stands_under_the_stem_on_both_sides() -> None:
    d = bar()
    out = hands.flag_one(d, np.random.default_rng(0), foot=True)
    ys, xs = np.nonzero(added(d, out)[18:])
    assert len(ys) and xs.min() < 12 and xs.max() > 16  # both sides of the stem, at its bottom


def test_a_crossbar_crosses_the_stem_about_halfway_down() -> None:
    d = seven()
    out = hands.cross_seven(d, np.random.default_rng(0))
    ys, xs = np.nonzero(added(d, out))
    assert len(ys) >= 4
    top, h = 4, 19  # the 7's ink spans rows ~4-23
    assert top + 0.35 * h <= ys.min() and ys.max() <= top + 0.7 * h
    stem = np.flatnonzero(d[int(ys.mean())] > 127).mean()
    assert xs.min() < stem < xs.max()  # across the stem, on both sides


def test_a_crossbar_that_would_close_a_loop_is_not_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    # a 7 whose bar curls down at its left end: a crossbar reaching the curl makes a 9
    hooked, straight = hooked_seven(), seven()
    outs = [hands.cross_seven(hooked, np.random.default_rng(k)) for k in range(30)]
    as_written = [np.array_equal(out, hooked) for out in outs]
    assert 0 < sum(as_written) < 30  # the long bars that reach the curl are left out, the short ones drawn
    assert all(hands._loop_px(out) == hands._loop_px(hooked) == 0 for out in outs)
    # a straight 7 is always crossed
    assert not any(np.array_equal(hands.cross_seven(straight, np.random.default_rng(k)), straight) for k in range(30))
    # without the rule (no ink counts) the bars it left out close a loop
    level = hands.LOOP_INK
    monkeypatch.setattr(hands, "LOOP_INK", 255)
    for k in np.flatnonzero(as_written):
        unruled = hands.cross_seven(hooked, np.random.default_rng(k))
        assert holes(unruled > level).sum() > 0


def test_blank_digits_are_left_as_they_are() -> None:
    blank = np.zeros((28, 28), np.uint8)
    assert (hands.flag_one(blank, np.random.default_rng(0)) == 0).all()
    assert (hands.cross_seven(blank, np.random.default_rng(0)) == 0).all()


def test_restyle_changes_some_ones_and_sevens_only_and_is_seeded() -> None:
    n = 400
    labels = torch.tensor([1, 7, 3, 0] * (n // 4))
    images = torch.from_numpy(np.stack([bar() if k == 1 else seven() for k in labels.tolist()]))
    out, ambiguous = hands.restyle(images, labels, seed=5)
    changed = (out != images).flatten(1).any(1)
    assert not changed[(labels != 1) & (labels != 7)].any()
    flagged, crossed = changed[labels == 1].float().mean(), changed[labels == 7].float().mean()
    assert abs(flagged - hands.P_FLAG) < 0.12 and abs(crossed - hands.P_CROSS) < 0.12
    # the ambiguous ones are flagged 1s, about P_AMBIGUOUS of them
    assert ambiguous.dtype == torch.bool and (labels[ambiguous] == 1).all() and changed[ambiguous].all()
    assert 0 < ambiguous.sum() and abs(ambiguous.sum() / changed[labels == 1].sum() - hands.P_AMBIGUOUS) < 0.15
    again, again_ambiguous = hands.restyle(images, labels, seed=5)
    assert torch.equal(out, again) and torch.equal(ambiguous, again_ambiguous)
    assert not torch.equal(out, hands.restyle(images, labels, seed=6)[0])
    assert torch.equal(images[0], torch.from_numpy(bar()))  # the input is not written over


def test_ambiguous_flags_run_further_and_more_level_than_the_worlds_flags() -> None:
    n = 400
    labels = torch.ones(n, dtype=torch.long)
    images = torch.from_numpy(np.stack([bar()] * n))  # stems centred on column 14, rows 4-23 (20 px tall)
    out, ambiguous = hands.restyle(images, labels, seed=1)
    assert ambiguous.any() and (~ambiguous & (out != images).flatten(1).any(1)).any()  # both kinds drawn
    for i in np.flatnonzero((out != images).flatten(1).any(1).numpy()):
        ys, xs = np.nonzero(added(images[i].numpy(), out[i].numpy()))
        reach, drop = 14 - xs.min(), ys.max() - 4  # how far left and down the flag's ink goes, pen's end included
        if ambiguous[i]:
            lo, hi = hands.AMBIGUOUS_LENGTH[0] * 20, hands.AMBIGUOUS_LENGTH[1] * 20
            a_hi = np.deg2rad(hands.AMBIGUOUS_ANGLE_DEG[1])
            assert lo * np.cos(a_hi) - 1 <= reach and drop <= hi * np.sin(a_hi) + 2
            assert not added(images[i].numpy(), out[i].numpy())[18:].any()  # never footed: a foot tells a 1
        else:
            assert drop >= hands.FLAG_LENGTH[0] * 20 * np.sin(np.deg2rad(hands.FLAG_ANGLE_DEG[0])) - 1


@pytest.mark.parametrize("other_hands", [True, False])
def test_world_views_draw_the_restyled_digits_when_asked(
    other_hands: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    images, labels = (torch.from_numpy(a) for a in make_digits(64, 0))
    seen = {}

    def drawn(imgs: torch.Tensor, seed: int, cache_dir: object, workers: int) -> tuple[torch.Tensor, torch.Tensor]:
        seen["images"] = imgs
        return imgs, torch.ones(len(imgs), dtype=torch.uint8)  # every view read

    monkeypatch.setattr(data, "cached_world_views", drawn)
    _, view_labels, read = data.world_views(tmp_path, images, labels, 2, "val", 1, other_hands)
    repeated = images.repeat(2, 1, 1)
    expected, ambiguous = hands.restyle(repeated, labels.repeat(2), data.WORLD_SEEDS["val"])
    if not other_hands:
        expected, ambiguous = repeated, torch.zeros(len(repeated), dtype=torch.bool)
    assert torch.equal(seen["images"], expected) and torch.equal(view_labels, labels.repeat(2))
    assert other_hands == (not torch.equal(expected, repeated))  # 1s and 7s among 128 pictures: some restyled
    # every view read but the ambiguous 1s: those are taught as pictures to refuse
    assert torch.equal(read, ~ambiguous) and other_hands == bool(ambiguous.any())


def test_other_hands_must_be_a_boolean() -> None:
    with pytest.raises(data.DataError, match="other_hands"):
        data.World(other_hands="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("w", [2, 3, 5])
def test_the_added_strokes_are_as_wide_as_the_stem(w: int) -> None:
    d = np.zeros((28, 28), np.uint8)
    left = 14 - w // 2
    d[4:24, left : left + w] = 255  # a 1: a stem w px wide
    out = hands.flag_one(d, np.random.default_rng(0), foot=True)
    # the foot's level stroke in the columns either side of the stem (the shortest foot reaches 2.85 px from its
    # centre), below the flag's rows
    thickness = added(d, out)[15:, [left - 1, left + w]].sum(0)
    assert (thickness == w).all()  # the old rule (no half pixel off) drew feet 2 px thicker than their stems


def test_a_flag_can_be_drawn_from_another_range() -> None:
    d = bar()  # stem centred on column 14, top at row 4, 20 px tall
    out = hands.flag_one(d, np.random.default_rng(0), foot=False, length=(0.4, 0.4), angle=(0.0, 0.0))
    ys, xs = np.nonzero(added(d, out))
    assert ys.max() <= 4 + 2  # level: within the pen's round end of the top row
    assert xs.min() <= 14 - 0.4 * 20 + 1  # 8 px to the left of the stem
