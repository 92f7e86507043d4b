"""Serve the guard over HTTP on LitServe: `python -m digit_lit.serve model_path=X.onnx` (or `ckpt_path=X.ckpt`).

    POST /predict   a picture (multipart field `file`, a raw image body, or JSON: see digit_lit/uploads.py)
                    -> {"digit", "confidence", "top3", "accepted", "model": {...}, "view": "<28x28 PNG, base64>"}
    GET  /          a page to draw a digit on, or drop a picture
    GET  /health    {"status": "ok", "model": {"model", "sha256", "threshold"}, "max_bytes"} once every worker has
                    loaded it (max_bytes: the body limit, which the page shrinks a larger picture to)

Settings in conf/serve.yaml (host, port, workers, batching, timeouts, limits). The model is loaded and checked here
before any process starts, so an invalid model is one line and exit 2, and no server.
"""

from __future__ import annotations

import math
import os
import signal
import socket
from typing import Any

import hydra
from omegaconf import DictConfig

from digit_lit.config import model_of, no_added_settings
from digit_lit.errors import ConfigError, command_line, exit_cleanly
from digit_lit.guard import Guard
from digit_lit.preprocess import MAX_PIXELS
from digit_lit.serve_api import GuardAPI
from digit_lit.serve_http import GuardServer
from digit_lit.uploads import Limits

HOSTS = ("127.0.0.1", "0.0.0.0", "::")  # the addresses LitServe binds
MAX_PROCESSES = 64  # workers or HTTP processes: a million were started one by one, the server never up
MIN_BATCH_TIMEOUT = 0.001  # s: under it, LitServe's batching loop polls its queue without pause (a core a worker)
MIN_PIXELS = 64  # max_megapixels may not refuse an 8x8 scan, the smallest picture to_mnist reads
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def _number(cfg: DictConfig, key: str, integer: bool = True, low: float = 0, high: float = float("inf")) -> Any:
    """cfg[key], which must be a finite number (an integer when `integer`) with low < value <= high: an infinite
    timeout would let a request wait for ever."""
    value = cfg.get(key)
    kinds = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or not (low < value <= high and math.isfinite(value)):
        kind = "an integer" if integer else "a finite number"
        bound = f"over {low:g}" + (f" and at most {high:g}" if high < float("inf") else "")
        raise ConfigError(f"{key}={value!r} must be {kind} {bound}")
    return value


def check(cfg: DictConfig) -> str:
    """Fail in one line on a setting LitServe or uvicorn would trip over later; returns the model path."""
    model = model_of(cfg, "give model_path=X.onnx (from digit_lit.export) or ckpt_path=RUN/checkpoints/X.ckpt")
    if cfg.host not in HOSTS:
        raise ConfigError(f"host={cfg.host} must be 127.0.0.1 (this machine only), 0.0.0.0 or :: (every interface)")
    _number(cfg, "port", low=1023, high=65535)
    for key in ("max_batch_size", "max_in_flight", "max_bytes"):
        _number(cfg, key)
    _number(cfg, "workers_per_device", high=MAX_PROCESSES)
    if cfg.get("num_api_servers") is not None:
        _number(cfg, "num_api_servers", high=MAX_PROCESSES)
    _number(cfg, "timeout", integer=False)
    _number(cfg, "keep_alive", integer=False)
    if cfg.get("batch_timeout") != 0:
        _number(cfg, "batch_timeout", integer=False, high=cfg.timeout)
        if cfg.batch_timeout < MIN_BATCH_TIMEOUT:
            raise ConfigError(
                f"batch_timeout={cfg.batch_timeout!r} must be 0 (no batching) or at least {MIN_BATCH_TIMEOUT:g} s: "
                "shorter, an idle worker polls its queue without pause"
            )
    elif cfg.max_batch_size > 1:  # LitServe's batching loop then polls an empty queue without pause, a core a worker
        raise ConfigError(f"max_batch_size={cfg.max_batch_size} needs batch_timeout > 0 (e.g. 0.002 s)")
    if cfg.get("max_megapixels") is not None:
        _number(cfg, "max_megapixels", integer=False, high=MAX_PIXELS / 1e6)
        if int(cfg.max_megapixels * 1e6) < MIN_PIXELS:
            raise ConfigError(
                f"max_megapixels={cfg.max_megapixels!r} would refuse every picture: at least {MIN_PIXELS / 1e6:g} "
                "(an 8x8 scan)"
            )
    if cfg.log_level not in LOG_LEVELS:
        raise ConfigError(f"log_level={cfg.log_level} must be one of {', '.join(LOG_LEVELS)}")
    return model


def check_port_free(host: str, port: int) -> None:
    """uvicorn would log a bind error and exit 1; say it in one line instead (as uvicorn binds: SO_REUSEADDR)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another port=") from None


def build(cfg: DictConfig, model: str, guard: Guard) -> GuardServer:
    """The LitServer for a checked config and an already loaded guard (its workers load the same file again)."""
    max_pixels = MAX_PIXELS if cfg.get("max_megapixels") is None else int(cfg.max_megapixels * 1e6)
    limits = Limits(max_bytes=cfg.max_bytes, max_pixels=max_pixels)
    api = GuardAPI(model, guard.identity["sha256"], limits, cfg.max_batch_size, float(cfg.batch_timeout))
    return GuardServer(
        api,
        guard.identity,
        max_bytes=cfg.max_bytes,
        max_in_flight=cfg.max_in_flight,
        accelerator="cpu",  # the guard runs on CPU (onnxruntime's CPU provider, or torch on CPU)
        workers_per_device=cfg.workers_per_device,
        timeout=float(cfg.timeout),
    )


def stop_on_sigterm() -> None:
    """SIGTERM (docker stop, systemd, kill) shuts down as Ctrl+C does: LitServer.run then stops its workers, where a
    bare SIGTERM would end the main process alone and leave them running."""
    main_pid = os.getpid()

    def stop(signum: int, frame: object) -> None:
        if os.getpid() == main_pid:
            raise KeyboardInterrupt
        signal.signal(signum, signal.SIG_DFL)  # a forked HTTP process inherits this handler: it ends as by default
        signal.raise_signal(signum)

    signal.signal(signal.SIGTERM, stop)


@command_line
@hydra.main(version_base="1.3", config_path="conf", config_name="serve")
@exit_cleanly
def main(cfg: DictConfig) -> None:
    no_added_settings("serve", "conf/serve.yaml lists its settings (--cfg job prints them)", own=(cfg, "serve"))
    model = check(cfg)
    guard = Guard.load(model)
    check_port_free(cfg.host, cfg.port)
    server = build(cfg, model, guard)
    who = guard.identity
    print(f"serving {who['model']} (sha256 {who['sha256'][:12]}, threshold {who['threshold']:.6g})", flush=True)
    stop_on_sigterm()
    print(f"page and API at http://{cfg.host}:{cfg.port}/ once GET /health answers ok", flush=True)
    server.run(
        host=cfg.host,
        port=cfg.port,
        num_api_servers=cfg.get("num_api_servers"),
        log_level=cfg.log_level,
        generate_client_file=False,  # LitServe would write client.py into the current folder
        timeout_keep_alive=cfg.keep_alive,
    )


if __name__ == "__main__":
    main()
