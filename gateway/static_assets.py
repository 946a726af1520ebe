"""Static files the web UI needs (CSS, its JavaScript, plotly.js), served by the gateway itself.

Each asset's URL carries a digest of its content (``/-/static/<digest>/<name>``), so responses are
cached for a year as ``immutable`` and a new release changes the URL. Files are read, hashed and
gzipped once, on first use (gzip in a worker thread) (plotly.js is 4.8 MB, 1.5 MB gzipped), then served
from memory. Only the registered names exist; there is no path to walk.

Must not: know tenants or ML (the packages that own the files register them by name).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.errors import NotFound

PREFIX = "/-/static"
CACHE_FOREVER = "public, max-age=31536000, immutable"


@dataclass(slots=True)
class _Loaded:
    body: bytes
    digest: str
    media_type: str
    gzipped: bytes | None = None


class StaticAssets:
    def __init__(self, files: Mapping[str, Path]) -> None:
        self._files = dict(files)
        self._loaded: dict[str, _Loaded] = {}
        self._lock = threading.Lock()

    def _load(self, name: str) -> _Loaded:
        with self._lock:
            loaded = self._loaded.get(name)
            if loaded is None:
                body = self._files[name].read_bytes()
                media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
                if media_type in ("text/css", "text/javascript", "application/javascript"):
                    media_type += "; charset=utf-8"
                loaded = _Loaded(body=body, digest=hashlib.sha256(body).hexdigest()[:16], media_type=media_type)
                self._loaded[name] = loaded
            return loaded

    def _gzipped(self, name: str) -> bytes:
        loaded = self._load(name)
        with self._lock:
            if loaded.gzipped is None:
                loaded.gzipped = gzip.compress(loaded.body, compresslevel=6, mtime=0)
            return loaded.gzipped

    def url(self, name: str) -> str:
        """The versioned URL of a registered asset (templates call this)."""
        return f"{PREFIX}/{self._load(name).digest}/{name}"

    async def serve(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in self._files:
            raise NotFound(f"no static asset {name!r}")
        loaded = await run_in_threadpool(self._load, name)
        if request.path_params["digest"] != loaded.digest:
            raise NotFound(f"static asset {name!r} has changed; reload the page")
        headers = {"Cache-Control": CACHE_FOREVER, "ETag": f'"{loaded.digest}"', "Vary": "Accept-Encoding"}
        headers["X-Content-Type-Options"] = "nosniff"
        if request.headers.get("if-none-match") == f'"{loaded.digest}"':
            return Response(status_code=304, headers=headers)
        body = loaded.body
        if "gzip" in request.headers.get("accept-encoding", ""):
            body, headers["Content-Encoding"] = await run_in_threadpool(self._gzipped, name), "gzip"
        return Response(body, media_type=loaded.media_type, headers=headers)

    def routes(self) -> list[Route]:
        return [Route(PREFIX + "/{digest}/{name}", self.serve, methods=["GET", "HEAD"])]


def assets_of(request: Request) -> StaticAssets:
    assets = request.state.static_assets
    assert isinstance(assets, StaticAssets)
    return assets
