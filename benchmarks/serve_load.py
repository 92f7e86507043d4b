"""Load on the HTTP server against the in-process cost of the same reading, in one run.

    python benchmarks/serve_load.py MODEL.onnx [--seconds 10] [--concurrency 1 8 32] [--side N] [-- serve overrides]

Starts `python -m digit_lit.serve` on a free port (conf/serve.yaml plus the overrides), and for each concurrency keeps
that many requests in flight from an async httpx client for a fixed time: requests/s, p50/p95/p99 latency, and the CPU
time all the server's processes spent per request (from /proc, so other work on the machine does not count). The
request is what the page sends: a digit drawn on the pad, as a SIDE x SIDE PNG (SIDE = the page's SEND_SIDE).
In process, on one core, before and after every load run (the server idle), it times the same PNGs read as predict
reads a file (decode + to_mnist + guard), and prints
what the server adds: p50 latency at concurrency 1 over the in-process wall time, and server CPU per request over
the in-process CPU time. Where the server's CPU goes, per request, by role: the HTTP processes (uvicorn, FastAPI,
LitServe's handler), the inference workers, and the rest (LitServe's queue manager, the main process); beside the
workers' share, the same request through the API's own calls in process (decode_request, predict, encode_response:
no HTTP, no queues), so what LitServe's hand-over between processes costs shows apart from what the API itself adds
(the view PNG, the answer). The load generator runs on the same cores as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
import numpy as np
from omegaconf import OmegaConf
from PIL import Image, ImageDraw, ImageOps

from digit_lit.guard import Guard
from digit_lit.predict import FORMATS
from digit_lit.preprocess import MAX_PIXELS
from digit_lit.serve_api import GuardAPI
from digit_lit.serve_process import serving
from digit_lit.uploads import Limits, Upload

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
MAX_BYTES = OmegaConf.load(ROOT / "digit_lit" / "conf" / "serve.yaml").max_bytes  # the server's default body limit
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
    small = img.resize((side, side), Image.Resampling.BILINEAR)
    ImageOps.expand(small, page_number(r"const SEND_MARGIN = (\d+);"), "white").save(buf, format="PNG")  # app.js's
    return buf.getvalue()


def group_cpu_seconds(group: int) -> dict[int, float]:
    """CPU time (user + system) of every live process in a process group, by pid, from /proc (Linux): the server's
    own cost, whatever else runs on the machine."""
    seconds = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == group:  # pgrp; then utime, stime at 11, 12 (after the command name)
            seconds[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


ROLES = ("HTTP", "workers", "other")


def connected_inodes(port: int) -> set[str]:
    """Socket inodes of the TCP connections accepted on `port` (/proc/net/tcp*: local port, state 01 ESTABLISHED)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    return inodes


def role(pid: int, accepted: set[str]) -> str:
    """What a server process does, read while clients are connected: an HTTP process holds their connections, an
    inference worker is a spawned interpreter (LitServe starts them so), the rest is LitServe's multiprocessing
    manager (the queues between the two), its resource tracker and the main process, which only waits."""
    try:
        if b"multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return "workers"
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # it ended meanwhile
        return "other"
    for fd in fds:
        with contextlib.suppress(OSError):  # an fd closed while we read
            link = os.readlink(fd)
            if link.startswith("socket:[") and link[8:-1] in accepted:
                return "HTTP"
    return "other"


def timed(read: Callable[[T], object], items: list[T], n: int) -> tuple[float, float]:
    """Median wall time and mean CPU time (ms) of `read` over n of `items` in turn, after one warm-up read of each."""
    for item in items:
        read(item)
    wall = []
    cpu = time.process_time()
    for i in range(n):
        start = time.perf_counter()
        read(items[i % len(items)])
        wall.append((time.perf_counter() - start) * 1000)
    return statistics.median(wall), (time.process_time() - cpu) * 1000 / n


def in_process_ms(guard: Guard, pngs: list[bytes], n: int) -> tuple[float, float]:
    """Median wall time and mean CPU time (ms) to read one PNG as predict reads a file: decode, to_mnist, guard."""

    def read(data: bytes) -> None:
        with Image.open(io.BytesIO(data), formats=FORMATS) as img:
            guard.read(img)

    return timed(read, pngs, n)


def worker_api(model: str, guard: Guard) -> GuardAPI:
    """The LitAPI a worker runs, set up in this process, with the server's default limits."""
    api = GuardAPI(model, guard.identity["sha256"], Limits(max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS), 1, 0.0)
    api.setup("cpu")
    return api


def api_cpu_ms(api: GuardAPI, pngs: list[bytes], n: int) -> float:
    """Mean CPU time (ms) of one request through the API's own calls in this process, as a worker makes them
    (decode_request, predict, encode_response), with no HTTP and no queues between processes."""
    uploads = [Upload("image/png", data) for data in pngs]
    return timed(lambda u: api.encode_response(api.predict(api.decode_request(u))), uploads, n)[1]


async def load(
    url: str, pngs: list[bytes], concurrency: int, seconds: float, group: int
) -> tuple[float, list[float], int, dict[str, float]]:
    """requests/s, latencies (ms), failures, and the server's CPU ms per request by role (and "all"), with
    `concurrency` users each keeping one request in flight for `seconds` (after a warm-up as long)."""
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
        accepted = connected_inodes(httpx.URL(url).port or 80)  # the users' connections are open between the runs
        before = group_cpu_seconds(group)
        roles = {pid: role(pid, accepted) for pid in before}
        began = time.perf_counter()
        stop = began + seconds
        await asyncio.gather(*(user(c, k) for k, c in enumerate(clients)))
        elapsed, after = time.perf_counter() - began, group_cpu_seconds(group)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    cpu = dict.fromkeys(ROLES, 0.0)
    for pid, spent in after.items():
        cpu[roles.get(pid, "other")] += spent - before.get(pid, 0.0)
    per_request = {k: 1000 * v / max(len(latencies), 1) for k, v in cpu.items()}
    return len(latencies) / elapsed, latencies, failures, {**per_request, "all": sum(per_request.values())}


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
    guard = Guard.load(args.model)
    api = worker_api(args.model, guard)

    def yardstick() -> tuple[float, float, float]:
        return (*in_process_ms(guard, pngs, args.n), api_cpu_ms(api, pngs, args.n))

    # the in-process reading is timed before and after every load run, the server idle, and each run is set against
    # the mean of the two: a virtual machine's speed drifts by 10-25% within minutes, and a ratio of figures taken
    # minutes apart would measure the drift
    runs, sticks = {}, [yardstick()]
    with tempfile.TemporaryDirectory() as tmp, serving(args.model, *args.overrides, log=Path(tmp) / "serve.log") as s:
        for c in args.concurrency:
            rate, ms, failures, cpu_ms = asyncio.run(load(s.url, pngs, c, args.seconds, s.process.pid))
            sticks.append(yardstick())
            runs[c] = (rate, statistics.median(ms), cpu_ms, np.mean(sticks[-2:], axis=0))
            p95, p99 = np.percentile(ms, [95, 99])
            print(
                f"concurrency {c:3d}: {rate:7.1f} requests/s   p50 {statistics.median(ms):6.1f} ms   "
                f"p95 {p95:6.1f} ms   p99 {p99:6.1f} ms   failures {failures}   "
                f"server CPU {cpu_ms['all']:.2f} ms/request"
            )
    walls, cpus, apis = np.array(sticks).T
    print(
        f"in process (decode + to_mnist + guard, one core), {len(sticks)} times: {np.median(walls):.2f} ms wall "
        f"(median of medians; {walls.min():.2f}-{walls.max():.2f}), {np.median(cpus):.2f} ms CPU "
        f"({cpus.min():.2f}-{cpus.max():.2f}); through the API's calls (no HTTP, no queues): "
        f"{np.median(apis):.2f} ms CPU"
    )
    if 1 in runs:
        wall = runs[1][3][0]
        print(f"server overhead, latency: p50 at concurrency 1 / in-process wall = {runs[1][1] / wall:.2f}x")
    for c, (_, _, cpu_ms, (_, cpu, api_cpu)) in runs.items():
        print(
            f"server overhead, CPU: server CPU per request at concurrency {c} / in-process CPU = "
            f"{cpu_ms['all'] / cpu:.2f}x; by role, ms/request: "
            + ", ".join(f"{k} {cpu_ms[k]:.2f}" for k in ROLES)
            + f" (the API's calls in process: {api_cpu:.2f})"
        )


if __name__ == "__main__":
    main()
