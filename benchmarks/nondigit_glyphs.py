"""Which typed letters and symbols a guard lets through, and as which digit: the families `evaluate` reports whole
(`nondigit/letter/refused`, `nondigit/symbol/refused`), glyph by glyph.

    python benchmarks/nondigit_glyphs.py MODEL [--n 100] [--seed 0]

MODEL is a .ckpt or .onnx guard. Each glyph of `nondigits.LETTERS` and `nondigits.SYMBOLS` is typed `--n` times as
those families type theirs (size, paper, ink and font size drawn per picture) and read as `predict` reads a picture.
Prints, per family, its refusal over all its glyphs (every glyph equally often; `evaluate` draws glyphs at random),
then the glyphs the guard accepts at all: the share accepted and the digits it read them as.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's digit_lit, from any directory

import numpy as np

from digit_lit.guard import Guard
from digit_lit.nondigits import LETTERS, SYMBOLS, typed
from digit_lit.preprocess import PreprocessError


def read_as(guard: Guard, char: str, n: int, seed: int) -> Counter[int]:
    """How many of n typed pictures of `char` the guard accepted, by the digit it read (preprocessing refusals and
    the guard's refusals are not counted)."""
    accepted: Counter[int] = Counter()
    for k in range(n):
        try:
            verdict = guard.read(typed(char, np.random.default_rng([seed, ord(char), k])))
        except PreprocessError:
            continue
        if verdict["accepted"]:
            accepted[verdict["digit"]] += 1
    return accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help=".ckpt or .onnx guard")
    parser.add_argument("--n", type=int, default=100, help="pictures per glyph")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    guard = Guard.load(args.model)
    print(f"model {guard.identity['model']} (threshold {guard.threshold:.4f}), {args.n} pictures a glyph")
    for family, glyphs in (("letter", LETTERS), ("symbol", SYMBOLS)):
        through = {c: read_as(guard, c, args.n, args.seed) for c in glyphs}
        total = sum(sum(c.values()) for c in through.values())
        print(f"\n{family}s ({len(glyphs)} glyphs): refused {1 - total / (args.n * len(glyphs)):.1%}")
        for char, digits in sorted(through.items(), key=lambda kv: -sum(kv[1].values())):
            if digits:
                read = ", ".join(f"{d} x{k}" for d, k in digits.most_common())
                print(f"  {char!r}: accepted {sum(digits.values()) / args.n:.0%}, read as {read}")


if __name__ == "__main__":
    main()
