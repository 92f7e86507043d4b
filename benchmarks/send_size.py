"""What the page's SEND_SIDE costs and gives: MNIST test digits drawn as on the pad, sent at several sides.

    python benchmarks/send_size.py MODEL [--n 1000] [--sides 280 168 112 84 56] [--data-dir data] [--frame 280]

Each of the first N official test digits becomes a pad drawing: its 28x28 frame scaled to the 280-px pad (or to
--frame px: a digit drawn small) and cut to hard black strokes on white (about the pad's pen width at full size).
The drawing is shrunk to each side (as the page's canvas does before sending) and read as the server reads it: PNG
decode, to_mnist, guard. Prints, per side, the PNG size, the CPU time per image (one core), the accuracy, the share
accepted and the wrong accepts.
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
from PIL import Image

from digit_lit.data import load_split
from digit_lit.guard import Guard
from digit_lit.predict import FORMATS

PAD = 280


def pad_drawing(digit: np.ndarray, size: int = PAD) -> Image.Image:
    """An MNIST digit as a person would draw it on the pad: hard black strokes on white, its 28x28 frame scaled to
    size x size (PAD: the frame fills the pad, the digit ~200 px tall) and placed off-centre when smaller."""
    big = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BILINEAR))
    pad = Image.new("L", (PAD, PAD), 255)
    pad.paste(Image.fromarray(np.where(big > 100, 0, 255).astype(np.uint8)), ((PAD - size) // 3, (PAD - size) // 2))
    return pad.convert("RGB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--sides", type=int, nargs="+", default=[280, 168, 112, 84, 56])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--frame", type=int, default=PAD, help="the digit's 28x28 frame on the pad, in pixels")
    args = parser.parse_args()
    guard = Guard.load(args.model)
    images, labels = load_split(args.data_dir, train=False, download=False)
    images, labels = images[: args.n].numpy(), labels[: args.n].numpy()
    drawings = [pad_drawing(d, args.frame) for d in images]
    print(f"{args.n} MNIST test digits drawn in a {args.frame}-px frame on the {PAD}-px pad; {guard.identity['model']}")
    for side in args.sides:
        pngs = []
        for drawing in drawings:
            buf = io.BytesIO()
            drawing.resize((side, side), Image.Resampling.BILINEAR).save(buf, format="PNG")
            pngs.append(buf.getvalue())
        start = time.process_time()
        verdicts = []
        for data in pngs:
            with Image.open(io.BytesIO(data), formats=FORMATS) as img:
                verdicts.append(guard.read(img))
        cpu_ms = (time.process_time() - start) * 1000 / len(pngs)
        digits = np.array([v["digit"] for v in verdicts])
        accepted = np.array([v["accepted"] for v in verdicts])
        print(
            f"side {side:3d}: PNG {np.mean([len(p) for p in pngs]):6.0f} bytes   {cpu_ms:5.2f} ms CPU per image   "
            f"accuracy {np.mean(digits == labels):.4f}   accepted {accepted.mean():.3f}   "
            f"wrong accepts {int((accepted & (digits != labels)).sum())}"
        )


if __name__ == "__main__":
    main()
