"""Speed of the world renderer: one picture, one picture + preprocessing, and whole chunks in a process pool.

    python benchmarks/world_render.py [--data-dir data] [--n 400] [--pool-n 2048] [--outliers 512]

Prints ms per picture for `render` alone and for `render` + `to_view` (what world_views does per image), then
images/s of `world_views` with 1 and 2 workers, and how many views were kept (ok); then pictures/s of
`outliers.outlier_views` with 2 workers. MNIST training digits are used.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")  # workers are processes; threads inside them would only compete

from digit_lit.data import load_split
from digit_lit.outliers import outlier_views
from digit_lit.world import READABLE, agreement, draw_page, render, to_view, world_views


def per_picture(digits: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    render(digits[0], rng)  # warm-up
    # wall time, and this process's CPU time: on a shared machine the second is the cost, the first what you wait
    start, cpu_start = time.perf_counter(), time.process_time()
    pictures = [render(d, np.random.default_rng(i)) for i, d in enumerate(digits)]
    drawn, cpu_drawn = time.perf_counter(), time.process_time()
    views = [to_view(p) for p in pictures]
    viewed, cpu_viewed = time.perf_counter(), time.process_time()
    n = len(digits)
    ms = 1000 / n
    print(f"render alone           {(drawn - start) * ms:6.2f} ms/picture (CPU {(cpu_drawn - cpu_start) * ms:.2f} ms)")
    print(
        f"render + to_mnist      {(viewed - start) * ms:6.2f} ms/picture (CPU {(cpu_viewed - cpu_start) * ms:.2f} ms; "
        f"to_mnist {(viewed - drawn) * ms:.2f} ms of it)"
    )
    # the same seeds draw the same pages: render is draw_page + photo_effects
    pages = [draw_page(d, np.random.default_rng(i))[0] for i, d in enumerate(digits)]
    kept = sum(v is not None and agreement(v, page) >= READABLE for v, page in zip(views, pages, strict=True))
    refused = sum(v is None for v in views)
    print(f"refused by to_mnist    {refused / n:6.1%}; kept (readable) {kept / n:6.1%}")


def pooled(digits: np.ndarray) -> None:
    for workers in (1, 2):
        start = time.perf_counter()
        _, ok = world_views(digits, seed=0, workers=workers)
        seconds = time.perf_counter() - start
        print(
            f"world_views, {workers} worker{'s' if workers > 1 else ' '}  {len(digits) / seconds:7.1f} images/s "
            f"({len(digits)} in {seconds:.1f} s; 55,000 would take {55_000 / len(digits) * seconds / 60:.1f} min), "
            f"ok {float(ok.float().mean()):.1%}"
        )


def outliers(digits: np.ndarray, n: int) -> None:
    start = time.perf_counter()
    views = outlier_views(n, seed=0, digits=digits, workers=2)
    seconds = time.perf_counter() - start
    print(f"outlier_views, 2 workers {n / seconds:6.1f} pictures/s ({n} in {seconds:.1f} s), kept {len(views) / n:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--n", type=int, default=400, help="pictures timed one by one")
    parser.add_argument("--pool-n", type=int, default=2048, help="images rendered by world_views per worker count")
    parser.add_argument("--outliers", type=int, default=512, help="non-digit pictures drawn by outlier_views")
    args = parser.parse_args()
    images, _ = load_split(args.data_dir, train=True, download=False)
    digits = images.numpy()
    print(f"{os.cpu_count()} CPU cores; OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    per_picture(digits[: args.n])
    pooled(digits[args.n : args.n + args.pool_n])
    if args.outliers:
        outliers(digits, args.outliers)


if __name__ == "__main__":
    main()
