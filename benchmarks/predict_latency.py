"""Single-image latency of the reader, in process on CPU: preprocessing + model, for a checkpoint and its ONNX.

    python benchmarks/predict_latency.py CKPT [--onnx MODEL.onnx] [--n 200]

The picture is a 400x300 photo-like RGB image of a digit (tinted paper, blue ink), read one at a time. Prints the
median and 95th percentile of the wall time per call, and the median CPU time (the cost, on a shared machine).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from PIL import Image, ImageDraw

from digit_lit.guard import Guard
from digit_lit.preprocess import to_mnist


def photo() -> Image.Image:
    img = Image.new("RGB", (400, 300), (235, 228, 200))
    ImageDraw.Draw(img).line([(140, 60), (260, 60), (190, 250)], fill=(30, 40, 160), width=14)
    return img


def timed(fn: object, n: int) -> tuple[list[float], list[float]]:
    """Wall and CPU ms of each of n calls: on a shared machine the wall time waits for others, the CPU time does not."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(n):
        start, cpu_start = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - cpu_start) * 1000)
    return wall, cpu


def report(name: str, times: tuple[list[float], list[float]]) -> None:
    wall, cpu = times
    print(
        f"{name:28s} median {statistics.median(wall):6.2f} ms   p95 {np.percentile(wall, 95):6.2f} ms   "
        f"(CPU median {statistics.median(cpu):6.2f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpt")
    parser.add_argument("--onnx")
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)  # one request, one core: what a server worker gets
    img = photo()
    report("preprocess only", timed(lambda: to_mnist(img), args.n))
    for path in filter(None, (args.ckpt, args.onnx)):
        guard = Guard.load(path)
        x = to_mnist(img)[None, None]
        report(f"{guard.identity['model']} model only", timed(lambda g=guard, x=x: g.probs(x), args.n))
        report(f"{guard.identity['model']} read (end to end)", timed(lambda g=guard: g.read(img), args.n))


if __name__ == "__main__":
    main()
