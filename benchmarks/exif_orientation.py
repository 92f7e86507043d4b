"""Phone photos the way cameras store them: MNIST test digits saved turned, with the EXIF tag that turns them back.

    python benchmarks/exif_orientation.py MODEL [--n 1000] [--data-dir data]

Each of the first N official test digits becomes a photo of dark ink on white paper (224 px, JPEG), stored as a
camera stores it for each EXIF orientation (1: as shown; 3: the phone upside down; 6 and 8: held sideways; 2, 4, 5,
7: mirrored) with the tag that tells viewers how to turn it back. Per orientation it prints, for the file as
digit_lit reads it (turned upright by its tag) and for the stored pixels alone (what a reader that ignores the tag
sees): read right, accepted, and wrong accepts (accepted as another digit), with the digits that were misread so.
"""

from __future__ import annotations

import io
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's digit_lit and its tests' helpers

import numpy as np
from first_test_digits import first_test_digits
from PIL import Image

from tests.helpers.pictures import STORED, as_stored


def photo(digit: np.ndarray) -> Image.Image:
    """An MNIST digit as dark ink on white paper, 224 px."""
    return Image.fromarray(255 - digit).resize((224, 224), Image.Resampling.BICUBIC)


def main() -> None:
    guard, digits, truth = first_test_digits(__doc__.splitlines()[0], 1000)
    print(f"{'orientation':<12}{'read as':<16}{'right':>8}{'accepted':>10}{'wrong accepts':>15}  misread (true>read)")
    for orientation in STORED:
        files = [as_stored(photo(d), orientation, "JPEG") for d in digits]
        for how in ("file (upright)", "pixels alone"):
            verdicts = []
            for data in files:
                with Image.open(io.BytesIO(data)) as img:
                    verdicts.append(guard.read(img if how.startswith("file") else np.asarray(img)))
            read = np.array([v["digit"] for v in verdicts])
            accepted = np.array([v["accepted"] for v in verdicts])
            wrong = accepted & (read != truth)
            pairs = Counter(f"{t}>{r}" for t, r in zip(truth[wrong], read[wrong], strict=True)).most_common(4)
            print(
                f"{orientation:<12}{how:<16}{(read == truth).mean():>8.3f}{accepted.mean():>10.3f}"
                f"{int(wrong.sum()):>9} ({wrong.mean():.1%})  {' '.join(f'{p} {c}' for p, c in pairs)}"
            )


if __name__ == "__main__":
    main()
