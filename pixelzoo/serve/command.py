"""`pixelzoo serve`: start the local web app that paints holes and fills them.

    pixelzoo serve                          # the shipped weights and the runs under runs/
    pixelzoo serve toon_infill runs/cartoon_infill/20250101-000000 --port 8000 --open

This module only parses the command line, checks the SOURCEs, and runs uvicorn on a socket it
binds itself (so `--port 0`, the default, picks a free port whose URL it can print). The web
framework is the optional `serve` extra: this module imports it only when the server starts, so
`pixelzoo --help` works without it and a missing extra is one clear message. The server writes
only inside a temporary folder of its own, removed when it stops (Ctrl-C stops it cleanly). Not
for routes (`pixelzoo.serve.app`) or model calls (`pixelzoo.serve.adapter`).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

from pixelzoo.errors import PixelzooError

EXTRA_HINT = 'pip install -e ".[serve]"'
NEEDS = ("starlette", "uvicorn", "PIL")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _check_extra() -> None:
    # Third-party packages only: our own modules are imported plainly, and fail loudly if broken.
    missing = [name for name in NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        raise PixelzooError(f"pixelzoo serve needs the web server extra, which is not installed "
                            f"(missing: {', '.join(missing)}); install it with: {EXTRA_HINT}")


def _sources(args: argparse.Namespace) -> tuple[list[Any], list[str]]:
    from pixelzoo import weights
    from pixelzoo.serve.pool import discover_runs, resolve_sources

    notes: list[str] = []
    sources = list(args.sources)
    if not sources:
        runs, notes = discover_runs(Path(args.runs))
        sources = weights.names() + [str(p) for p in runs]
    entries = resolve_sources(sources)
    if not entries:
        raise PixelzooError("nothing to serve: no shipped infill weights and no infill runs "
                            f"under {args.runs}/; name a run folder or weights")
    return entries, notes


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PixelzooError(f"--host {host} --port {port}: cannot listen there "
                            f"({exc.strerror or exc})") from None
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def cmd_serve(args: argparse.Namespace) -> int:
    _check_extra()
    if args.max_upload_mb <= 0 or args.workers < 1 or args.max_jobs < 1:
        raise PixelzooError("--max-upload-mb, --workers and --max-jobs must be positive")
    import torch
    import uvicorn

    from pixelzoo.serve.app import Settings, create_app
    from pixelzoo.serve.pool import ModelPool, Workers
    from pixelzoo.serve.samples import sample_faces

    entries, notes = _sources(args)
    from pixelzoo.engine.device import pick_device

    device = str(pick_device(args.device, key="--device"))  # the one "auto" rule
    if device == "cpu":
        # each worker thread runs its own fill on one core; intra-op threads would only make
        # the workers fight over the same cores
        torch.set_num_threads(1)
    scratch = Path(tempfile.mkdtemp(prefix="pixelzoo-serve-"))
    workers = Workers(args.workers, args.max_jobs)
    try:
        sock = _bind(args.host, args.port)
        port = sock.getsockname()[1]
        # the Host header must name this machine (DNS rebinding); an IPv6 address cannot be
        # matched by Starlette's check, and a public --host is meant to be reached by any name
        hosts = [args.host, "127.0.0.1", "localhost"] if args.host in ("127.0.0.1", "localhost") \
            else ["*"]
        settings = Settings(scratch=scratch, max_upload_bytes=int(args.max_upload_mb * 2**20),
                            allowed_hosts=hosts, samples=sample_faces())
        pool = ModelPool(entries, device)
        app = create_app(pool, workers, settings)
        url = _url(args.host, port)
        for note in notes:
            print(f"note: {note}")
        for e in entries:
            print(f"serving {e.key} ({e.kind})")
        if args.host not in LOOPBACK:
            print(f"warning: --host {args.host} lets other machines reach this server")
        print(f"pixelzoo serve: {url}  (Ctrl-C to stop)", flush=True)
        # the first model loads while the page is opened
        workers.submit(lambda: pool.get(entries[0].key))
        if args.open:
            import webbrowser

            webbrowser.open(url)
        config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=3,
                                access_log=False, lifespan="on")
        try:
            uvicorn.Server(config).run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once it has shut down gracefully
            pass
        sock.close()
    finally:
        workers.shutdown()
        shutil.rmtree(scratch, ignore_errors=True)
    print("pixelzoo serve: stopped")
    return 0


def add_parser(subparsers: Any) -> None:
    """Register `pixelzoo serve` on the main parser's sub-commands."""
    p = subparsers.add_parser(
        "serve", help="a local web page to paint holes on a face and watch a model fill them",
        description="Start a local web app: choose a model, upload an image or pick a sample "
                    "face, paint holes, fill them beside the classic baselines, and watch the "
                    f"model sample them pixel by pixel. Needs the extra: {EXTRA_HINT}")
    p.add_argument("sources", nargs="*", metavar="SOURCE",
                   help="shipped weights names or run folders the page may use (default: every "
                        "shipped weights and the infill runs under --runs); no other model can "
                        "be loaded through the page")
    p.add_argument("--runs", default="runs", help="where to look for runs when no SOURCE is "
                                                   "given (default: runs)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--open", action="store_true", help="open the page in a browser")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--workers", type=int, default=2,
                   help="fills that run at the same time (default: 2)")
    p.add_argument("--max-jobs", type=int, default=4,
                   help="fills running or waiting; beyond this a request is told the server is "
                        "busy (default: 4)")
    p.add_argument("--max-upload-mb", type=float, default=8.0,
                   help="largest image or mask upload, in MB (default: 8)")
    p.set_defaults(func=cmd_serve)
