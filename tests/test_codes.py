"""The code renderer (digit_lit.codes): what it draws is what it says, boxes included, and it is seeded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from digit_lit.codes import GAP_KINDS, code_digits, render_code
from digit_lit.data import MNISTDataModule
from tests.helpers.glyphs import templates


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """The test's own drawn digits as 28x28 uint8 images, one piece of ink each (its 8 is two bars: left out)."""
    one_piece = [0, 1, 2, 3, 4, 5, 6, 7, 9]
    return (templates()[one_piece] * 255).astype(np.uint8), np.array(one_piece)


def pieces(ink: np.ndarray) -> int:
    """Pieces of ink down to the faintest edge (separate digits keep even their edges apart; touching ones do not)."""
    return ndimage.label(ink > 0.05, structure=np.ones((3, 3)))[1]


@pytest.mark.parametrize("kind", GAP_KINDS)
def test_codes_are_drawn_as_asked(digits: tuple, kind: str) -> None:
    rng = np.random.default_rng(0)
    for length in (3, 6, 10):
        code = render_code(*digits, rng, length=length, kind=kind, look="clean")
        assert len(code.digits) == length and code.kind == kind and len(code.gaps) == length - 1
        assert len(code.boxes) == length
        w, h = code.image.size
        assert all(0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h for x0, y0, x1, y1 in code.boxes)
        assert [b[0] for b in code.boxes] == sorted(b[0] for b in code.boxes)  # left to right
        if kind == "separate":
            assert pieces(code.ink) == length and set(code.gaps) == {"separate"}
        else:
            assert pieces(code.ink) < length and kind in code.gaps  # at least one pair is joined


def test_boxes_frame_each_digit(digits: tuple) -> None:
    code = render_code(*digits, np.random.default_rng(1), length=5, kind="separate", look="clean")
    labels, _ = ndimage.label(code.ink > 0.05, structure=np.ones((3, 3)))
    for x0, y0, x1, y1 in code.boxes:
        inside = labels[y0:y1, x0:x1]
        piece = labels == np.bincount(inside[inside > 0]).argmax()
        # the box is the digit's stroke (its darker half) in the piece of ink it lies on
        rows, cols = np.nonzero(piece & (code.ink > 0.5 * code.ink[piece].max()))
        assert abs(rows.min() - y0) <= 1 and abs(cols.min() - x0) <= 1
        assert abs(rows.max() + 1 - y1) <= 1 and abs(cols.max() + 1 - x1) <= 1


def test_the_same_seed_draws_the_same_code(digits: tuple) -> None:
    a, b, c = (render_code(*digits, np.random.default_rng(s), length=4) for s in (7, 7, 8))
    assert a.digits == b.digits and a.boxes == b.boxes and a.image.tobytes() == b.image.tobytes()
    assert a.image.tobytes() != c.image.tobytes()


@pytest.mark.mnist
def test_validation_digits_are_the_split_training_validates_on(mnist_dir: Path) -> None:
    images, labels = code_digits(mnist_dir, "val")
    dm = MNISTDataModule(data_dir=str(mnist_dir))
    dm.setup()
    val_images, val_labels = dm.splits["val"]
    assert np.array_equal(images, val_images.numpy()) and np.array_equal(labels, val_labels.numpy())
    test_images, _ = code_digits(mnist_dir, "test")
    assert len(test_images) == 10_000
    with pytest.raises(ValueError, match="split"):
        code_digits(mnist_dir, "train")
