"""Picture files that tests hand to predict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def fake_digit_png(path: Path, digit: int) -> Path:
    """A fake digit photographed large, dark on light paper (its class means nothing after centring)."""
    img = np.full((28, 28), 255, np.uint8)
    img[2 + 2 * digit : 4 + 2 * digit, 4:24] = 0
    img[4:24, 4 + digit : 6 + digit] = 0
    Image.fromarray(img).resize((280, 280), Image.Resampling.NEAREST).save(path)
    return path
