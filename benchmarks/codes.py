"""Reading whole codes: accuracy, coverage, wrong-accept and time per code, by code length and by gap kind.

    python benchmarks/codes.py MODEL [--data-dir data] [--split test] [--per-cell 100] [--seed 0]

MODEL is a .ckpt or .onnx (the guard to measure). Codes of 3-10 digits are rendered by `digit_lit.codes` from the
official test digits (`--split val` for tuning: figures on test are reported, never tuned on), `--per-cell` codes for
each (length, gap kind). Per group it prints: read right (the code string is right, accepted or not), coverage (share
of codes accepted), wrong-accept (accepted codes with any wrong digit, over all codes), accuracy of the accepted codes,
and the median time of `read_code` per code on one CPU core (torch and ONNX Runtime single-threaded).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from digit_lit.codes import GAP_KINDS, LENGTHS, code_digits, render_code
from digit_lit.detect import read_code
from digit_lit.guard import Guard
from digit_lit.preprocess import PreprocessError


def measure(guard: Guard, images: np.ndarray, labels: np.ndarray, per_cell: int, seed: int) -> list[dict]:
    """One record per rendered code: its length, gap kind, truth, reading, acceptance and read time."""
    rows = []
    for length in range(LENGTHS[0], LENGTHS[1] + 1):
        for kind in GAP_KINDS:
            rng = np.random.default_rng([seed, length, GAP_KINDS.index(kind)])
            for _ in range(per_cell):
                code = render_code(images, labels, rng, length=length, kind=kind)
                start = time.perf_counter()
                try:
                    out = read_code(guard, code.image)
                except PreprocessError as exc:
                    out = {"code": None, "accepted": False, "reason": str(exc)}
                seconds = time.perf_counter() - start
                rows.append(
                    {
                        "length": length,
                        "kind": kind,
                        "truth": code.digits,
                        "read": out["code"],
                        "accepted": out["accepted"],
                        "reason": out.get("reason"),
                        "ms": 1000 * seconds,
                    }
                )
    return rows


def figures(rows: list[dict]) -> dict[str, float]:
    n = len(rows)
    right = np.array([r["read"] == r["truth"] for r in rows])
    accepted = np.array([r["accepted"] for r in rows])
    return {
        "codes": n,
        "read_right": float(right.mean()),
        "coverage": float(accepted.mean()),
        "wrong_accept": float((accepted & ~right).mean()),
        "accepted_acc": float(right[accepted].mean()) if accepted.any() else float("nan"),
        "ms_median": float(np.median([r["ms"] for r in rows])),
    }


def table(title: str, groups: dict[str, list[dict]]) -> None:
    print(f"\n{title}")
    print(f"{'group':<22}{'codes':>6}{'read right':>11}{'coverage':>10}{'wrong-acc':>10}{'acc|acc':>9}{'ms':>7}")
    for name, rows in groups.items():
        f = figures(rows)
        print(
            f"{name:<22}{f['codes']:>6}{f['read_right']:>11.4f}{f['coverage']:>10.4f}{f['wrong_accept']:>10.4f}"
            f"{f['accepted_acc']:>9.4f}{f['ms_median']:>7.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help=".ckpt or .onnx guard")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--split", choices=("test", "val"), default="test")
    parser.add_argument("--per-cell", type=int, default=100, help="codes per (length, gap kind)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--records", help="write every code's record here (JSON lines)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    guard = Guard.load(args.model)
    images, labels = code_digits(args.data_dir, args.split)
    rows = measure(guard, images, labels, args.per_cell, args.seed)
    if args.records:
        Path(args.records).write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"model {guard.identity['model']} (threshold {guard.threshold:.4f}), {args.split} digits, seed {args.seed}")
    by_kind = {k: [r for r in rows if r["kind"] == k] for k in GAP_KINDS}
    by_length: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_length[f"{r['length']} digits"].append(r)
    table("by gap kind (all lengths)", by_kind)
    table("by length (all gap kinds)", dict(by_length))
    targets = {
        "4-8 separate": [r for r in by_kind["separate"] if 4 <= r["length"] <= 8],
        "4-8 touching": [r for r in by_kind["touching"] if 4 <= r["length"] <= 8],
        "4-8 overlapping": [r for r in by_kind["overlapping"] if 4 <= r["length"] <= 8],
        "6 digits (time)": [r for r in rows if r["length"] == 6],
        "all": rows,
    }
    table("targets", targets)


if __name__ == "__main__":
    main()
