"""Time to accuracy, as speed records measure it: a preset whose schedule is fixed in advance, run as a whole
process (`python -m digit_lit.train ...`), several seeds; prints each run's wall time and final test accuracy.

    python benchmarks/time_to_accuracy.py [--preset fast_cpu] [--seeds 0 1 2] [--target 0.99] [-- extra overrides]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast_cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    walls, accs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            run_dir = Path(tmp) / f"seed{seed}"
            cmd = [sys.executable, "-m", "digit_lit.train", f"experiment={args.preset}", f"seed={seed}"]
            cmd += ["callbacks.progress_bar=null", "trainer.enable_progress_bar=false", f"hydra.run.dir={run_dir}"]
            start = time.perf_counter()
            subprocess.run(cmd + args.overrides, cwd=ROOT, check=True, capture_output=True)
            walls.append(time.perf_counter() - start)
            metrics = json.loads((run_dir / "metrics.json").read_text())
            accs.append(metrics["test/acc"])
            print(f"seed {seed}: wall {walls[-1]:.1f} s (fit {metrics['fit_seconds']:.1f} s), test acc {accs[-1]:.4f}")
    mean_acc = statistics.mean(accs)
    print(
        f"{args.preset}: mean wall {statistics.mean(walls):.1f} s, mean test acc {mean_acc:.4f}, "
        f"target {args.target}: {'met' if mean_acc >= args.target else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
