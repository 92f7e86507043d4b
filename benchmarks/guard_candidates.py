"""How the `guard` preset was chosen: train candidate recipes and compare them on VALIDATION figures only.

    python benchmarks/guard_candidates.py [--names A B] [--gpu] [-- extra overrides]

Each candidate is `experiment=guard` plus a few overrides, trained as a whole process with the test set left alone
(`test=false`). Prints, per candidate: epochs, fit time, MNIST-validation and world-validation accuracy, coverage at
the bounded threshold on each validation group, and the share of drawn non-digits (validation stream) accepted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def member(spec: str) -> list[str]:
    """Overrides that replace the ensemble's member spec (a plain override would merge into the default one)."""
    return ["~model.net.member", f"+model.net.member={spec}"]


CNN16 = "{name: cnn, channels: [16, 32, 64], dropout: 0.2}"

CANDIDATES = {
    "tiny3": [*member("{name: tiny_cnn}"), "model.net.size=3", "trainer.max_epochs=15"],
    "tiny5": [*member("{name: tiny_cnn}"), "model.net.size=5", "trainer.max_epochs=12"],
    "tiny24x3": [
        *member("{name: tiny_cnn, c1: 24, c2: 48, hidden: 128}"),
        "model.net.size=3",
        "trainer.max_epochs=12",
    ],
    "preset": [],  # experiment=guard as shipped
    "cnn16x3": [*member(CNN16), "model.net.size=3", "trainer.max_epochs=8"],
    "cnn16x2": [*member(CNN16), "model.net.size=2", "trainer.max_epochs=10"],
    "cnn24x1": [
        *member("{name: cnn, channels: [24, 48, 96], dropout: 0.3}"),
        "model.net.size=1",
        "trainer.max_epochs=10",
    ],
    "tiny3_ow1": [
        *member("{name: tiny_cnn}"),
        "model.net.size=3",
        "trainer.max_epochs=15",
        "model.outlier_weight=1.0",
    ],
    "tiny3_r2": [
        *member("{name: tiny_cnn}"),
        "model.net.size=3",
        "trainer.max_epochs=10",
        "data.world.train_renders=2",
    ],
}
# the candidates were compared validating every epoch on the members alone: the preset's test-time views and its
# validation every second epoch came after, so the others keep the settings they were measured with
AS_COMPARED = ["model.net.views=1", "trainer.check_val_every_n_epoch=1"]
COLUMNS = ("val/acc", "val/world/acc", "val/coverage", "val/world/coverage", "val/outliers/coverage", "val/threshold")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--gpu", action="store_true")
    parser.add_argument("--out", default=None, help="keep each run dir here (default: a temporary dir)")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp())
    print(f"{'candidate':10s} {'epochs':>6s} {'fit s':>7s} " + " ".join(f"{c.split('/', 1)[1]:>17s}" for c in COLUMNS))
    for name in args.names:
        run_dir = out / name
        cmd = [sys.executable, "-m", "digit_lit.train", "experiment=guard", "test=false", "logger=none"]
        cmd += ["callbacks.progress_bar=null", "trainer.enable_progress_bar=false", f"hydra.run.dir={run_dir}"]
        cmd += CANDIDATES[name] + ([] if name == "preset" else AS_COMPARED)
        cmd += (["trainer=gpu"] if args.gpu else []) + args.overrides
        start = time.perf_counter()
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if res.returncode:
            print(f"{name:10s} failed ({res.returncode}): {res.stderr.strip().splitlines()[-1:]}")
            continue
        m = json.loads((run_dir / "metrics.json").read_text())
        epochs = next((o.split("=")[1] for o in CANDIDATES[name] if o.startswith("trainer.max_epochs")), "preset")
        cells = " ".join(f"{m.get(c, float('nan')):>17.4f}" for c in COLUMNS)
        print(f"{name:10s} {epochs:>6s} {m['fit_seconds']:>7.1f} {cells}   (wall {wall:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
