"""Where a guard's surest world mistakes come from: each world validation picture it accepts as a wrong digit, at its
stored threshold and at the issue's 90% world coverage, traced back through the world's stages.

    python benchmarks/world_mistakes.py MODEL [--data-dir data] [--coverage 0.9] [--grid mistakes.png] [overrides...]

MODEL is a trained `experiment=guard` checkpoint (or .onnx); overrides name its own split as `threshold_groups.py`'s
do. Each accepted mistake's picture is drawn again (`world.redraw`: the cache keeps only the views) and read by the
guard at every stage; the mistake is put down to the first stage at which the guard no longer reads its label:
  ambiguous 1   hands.py drew the 1's flag as long and level as a 7's bar: labelled 1, taught to refuse
  MNIST digit   the MNIST digit it was drawn from (MNIST's own ambiguous digits)
  drawing       a clean scan of the drawing (the digit in another hand and pen, dark on white, through `to_mnist`):
                the hand or the pen made it another digit
  lost          preprocessing lost the digit (the view's `agreement` with the drawing is under READABLE)
  picture       the clean scan reads right and the view does not: paper, light, camera, scan and preprocessing
The first three are settled before any photo effect or preprocessing: no reader of the picture sees the label there,
and the guard can refuse them only by doubting every digit that looks like them. --grid draws each mistake as its
MNIST digit, the clean scan and the view.
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
import torch
from guard_groups import CONF
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from PIL import Image, ImageDraw

from digit_lit.data import WORLD_SEEDS, world_dir
from digit_lit.guard import Guard
from digit_lit.hands import restyle
from digit_lit.world import LOST, REFUSED, cached_world_views, redraw, to_view

STAGES = ("ambiguous 1", "MNIST digit", "drawing", "lost", "picture")


def clean_scan(page: np.ndarray) -> np.ndarray:
    """What `to_mnist` makes of the drawing alone, dark ink on white paper (uint8 [28, 28]; black if refused)."""
    view = to_view(Image.fromarray(((1 - np.clip(page, 0, 1)) * 255).astype(np.uint8)))
    return np.zeros((28, 28), np.uint8) if view is None else view


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a trained experiment=guard .ckpt or .onnx")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--coverage", type=float, default=0.9, help="world validation coverage to look at")
    parser.add_argument("--grid", help="write the mistakes accepted at --coverage here (PNG)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of experiment=guard (e.g. data.val_size=10000)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=guard", f"paths.data_dir={args.data_dir}", *args.overrides])
    dm = instantiate(cfg.data)
    dm.setup()
    # the world validation pictures as data.world_views draws them, with the index of each one's drawing
    val_images, val_labels = dm._official()[1]
    renders, seed = cfg.data.world.val_renders, WORLD_SEEDS["val"]
    images, ambiguous = restyle(val_images.repeat(renders, 1, 1), val_labels.repeat(renders), seed)
    views, status = cached_world_views(images, seed, world_dir(args.data_dir))
    source = np.flatnonzero((status != REFUSED).numpy())
    x, y = (t.numpy() for t in dm.splits["world"])
    assert np.array_equal(views.numpy()[source], x), "the world validation group is not the one drawn here"

    guard = Guard.load(args.model)
    probs = np.concatenate([guard.probs(x[i : i + 4000].astype(np.float32) / 255) for i in range(0, len(x), 4000)])
    score, read = guard.confidence(probs), probs.argmax(1)
    at_coverage = float(np.sort(score)[::-1][max(int(args.coverage * len(score)) - 1, 0)])
    wrong = np.flatnonzero((score >= min(guard.threshold, at_coverage)) & (read != y))
    wrong = wrong[np.argsort(-score[wrong])]
    drawn = redraw(images.numpy(), seed, source[wrong])
    scans = np.stack([clean_scan(drawn[int(source[k])][0]) for k in wrong])
    digits = images.numpy()[source[wrong]]
    read_digit = guard.probs(digits.astype(np.float32) / 255).argmax(1)
    read_scan = guard.probs(scans.astype(np.float32) / 255).argmax(1)
    stages = []
    for j, k in enumerate(wrong):
        s = source[k]
        stages.append(
            "ambiguous 1"
            if ambiguous[s]
            else "MNIST digit"
            if read_digit[j] != y[k]
            else "drawing"
            if read_scan[j] != y[k]
            else "lost"
            if status[s] == LOST
            else "picture"
        )

    print(f"model {args.model}: {len(x)} world validation pictures; mistakes accepted, by the first stage they are at")
    print(f"{'threshold':<32}{'coverage':>9}{'wrong':>7}" + "".join(f"{s:>13}" for s in STAGES))
    for name, t in (("stored", guard.threshold), (f"at {args.coverage:.0%} coverage", at_coverage)):
        counts = Counter(st for st, k in zip(stages, wrong, strict=True) if score[k] >= t)
        print(
            f"{name + f' ({t:.5f})':<32}{(score >= t).mean():>9.2%}{sum(counts.values()):>7}"
            + "".join(f"{counts[s]:>13}" for s in STAGES)
        )
    pairs = Counter((int(y[k]), int(read[k])) for k in wrong if score[k] >= at_coverage)
    print("commonest (label, read) at that coverage:", ", ".join(f"{a}->{b} {n}" for (a, b), n in pairs.most_common(8)))
    if args.grid:
        shown = [j for j, k in enumerate(wrong) if score[k] >= at_coverage]
        cell, cols = 64, 10
        grid = Image.new("L", (cols * 3 * cell, -(-len(shown) // cols) * (cell + 14)), 255)
        draw = ImageDraw.Draw(grid)
        for n, j in enumerate(shown):
            k, left, top = wrong[j], (n % cols) * 3 * cell, (n // cols) * (cell + 14)
            for p, im in enumerate((digits[j], scans[j], x[k])):
                grid.paste(Image.fromarray(im).resize((56, 56)), (left + p * cell + 2, top + 2))
            label = f"{y[k]}->{read[k]} {score[k]:.4f} {stages[j]}"
            draw.text((left + 4, top + cell - 4), label, fill=0)
        grid.save(args.grid)
        print(f"each mistake as its MNIST digit, the clean scan of its drawing and its view: {args.grid}")


if __name__ == "__main__":
    main()
