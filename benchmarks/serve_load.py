"""Load on the HTTP server against the in-process cost of the same reading, in one run.

    python benchmarks/serve_load.py MODEL.onnx [--seconds 10] [--concurrency 1 8 32] [--side N] [-- serve overrides]

Starts `python -m digit_lit.serve` on a free port (conf/serve.yaml plus the overrides), and for each concurrency keeps
that many requests in flight from an async httpx client for a fixed time: requests/s, p50/p95/p99 latency, and the CPU
time all the server's processes spent per request (from /proc, so other work on the machine does not count). The
request is what the page sends: a digit drawn on the pad, as a SIDE x SIDE PNG (SIDE = the page's SEND_SIDE).
In process, on one core, it times the same PNGs read as predict reads a file (decode + to_mnist + guard), and prints
what the server adds: p50 latency at concurrency 1 over the in-process wall time, and server CPU per request over
the in-process CPU time. The load generator runs on the same cores as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageDraw

from digit_lit.guard import Guard
from digit_lit.predict import FORMATS
from digit_lit.serve_process import serving

ROOT = Path(__file__).resolve().parents[1]
STROKES = {  # digits drawn on the pad as a hand would: polylines in pad pixels
    "1": [[(140, 40), (140, 240)]],
    "7": [[(70, 50), (210, 50), (120, 240)]],
    "4": [[(170, 240), (170, 40), (60, 170), (220, 170)]],
    "0": [[(140, 40), (80, 90), (80, 190), (140, 240), (200, 190), (200, 90), (140, 40)]],
}


def page_number(pattern: str, file: str = "app.js") -> int:
    """A number the page itself uses, read from its file, so the benchmark draws and sends as the page does."""
    match = re.search(pattern, (ROOT / "digit_lit" / "static" / file).read_text())
    assert match, f"{pattern} not found in {file}"
    return int(match.group(1))


def drawing(lines: list[list[tuple[int, int]]], side: int) -> bytes:
    """A pad drawing (black pen on white, as app.js draws) shrunk to side x side, as PNG bytes."""
    pad = page_number(r'<canvas id="pad" width="(\d+)"', "index.html")
    img = Image.new("RGB", (pad, pad), "white")
    draw = ImageDraw.Draw(img)
    for line in lines:
        draw.line(line, fill="black", width=page_number(r"const STROKE = (\d+);"), joint="curve")
    buf = io.BytesIO()
    img.resize((side, side), Image.Resampling.BILINEAR).save(buf, format="PNG")
    return buf.getvalue()


def group_cpu_seconds(group: int) -> float:
    """CPU time (user + system) of every live process in a process group, from /proc (Linux): the server's own
    cost, whatever else runs on the machine."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == group:  # pgrp; then utime, stime at 11, 12 (after the command name)
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def in_process_ms(guard: Guard, pngs: list[bytes], n: int) -> tuple[float, float]:
    """Median wall time and mean CPU time (ms) to read one PNG as predict reads a file: decode, to_mnist, guard."""

    def read(data: bytes) -> None:
        with Image.open(io.BytesIO(data), formats=FORMATS) as img:
            guard.read(img)

    for data in pngs:
        read(data)  # warm-up
    wall = []
    cpu = time.process_time()
    for i in range(n):
        start = time.perf_counter()
        read(pngs[i % len(pngs)])
        wall.append((time.perf_counter() - start) * 1000)
    return statistics.median(wall), (time.process_time() - cpu) * 1000 / n


async def load(
    url: str, pngs: list[bytes], concurrency: int, seconds: float, group: int
) -> tuple[float, list[float], int, float]:
    """requests/s, latencies (ms), failures, and the server's CPU ms per request, with `concurrency` users each
    keeping one request in flight for `seconds` (after a warm-up as long)."""
    latencies: list[float] = []
    failures = 0
    stop = 0.0

    async def user(client: httpx.AsyncClient, k: int) -> None:
        nonlocal failures
        i = k
        while time.perf_counter() < stop:
            start = time.perf_counter()
            r = await client.post("/predict", content=pngs[i % len(pngs)], headers={"Content-Type": "image/png"})
            latencies.append((time.perf_counter() - start) * 1000)
            failures += r.status_code != 200
            i += 1

    # a client (one keep-alive connection) per user, as browsers are: one pool of many connections costs the load
    # generator about twice the CPU per request at concurrency 32, CPU the server then lacks on a small machine
    clients = [httpx.AsyncClient(base_url=url, timeout=30) for _ in range(concurrency)]
    try:
        stop = time.perf_counter() + seconds
        await asyncio.gather(*(user(c, k) for k, c in enumerate(clients)))  # warm-up: connections, caches
        latencies.clear()
        failures = 0
        began, cpu = time.perf_counter(), group_cpu_seconds(group)
        stop = began + seconds
        await asyncio.gather(*(user(c, k) for k, c in enumerate(clients)))
        elapsed, cpu = time.perf_counter() - began, group_cpu_seconds(group) - cpu
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return len(latencies) / elapsed, latencies, failures, 1000 * cpu / max(len(latencies), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="an .onnx from digit_lit.export (or a .ckpt)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--side", type=int, default=None, help="PNG side in pixels (default: the page's SEND_SIDE)")
    parser.add_argument("--n", type=int, default=300, help="in-process reads to time")
    parser.add_argument("overrides", nargs="*", help="serve overrides, e.g. max_batch_size=8 batch_timeout=0.002")
    args = parser.parse_intermixed_args()  # serve overrides may follow the options
    side = args.side or page_number(r"const SEND_SIDE = (\d+);")
    pngs = [drawing(lines, side) for lines in STROKES.values()]
    size = np.mean([len(p) for p in pngs])
    print(f"request: a pad drawing as a {side}x{side} PNG (~{size:.0f} bytes); {os.cpu_count()} cores")
    print(f"serve overrides: {' '.join(args.overrides) or '(conf/serve.yaml defaults)'}")
    runs = {}
    with tempfile.TemporaryDirectory() as tmp, serving(args.model, *args.overrides, log=Path(tmp) / "serve.log") as s:
        for c in args.concurrency:
            rate, ms, failures, cpu_ms = asyncio.run(load(s.url, pngs, c, args.seconds, s.process.pid))
            runs[c] = (rate, statistics.median(ms), cpu_ms)
            p95, p99 = np.percentile(ms, [95, 99])
            print(
                f"concurrency {c:3d}: {rate:7.1f} requests/s   p50 {statistics.median(ms):6.1f} ms   "
                f"p95 {p95:6.1f} ms   p99 {p99:6.1f} ms   failures {failures}   server CPU {cpu_ms:.2f} ms/request"
            )
    wall, cpu = in_process_ms(Guard.load(args.model), pngs, args.n)
    print(f"in process (decode + to_mnist + guard, one core): {wall:.2f} ms wall (median), {cpu:.2f} ms CPU (mean)")
    if 1 in runs:
        print(f"server overhead, latency: p50 at concurrency 1 / in-process wall = {runs[1][1] / wall:.2f}x")
    for c, (_, _, cpu_ms) in runs.items():
        print(f"server overhead, CPU: server CPU per request at concurrency {c} / in-process CPU = {cpu_ms / cpu:.2f}x")


if __name__ == "__main__":
    main()
