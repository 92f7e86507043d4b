"""The guard's HTTP face on LitServe: what the HTTP processes do before and after a worker reads a picture.

LitServer brings the workers, batching, queue timeouts (504) and API-key auth. On top of it: POST /predict takes the
body as sent (LitServe's own endpoint reads only JSON or forms), GET / serves the page, GET /health names the model,
every error is `{"error": "..."}`, and too many requests in flight get 503 at once instead of a growing queue.
"""

from __future__ import annotations

import asyncio
from importlib.resources import files
from pathlib import Path
from typing import Any

import litserve as ls
from fastapi import Depends, Request, Response
from fastapi import HTTPException as FastAPIHTTPException  # the kind LitServe's handler passes through as is
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from litserve.callbacks import EventTypes
from litserve.server import RegularRequestHandler
from litserve.utils import WorkerSetupStatus
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from digit_lit.guard import GuardError
from digit_lit.in_flight import InFlightLimit
from digit_lit.uploads import RequestError, Upload, each_once

STATIC = Path(str(files("digit_lit") / "static"))
# the page loads only its own files; the 28x28 view arrives as a data: URL
PAGE_POLICY = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'"


MIN_UPLOAD_RATE = 10_000  # bytes/s: a body may take `timeout` s plus max_bytes at this rate (5 MB: 500 s) in all


async def read_upload(request: Request, max_bytes: int, deadline: float) -> Upload:
    """The request as sent, for `uploads.parse` in a worker; a body over max_bytes is refused (413) once known, one
    that goes silent for `deadline` seconds, or is still arriving `deadline` s plus max_bytes at MIN_UPLOAD_RATE
    after it began, is answered 408: a client that sends headers and then nothing held its place among the requests in
    flight for ever, and 64 such made the server answer everyone 503. A slow but steady upload (a phone photo on a
    weak link) goes on."""
    # hand-written rather than LitServe's max_payload_size, which reads up to the limit before a bare "Payload too
    # large": this refuses on Content-Length before reading, and says what the limit is
    too_large = FastAPIHTTPException(413, f"request body over the {max_bytes:,} byte limit; send a smaller picture")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":  # not decoded here: the picture's bytes would be read as compressed data
        raise FastAPIHTTPException(415, f"content encoding {encoding} is not accepted; send the body uncompressed")
    try:
        query = each_once(request.query_params.multi_items(), "query parameter")
    except RequestError as exc:
        raise FastAPIHTTPException(exc.status, str(exc)) from None
    body = bytearray()
    chunks = request.stream().__aiter__()
    try:
        async with asyncio.timeout(deadline + max_bytes / MIN_UPLOAD_RATE):
            while True:
                try:
                    chunk = await asyncio.wait_for(anext(chunks), deadline)
                except StopAsyncIteration:
                    break
                body += chunk
                if len(body) > max_bytes:
                    raise too_large
    except TimeoutError:
        raise FastAPIHTTPException(
            408, f"the body stopped arriving (nothing for {deadline:g} s, or too slow); send it again"
        ) from None
    except ClientDisconnect:  # gone mid-upload: no one to answer, and no traceback in the log for each one that goes
        raise FastAPIHTTPException(400, "the client closed the connection before the whole body arrived") from None
    return Upload(request.headers.get("content-type", ""), bytes(body), query)


class BodyAsSent(RegularRequestHandler):
    """LitServe's request handler (queue, wait, errors) with the body handed over as sent."""

    async def _prepare_request(self, request: Request, request_type: Any) -> Upload:
        return await read_upload(request, self.server.max_bytes, float(self.server.timeout))


async def json_error(request: Request, exc: Exception) -> Response:
    """Every HTTP error as {"error": "one line"} (LitServe's and FastAPI's say {"detail": ...} or plain text)."""
    assert isinstance(exc, HTTPException)
    detail, headers = str(exc.detail), exc.headers
    if exc.status_code == 504:  # LitServe's "Request timed out": the server was busy, the picture may be fine
        waited = request.app.state.timeout
        detail = f"no worker was free to read it within {waited:g} s (server busy); retry in a moment"
        headers = {**(headers or {}), "Retry-After": "1"}
    elif exc.status_code == 405 and request.url.path == request.app.state.api_path:
        detail = f"{request.method} reads nothing here: POST a picture to {request.app.state.api_path}"
    return JSONResponse({"error": detail}, status_code=exc.status_code, headers=headers)


class GuardServer(ls.LitServer):
    """LitServer serving one GuardAPI, with the page, a /health that names the model, and JSON errors."""

    def __init__(
        self, api: ls.LitAPI, identity: dict[str, Any], max_bytes: int, max_in_flight: int, **kwargs: Any
    ) -> None:
        # read by the endpoints LitServer registers from its own __init__
        self.identity, self.max_bytes = identity, max_bytes
        limit = (InFlightLimit, {"limit": max_in_flight, "path": api.api_path})
        super().__init__(api, middlewares=[limit], model_metadata=identity, disable_openapi_url=True, **kwargs)
        self.app.add_exception_handler(HTTPException, json_error)
        self.app.state.timeout, self.app.state.api_path = float(self.timeout), api.api_path
        self.app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def _register_internal_endpoints(self) -> None:
        super()._register_internal_endpoints()
        # LitServe's own "/" and "/health" answer plain text: the guard's serve the page and say which model runs
        ours = ("/", self.healthcheck_path)
        self.app.router.routes[:] = [r for r in self.app.router.routes if getattr(r, "path", None) not in ours]
        # the page is public like its /static files (a browser sends no API key); /health keeps LitServe's auth
        self.app.add_api_route("/", self.page, methods=["GET", "HEAD"], include_in_schema=False)
        auth = [Depends(self.setup_auth())]
        self.app.add_api_route(self.healthcheck_path, self.health, methods=["GET", "HEAD"], dependencies=auth)

    def _register_api_endpoints(self, lit_api: ls.LitAPI, request_type: Any, response_type: Any) -> None:
        self._callback_runner.trigger_event(EventTypes.ON_SERVER_START.value, litserver=self)  # as LitServer does
        handler = BodyAsSent(lit_api, self)

        async def predict(request: Request) -> Response:
            return await handler.handle_request(request, Request)

        self.app.add_api_route(
            lit_api.api_path, predict, methods=["POST"], dependencies=[Depends(self.setup_auth(lit_api))]
        )

    def verify_worker_status(self) -> None:
        """Fail closed when a worker cannot load the model (LitServe raises RuntimeError, the others left running)."""
        try:
            super().verify_worker_status()
        except RuntimeError:
            for worker in self.inference_workers:
                worker.kill()
            self.transport_config.manager.shutdown()
            raise GuardError("a worker could not load the model (its log above says why); nothing is served") from None

    async def page(self) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": PAGE_POLICY})

    async def health(self) -> Response:
        """200 with the model's identity once every worker has loaded it; 503 until then."""
        status = dict(self.workers_setup_status)
        ready = bool(status) and all(v == WorkerSetupStatus.READY for v in status.values())
        # max_bytes: the page shrinks a larger picture (a phone's photo) before sending it
        body = {"status": "ok" if ready else "starting", "model": self.identity, "max_bytes": self.max_bytes}
        return JSONResponse(body, status_code=200 if ready else 503)
