"""MNIST-style preprocessing of real-world pictures."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from digit_lit.constants import DIGIT_BOX, IMAGE_SIZE
from digit_lit.preprocess import PreprocessError, to_mnist


def draw_seven(
    size: tuple[int, int], box: tuple[int, int, int, int], paper: tuple, ink: tuple, width: int
) -> Image.Image:
    img = Image.new("RGB", size, paper)
    x0, y0, x1, y1 = box
    ImageDraw.Draw(img).line([(x0, y0), (x1, y0), ((x0 + x1) // 2, y1)], fill=ink, width=width)
    return img


def assert_mnist_like(x: np.ndarray) -> None:
    assert x.shape == (IMAGE_SIZE, IMAGE_SIZE) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.9
    cy, cx = ndimage.center_of_mass(x)
    assert abs(cy - 13.5) <= 1.0 and abs(cx - 13.5) <= 1.0
    rows, cols = np.flatnonzero(x.max(1) > 0.1), np.flatnonzero(x.max(0) > 0.1)
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    assert DIGIT_BOX - 3 <= max(height, width) <= DIGIT_BOX + 2
    assert x[0].max() == 0 and x[:, 0].max() == 0  # black background at the border


def test_large_offcentre_dark_on_light_digit_comes_out_centred() -> None:
    img = draw_seven((900, 700), (550, 380, 820, 680), (255, 255, 255), (0, 0, 0), 40)
    assert_mnist_like(to_mnist(img))


def test_polarity_and_colour_do_not_matter() -> None:
    box = (60, 50, 200, 230)
    reference = to_mnist(draw_seven((256, 256), box, (255, 255, 255), (0, 0, 0), 14))
    variants = {
        "light on dark": draw_seven((256, 256), box, (10, 10, 10), (250, 250, 250), 14),
        "blue ink, yellow paper": draw_seven((256, 256), box, (240, 225, 150), (30, 40, 170), 14),
        "red ink, pink paper": draw_seven((256, 256), box, (250, 215, 220), (200, 20, 30), 14),
    }
    for name, img in variants.items():
        x = to_mnist(img)
        assert_mnist_like(x)
        assert np.abs(x - reference).mean() < 0.03, name


def test_shadow_gradient_and_specks_are_not_ink() -> None:
    img = draw_seven((400, 400), (100, 80, 300, 330), (255, 255, 255), (20, 20, 20), 18)
    arr = np.asarray(img, dtype=np.float64)
    shade = np.linspace(1.0, 0.55, 400)[None, :, None]  # a photo lit from the left
    arr = arr * shade
    rng = np.random.default_rng(0)
    arr += rng.normal(0, 6, arr.shape)
    arr[rng.integers(0, 400, 30), rng.integers(0, 400, 30)] = 0  # dust specks
    x = to_mnist(np.clip(arr, 0, 255).astype(np.uint8))
    assert_mnist_like(x)


def test_thin_pen_is_thickened_to_mnist_strokes() -> None:
    x = to_mnist(draw_seven((1000, 1000), (200, 150, 800, 850), (255, 255, 255), (0, 0, 0), 3))
    assert_mnist_like(x)
    assert (x > 0.5).sum() >= 25  # a 3-px line on a 1000-px page would otherwise vanish when shrunk


def test_transparent_canvas_drawing() -> None:
    img = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(img).line([(50, 40), (150, 40), (100, 170)], fill=(0, 0, 0, 255), width=12)
    assert_mnist_like(to_mnist(img))


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (Image.new("RGB", (300, 300), (255, 255, 255)), "blank"),
        (Image.new("RGB", (300, 300), (120, 200, 40)), "blank"),
        (Image.new("L", (4, 4), 0), "at least 8x8"),
    ],
)
def test_unusable_pictures_are_refused(image: Image.Image, message: str) -> None:
    with pytest.raises(PreprocessError, match=message):
        to_mnist(image)


def test_faint_noise_is_blank_paper() -> None:
    rng = np.random.default_rng(1)
    paper = np.clip(rng.normal(235, 3, (300, 300, 3)), 0, 255).astype(np.uint8)
    with pytest.raises(PreprocessError):
        to_mnist(paper)
