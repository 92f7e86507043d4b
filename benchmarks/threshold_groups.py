"""Which validation group sets a guard's threshold, and what coverage each group alone would allow.

    python benchmarks/threshold_groups.py CKPT [--data-dir data] [overrides of the preset...]

CKPT is a trained `experiment=guard` checkpoint (or .onnx). Its own rule (temperature, score) reads the validation
groups of the preset (composed with Hydra plus any overrides: name the checkpoint's own split the same way): MNIST
validation digits, world validation pictures and drawn non-digits. For each group alone, and for all of them together
(what training stores), prints the threshold `calibration.choose_threshold` picks (Clopper-Pearson at the preset's
`model.bound_confidence`, each group at its own target), how many wrong accepts the group's bound allows, and every
group's coverage at that threshold; then the scores of each digit group's surest mistakes. So one can see what the
coverage is waiting on: a group whose own threshold is far below the stored one costs nothing; the binding one does.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from guard_groups import validation_groups

from digit_lit.calibration import allowed_wrong, choose_threshold
from digit_lit.guard import Guard


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a trained experiment=guard .ckpt or .onnx")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of experiment=guard (e.g. data.val_size=10000)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    m, sets, targets = validation_groups(args.data_dir, args.overrides)
    guard = Guard.load(args.model)
    groups: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
    for name, (x, y) in sets.items():
        chunks = [x[i : i + 4000].numpy().astype(np.float32) / 255 for i in range(0, len(x), 4000)]
        probs = np.concatenate([guard.probs(c) for c in chunks])
        # a non-digit is never a right answer: accepting one is the group's mistake
        right = probs.argmax(1) == y.numpy() if name != "outliers" else np.zeros(len(x), bool)
        groups[name] = (guard.confidence(probs), right, targets[name])
    print(f"model {args.model}: stored threshold {guard.threshold:.5f}; bound at {m.bound_confidence:.0%}")
    print(f"{'threshold of':<14}{'threshold':>10}" + "".join(f"{k + ' cov':>14}" for k in groups))
    for name, group in [*groups.items(), ("all together", None)]:
        thr = choose_threshold([group] if group else list(groups.values()), m.bound_confidence)
        print(f"{name:<14}{thr:>10.5f}" + "".join(f"{(s >= thr).mean():>14.2%}" for s, _, _ in groups.values()))
    for name, (score, right, target) in groups.items():
        allowed = allowed_wrong(len(score), target, m.bound_confidence)
        surest = np.sort(score[~right])[::-1]
        first = f"{surest[allowed]:.5f}" if 0 <= allowed < len(surest) else "none"
        print(
            f"{name}: {len(score)} pictures, target {target:.1%}: the bound allows {allowed} wrong accepts of "
            f"{len(surest)} mistakes; mistakes scoring 1.0 (to 6 places): {int((surest >= 1 - 5e-7).sum())}; "
            f"the surest one it must refuse (number {allowed + 1} by score): {first}"
        )


if __name__ == "__main__":
    main()
