"""A bound on the requests one HTTP process holds: over it, 503 at once rather than a queue that grows into a hang."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class InFlightLimit:
    """503 at once when `limit` requests to `path` are already in flight in this HTTP process.

    LitServe's queue is unbounded; uvicorn's limit_concurrency counts idle keep-alive connections too and answers in
    plain text, so this counts requests and answers in JSON.
    """

    def __init__(self, app: ASGIApp, limit: int, path: str) -> None:
        self.app, self.limit, self.path = app, limit, path
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            busy = {"error": f"server busy: {self.limit} requests in flight; retry in a moment"}
            await JSONResponse(busy, status_code=503, headers={"Retry-After": "1"})(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
