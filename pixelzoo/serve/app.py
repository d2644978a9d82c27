"""The `pixelzoo serve` web app (Starlette): the page, its static files and a small JSON API.

Routes (all answers JSON unless said; an error is `{"error": message}` with a 4xx/5xx status):

- `GET /`, `GET /static/{app.js,style.css,icon.svg}`: the page, served from the package;
- `GET /api/models`: the models this server serves, each with its card, and the limits;
- `GET /api/model?key=K`: load model K (once) and describe it: grid, parameters, sampler;
- `GET /api/samples/{i}.png`: sample face i (a PNG);
- `POST /api/image?model=K[&sample=i]`: the request body is an image file (or empty with
  `sample`); answers the image in K's grid as a PNG data URL;
- `POST /api/mask?model=K[&source_h=&source_w=]`: the body is a mask image (white = hole);
  answers the holes in K's grid as a '0'/'1' string;
- `POST /api/fill`: `{model, image, mask, decoding, temperature, seed, baselines, original}`;
  answers the model's fill and each classic baseline's, with hole PSNR where `original`;
- `POST /api/watch` with the same body starts a streamed sample and answers its `id`;
  `GET /api/watch/{id}` is its server-sent event stream: `start`, one `pixel` per hole pixel in
  the model's scan order, then `done` (or `failed`);
- `GET /api/status`: jobs running and the cap.

Model work runs on `Workers` threads, never on the event loop, so the page stays answered while
a fill runs. Uploads go in request bodies with a byte cap (no multipart spooling to the system's
temp folder); the scratch files the model adapter needs live in the server's own temp folder.
Not for starting the server (`pixelzoo.serve.command`) or model calls (`pixelzoo.serve.adapter`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from pixelzoo.errors import PixelzooError
from pixelzoo.serve import adapter
from pixelzoo.serve.pictures import (UploadError, check_image_bytes, decode_grid_image,
                                     data_url, decode_holes, encode_holes, hole_psnr,
                                     image_url, side_by_side)
from pixelzoo.serve.pool import Busy, ModelPool, UnknownModel, Workers

log = logging.getLogger("pixelzoo.serve")
T = TypeVar("T")

STATIC = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8",
          "icon.svg": "image/svg+xml"}
# Everything comes from this server: no script, style, font or image from anywhere else.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                               "style-src 'self'; script-src 'self'; connect-src 'self'; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
WATCH_TTL_S = 60.0  # a watch job not connected to within this time is dropped
MAX_TEMPERATURE = 5.0
MAX_WATCH_JOBS = 32  # started but not yet opened: each holds an image until it expires


@dataclass
class Settings:
    """What a server is started with (see `pixelzoo serve --help`)."""

    scratch: Path
    max_upload_bytes: int = 8 * 1024 * 1024
    allowed_hosts: list[str] = field(default_factory=lambda: ["127.0.0.1", "localhost"])
    samples: list[bytes] = field(default_factory=list)


@dataclass
class WatchJob:
    key: str
    image: np.ndarray
    holes: np.ndarray
    temperature: float
    seed: int
    original: bool
    created: float = field(default_factory=time.monotonic)


def _static(name: str) -> bytes:
    return resources.files("pixelzoo.serve").joinpath("static", name).read_bytes()


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=SECURITY_HEADERS)


def _ok(payload: dict[str, Any]) -> JSONResponse:
    return JSONResponse(payload, headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise UploadError(f"the upload is {int(declared) / 1e6:.1f} MB; the limit is "
                          f"{limit / 1e6:.1f} MB", 413)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise UploadError(f"the upload is larger than the {limit / 1e6:.1f} MB limit", 413)
    return bytes(data)


def create_app(pool: ModelPool, workers: Workers, settings: Settings) -> Starlette:
    """The app for `pool`'s models, doing model work on `workers`."""
    page = {name: _static(name) for name in ("index.html", *STATIC)}
    watch_jobs: dict[str, WatchJob] = {}
    jobs_lock = threading.Lock()
    baselines = _baseline_names()

    async def work(fn: Callable[[], T]) -> T:
        return await asyncio.wrap_future(workers.submit(fn))

    def handled(endpoint: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def wrapper(request: Request) -> Response:
            try:
                return await endpoint(request)
            except UnknownModel as exc:
                return _error(str(exc), 404)
            except Busy as exc:
                return _error(str(exc), 503)
            except UploadError as exc:
                return _error(str(exc), exc.status)
            except PixelzooError as exc:
                return _error(str(exc), 400)
            except Exception:  # a bug: logged with its traceback, the page gets one line
                log.exception("internal error in %s", request.url.path)
                return _error("internal error (see the server's console)", 500)
        return wrapper

    async def index(request: Request) -> Response:
        return Response(page["index.html"], media_type="text/html; charset=utf-8",
                        headers=SECURITY_HEADERS)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:  # a fixed set of names: nothing is looked up on disk
            return _error("not found", 404)
        return Response(page[name], media_type=STATIC[name], headers=SECURITY_HEADERS)

    async def models(request: Request) -> Response:
        return _ok({
            "models": [{"key": e.key, "kind": e.kind, "card": e.card,
                        "loaded": pool.is_loaded(e.key)} for e in pool.entries.values()],
            "decodings": list(adapter.DECODINGS),
            "baselines": [{"key": k, "label": v} for k, v in baselines.items()],
            "samples": [f"/api/samples/{i}.png" for i in range(len(settings.samples))],
            "limits": {"max_upload_bytes": settings.max_upload_bytes,
                       "max_jobs": workers.max_jobs, "max_temperature": MAX_TEMPERATURE},
        })

    def describe(key: str, served: adapter.ServedModel) -> dict[str, Any]:
        return {"key": key, "height": served.height, "width": served.width,
                "channels": served.channels, "parameters": served.parameters,
                "architecture": served.architecture, "default_decoding":
                served.default_decoding, "watch_sampler": served.watch_sampler}

    async def model(request: Request) -> Response:
        key = request.query_params.get("key", "")
        pool.entry(key)  # unknown names fail here, before any work is queued
        served = await work(lambda: pool.get(key))
        return _ok(describe(key, served))

    async def sample(request: Request) -> Response:
        i = request.path_params["index"]
        if not 0 <= i < len(settings.samples):
            return _error(f"no sample face {i}", 404)
        return Response(settings.samples[i], media_type="image/png",
                        headers={**SECURITY_HEADERS, "Cache-Control": "max-age=3600"})

    async def image(request: Request) -> Response:
        key = request.query_params.get("model", "")
        pool.entry(key)
        which = request.query_params.get("sample")
        if which is not None:
            if not which.isdigit() or int(which) >= len(settings.samples):
                raise UploadError(f"no sample face {which!r}", 404)
            data = settings.samples[int(which)]
        else:
            data = await _body(request, settings.max_upload_bytes)

        def prepare() -> dict[str, Any]:
            if which is None:  # decoding takes a while for a big file: not on the event loop
                check_image_bytes(data, "image")
            served = pool.get(key)
            grid, source, notes = adapter.prepare_image(served, data, settings.scratch)
            return {"image": image_url(grid), "width": served.width, "height": served.height,
                    "source": list(source), "notes": notes}

        return _ok(await work(prepare))

    async def mask(request: Request) -> Response:
        key = request.query_params.get("model", "")
        pool.entry(key)
        data = await _body(request, settings.max_upload_bytes)
        try:
            h = int(request.query_params.get("source_h", "0"))
            w = int(request.query_params.get("source_w", "0"))
        except ValueError:
            raise UploadError("source_h and source_w must be whole numbers") from None
        source = (h, w) if h > 0 and w > 0 else None

        def prepare() -> dict[str, Any]:
            check_image_bytes(data, "mask")
            served = pool.get(key)
            holes, notes = adapter.prepare_mask(served, data, source)
            return {"mask": encode_holes(holes), "holes": int(holes.sum()), "notes": notes}

        return _ok(await work(prepare))

    async def job_body(request: Request) -> dict[str, Any]:
        raw = await _body(request, settings.max_upload_bytes)
        try:
            body = json.loads(raw)
        except ValueError:
            raise UploadError("the request body must be JSON") from None
        if not isinstance(body, dict):
            raise UploadError("the request body must be a JSON object")
        pool.entry(body.get("model", ""))
        return body

    def settings_of(body: dict[str, Any]) -> tuple[float, int]:
        try:
            t = float(body.get("temperature", 1.0))
            seed = int(body.get("seed", 0))
        except (TypeError, ValueError):
            raise UploadError("temperature must be a number and seed a whole number") from None
        if not 0 < t <= MAX_TEMPERATURE:
            raise UploadError(f"temperature must be above 0 and at most {MAX_TEMPERATURE:g}")
        if not 0 <= seed < 2**63:
            raise UploadError("seed must be between 0 and 2**63 - 1")
        return t, seed

    def inputs(body: dict[str, Any], served: adapter.ServedModel
               ) -> tuple[np.ndarray, np.ndarray]:
        img = decode_grid_image(body.get("image"), served.channels, served.height, served.width)
        holes = decode_holes(body.get("mask"), served.height, served.width)
        return img, holes

    async def fill(request: Request) -> Response:
        body = await job_body(request)
        key = body["model"]
        decoding = body.get("decoding", "mean")
        if decoding not in adapter.DECODINGS:
            raise UploadError(f"unknown decoding {decoding!r}; choose "
                              f"{', '.join(adapter.DECODINGS)}")
        temperature, seed = settings_of(body)
        original = bool(body.get("original", True))
        want_baselines = bool(body.get("baselines", True))

        def run() -> dict[str, Any]:
            from pixelzoo.baselines import inpaint

            served = pool.get(key)
            img, holes = inputs(body, served)
            start = time.perf_counter()
            out = adapter.fill(served, img, holes, decoding, temperature, seed)
            seconds = time.perf_counter() - start
            label = f"model ({decoding})" if decoding != "sample" else \
                f"model (T={temperature:g}, seed {seed})"
            results = [("model", label, out)]
            if want_baselines:
                masks = np.repeat(holes[None], served.channels, axis=0)[None]
                for name, text in baselines.items():
                    results.append((name, text, inpaint(img[None], masks, name)[0]))
            rows, panels = [], []
            for name, text, arr in results:
                psnr = hole_psnr(img, arr, holes) if original else None
                rows.append({"key": name, "label": text, "image": image_url(arr),
                             "psnr": psnr})
                panels.append((f"{text} {psnr:.1f} dB" if psnr is not None else text, arr))
            sheet = side_by_side(img, holes, panels,
                                 first="original" if original else "input")
            return {"results": rows, "side_by_side": data_url(sheet),
                    "holes": int(holes.sum()), "seconds": round(seconds, 3),
                    "decoding": decoding}

        return _ok(await work(run))

    def purge_watch_jobs() -> None:
        now = time.monotonic()
        with jobs_lock:
            for jid in [j for j, job in watch_jobs.items() if now - job.created > WATCH_TTL_S]:
                del watch_jobs[jid]

    async def watch_start(request: Request) -> Response:
        body = await job_body(request)
        key = body["model"]
        temperature, seed = settings_of(body)

        def check() -> dict[str, Any]:
            served = pool.get(key)
            img, holes = inputs(body, served)
            return {"image": img, "holes": holes, "sampler": served.watch_sampler}

        checked = await work(check)
        purge_watch_jobs()
        jid = secrets.token_urlsafe(16)
        with jobs_lock:
            if len(watch_jobs) >= MAX_WATCH_JOBS:
                raise Busy(f"{MAX_WATCH_JOBS} watch streams are waiting to be opened; try again "
                           "in a moment")
            watch_jobs[jid] = WatchJob(key, checked["image"], checked["holes"], temperature,
                                       seed, bool(body.get("original", True)))
        return _ok({"id": jid, "pixels": int(checked["holes"].sum()),
                    "sampler": checked["sampler"], "order": "raster scan, top-left first"})

    async def watch_stream(request: Request) -> Response:
        with jobs_lock:
            job = watch_jobs.pop(request.path_params["id"], None)
        if job is None:
            return _error("no such watch job (it runs once, and expires after "
                          f"{WATCH_TTL_S:.0f} s)", 404)
        return StreamingResponse(_watch_events(job), media_type="text/event-stream",
                                 headers={**SECURITY_HEADERS, "Cache-Control": "no-store",
                                          "X-Accel-Buffering": "no"})

    async def _watch_events(job: WatchJob) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        cancel = threading.Event()

        def put(kind: str, payload: dict[str, Any]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
                loop.call_soon_threadsafe(queue.put_nowait, (kind, payload))

        def run() -> None:
            try:
                served = pool.get(job.key)
                start = time.perf_counter()
                out = job.image.copy()
                put("start", {"pixels": int(job.holes.sum()), "sampler": served.watch_sampler})
                n = 0
                for r, w, values in adapter.stream(served, job.image, job.holes,
                                                   job.temperature, job.seed):
                    if cancel.is_set() or workers.stopping.is_set():
                        return
                    out[:, r, w] = values
                    n += 1
                    put("pixel", {"i": n, "r": r, "w": w, "v": values.tolist()})
                psnr = hole_psnr(job.image, out, job.holes) if job.original else None
                put("done", {"image": image_url(out), "psnr": psnr, "pixels": n,
                             "seconds": round(time.perf_counter() - start, 3)})
            except PixelzooError as exc:
                put("failed", {"error": str(exc)})
            except Exception:
                log.exception("internal error in a watch stream")
                put("failed", {"error": "internal error (see the server's console)"})

        try:
            workers.submit(run)
        except Busy as exc:
            yield _sse("failed", {"error": str(exc)})
            return
        try:
            while True:
                kind, payload = await queue.get()
                yield _sse(kind, payload)
                if kind in ("done", "failed"):
                    return
        finally:  # the page closed the stream, or the server stops: the worker stops too
            cancel.set()

    async def status(request: Request) -> Response:
        return _ok({"active": workers.active, "max_jobs": workers.max_jobs,
                    "threads": workers.threads, "models_loaded":
                    [k for k in pool.keys() if pool.is_loaded(k)]})

    routes = [
        Route("/", index),
        Route("/static/{name}", static),
        Route("/api/models", handled(models)),
        Route("/api/model", handled(model)),
        Route("/api/samples/{index:int}.png", sample),
        Route("/api/image", handled(image), methods=["POST"]),
        Route("/api/mask", handled(mask), methods=["POST"]),
        Route("/api/fill", handled(fill), methods=["POST"]),
        Route("/api/watch", handled(watch_start), methods=["POST"]),
        Route("/api/watch/{id}", handled(watch_stream)),
        Route("/api/status", status),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        workers.stopping.set()  # long watch streams end at their next pixel

    return Starlette(routes=routes, lifespan=lifespan, middleware=[
        # a page on another site cannot reach this server through a name that resolves to
        # 127.0.0.1 (DNS rebinding): requests must name the host the server was started on
        Middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)])


def _sse(kind: str, payload: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode()


def _baseline_names() -> dict[str, str]:
    from pixelzoo.baselines import METHODS

    return dict(METHODS)
