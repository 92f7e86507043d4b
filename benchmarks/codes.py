"""Reading whole codes: segmentation, accuracy, coverage, wrong-accept and time per code, by gap kind, length and look.

    python benchmarks/codes.py MODEL [--data-dir data] [--split test] [--per-cell 100] [--seed 0] [--looks clean,scan]

MODEL is a .ckpt or .onnx (the guard to measure). Codes of 3-10 digits are rendered by `digit_lit.codes` from the
official test digits (`--split val` for tuning: figures on test are reported, never tuned on), `--per-cell` codes for
each (length, gap kind), with the world renderer's photo looks (`--looks` keeps some). Per group it prints:
segmented (as many digits as written, each found box centred in its true box and vice versa), read right (the code
string is right, accepted or not), coverage (share of codes accepted), wrong-accept (accepted codes with any wrong
digit, over all codes) and how many, accuracy of the accepted codes, coverage and wrong-accept when the reader is
told the code's length (|len: expected_length, as a platform that asked for the code can), and the median time of
`read_code` per code on one CPU core (torch and ONNX Runtime single-threaded; decoding and rendering not included),
beside the time to read the same pictures in digit mode, a yardstick when the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's digit_lit, from any directory

import numpy as np
import torch

from digit_lit.codes import GAP_KINDS, LENGTHS, LOOKS, Code, code_digits, render_code
from digit_lit.detect import decide, read_candidates
from digit_lit.guard import Guard
from digit_lit.preprocess import PreprocessError


def centred(a: list[int] | tuple[int, ...], b: list[int] | tuple[int, ...]) -> bool:
    """The centre of box a lies in box b."""
    cx, cy = (a[0] + a[2]) / 2, (a[1] + a[3]) / 2
    return b[0] <= cx <= b[2] and b[1] <= cy <= b[3]


def read_one(guard: Guard, code: Code) -> dict[str, Any]:
    """One code's record: its reading, segmentation and verdict (without and with its length), and read times."""
    length = len(code.digits)
    start = time.perf_counter()  # read_code is read_candidates + decide
    try:
        found = read_candidates(guard, code.image)
        out = decide(guard, found)
        seconds = time.perf_counter() - start
        told = decide(guard, found, expected_length=length)  # the platform knows the code's length
    except PreprocessError as exc:
        seconds = time.perf_counter() - start
        out = told = {"code": None, "accepted": False, "digits": [], "reason": str(exc)}
    # yardstick for a shared machine: the same picture read in digit mode (to_mnist + one net call)
    start = time.perf_counter()
    try:
        guard.read(code.image)
    except PreprocessError:
        pass
    digit_ms = 1000 * (time.perf_counter() - start)
    boxes = [d["box"] for d in out["digits"]]
    return {
        "length": length,
        "kind": code.kind,
        "look": code.look,
        "truth": code.digits,
        "read": out["code"],
        "segmented": len(boxes) == length
        and all(centred(f, t) and centred(t, f) for f, t in zip(boxes, code.boxes, strict=True)),
        "accepted": out["accepted"],
        "accepted_told": told["accepted"],
        "reason": out.get("reason"),
        "ms": 1000 * seconds,
        "digit_ms": digit_ms,
    }


def measure(guard: Guard, images: np.ndarray, labels: np.ndarray, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One record per rendered code. Each (length, gap kind) cell is rendered first and read after, so that the
    timed reads are not interleaved with rendering."""
    looks = args.looks.split(",") if args.looks else list(LOOKS)
    rows = []
    for length in range(LENGTHS[0], LENGTHS[1] + 1):
        for kind in GAP_KINDS:
            rng = np.random.default_rng([args.seed, length, GAP_KINDS.index(kind)])
            cell = [
                render_code(images, labels, rng, length=length, kind=kind, look=looks[n % len(looks)])
                for n in range(args.per_cell)
            ]
            rows += [read_one(guard, code) for code in cell]
    return rows


def figures(rows: list[dict[str, Any]]) -> dict[str, float]:
    right = np.array([r["read"] == r["truth"] for r in rows])
    accepted = np.array([r["accepted"] for r in rows])
    told = np.array([r["accepted_told"] for r in rows])
    return {
        "coverage_told": float(told.mean()),
        "wrong_accept_told": float((told & ~right).mean()),
        "codes": len(rows),
        "segmented": float(np.mean([r["segmented"] for r in rows])),
        "read_right": float(right.mean()),
        "coverage": float(accepted.mean()),
        "wrong_accept": float((accepted & ~right).mean()),
        "wrong_accepted": int((accepted & ~right).sum()),
        "accepted_acc": float(right[accepted].mean()) if accepted.any() else float("nan"),
        "ms_median": float(np.median([r["ms"] for r in rows])),
    }


def table(title: str, groups: dict[str, list[dict[str, Any]]]) -> None:
    print(f"\n{title}")
    print(
        f"{'group':<18}{'codes':>6}{'segmented':>10}{'read right':>11}{'coverage':>9}{'wrong-acc':>10}{'(n)':>5}"
        f"{'acc|acc':>8}{'cov|len':>9}{'w-a|len':>9}{'ms':>7}"
    )
    for name, rows in groups.items():
        if not rows:
            continue
        f = figures(rows)
        print(
            f"{name:<18}{f['codes']:>6}{f['segmented']:>10.3f}{f['read_right']:>11.3f}{f['coverage']:>9.3f}"
            f"{f['wrong_accept']:>10.4f}{f['wrong_accepted']:>5}{f['accepted_acc']:>8.3f}{f['coverage_told']:>9.3f}"
            f"{f['wrong_accept_told']:>9.4f}{f['ms_median']:>7.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help=".ckpt or .onnx guard")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--split", choices=("test", "val"), default="test")
    parser.add_argument("--per-cell", type=int, default=100, help="codes per (length, gap kind)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--looks", default="", help=f"photo looks to use, comma-separated (default all: {list(LOOKS)})")
    parser.add_argument("--records", help="write every code's record here (JSON lines)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    guard = Guard.load(args.model)
    images, labels = code_digits(args.data_dir, args.split)
    rows = measure(guard, images, labels, args)
    if args.records:
        Path(args.records).write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"model {guard.identity['model']} (threshold {guard.threshold:.4f}), {args.split} digits, seed {args.seed}")
    print("load average during the run (1/5/15 min): {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))  # times are wall
    by_length: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_length[f"{r['length']} digits"].append(r)
    table("by gap kind (all lengths)", {k: [r for r in rows if r["kind"] == k] for k in GAP_KINDS})
    table("by length (all gap kinds)", dict(by_length))
    table("by look", {k: [r for r in rows if r["look"] == k] for k in LOOKS})
    six = [r for r in rows if r["length"] == 6]
    code_ms, digit_ms = np.median([r["ms"] for r in six]), np.median([r["digit_ms"] for r in six])
    print(
        f"\n6-digit codes: read_code median {code_ms:.1f} ms; the same pictures read in digit mode (guard.read) "
        f"median {digit_ms:.1f} ms: a code costs {code_ms / digit_ms:.1f} one-digit reads"
    )
    table(
        "targets",
        {
            **{f"4-8 {k}": [r for r in rows if r["kind"] == k and 4 <= r["length"] <= 8] for k in GAP_KINDS},
            "6 digits (time)": [r for r in rows if r["length"] == 6],
            "all": rows,
        },
    )


if __name__ == "__main__":
    main()
