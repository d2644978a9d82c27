"""Shared setup for the `pixelzoo serve` tests: models, faces and an in-process client.

Two models: the shipped `toon_infill` weights (four directions, the one users meet first) and a
tiny untrained one-direction run folder laid out as `pixelzoo run` leaves it (config.yaml,
checkpoints/best.safetensors, summary.json), whose streamed samples must equal its `sample`
fills. The app runs in-process under Starlette's test client; the web framework is the `serve`
extra, so these tests skip, saying so, where it is not installed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

pytest.importorskip("starlette", reason='the serve extra is not installed: pip install -e ".[serve]"')
pytest.importorskip("httpx", reason="starlette's test client needs httpx (the test extra)")

from starlette.testclient import TestClient  # noqa: E402

from pixelzoo.data.preprocess import preprocess_rgb  # noqa: E402
from pixelzoo.data.toon import render_faces  # noqa: E402
from run_folders import untrained_run  # noqa: E402

BASE = "http://127.0.0.1"


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny one-direction infill run folder with untrained weights and a summary."""
    # sharper distributions than the init: samples depend on the seed
    folder = untrained_run(tmp_path_factory.mktemp("runs"), "toon_infill.yaml", sharpen=3.0)
    (folder / "summary.json").write_text(json.dumps({
        "final_split": "test", "steps": 2,
        "final_metrics": {"demo_hole/psnr": 8.04, "demo_hole/mean/psnr": 12.99,
                          "demo_hole/l1": 89.3}}))
    return folder


@pytest.fixture(scope="session")
def face() -> tuple[bytes, np.ndarray]:
    """A 500x500 cartoon face as PNG bytes, and its (3, 36, 36) preprocessed version."""
    rgb = render_faces(1, seed=7, split="test")[0]
    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    assert ok
    return data.tobytes(), preprocess_rgb(rgb, crop=300, size=36)


@pytest.fixture()
def make_client(run_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """`make_client(sources=None, threads=2, max_jobs=4, max_upload_bytes=..., loader=None)`
    -> (client, app parts) for an app serving `sources` (default: toon_infill and run_dir)."""
    from pixelzoo.serve import adapter
    from pixelzoo.serve.app import Settings, create_app
    from pixelzoo.serve.pool import ModelPool, Workers, resolve_sources
    from pixelzoo.serve.samples import sample_faces

    stack: list[Any] = []

    def make(sources: list[str] | None = None, *, threads: int = 2, max_jobs: int = 4,
             max_upload_bytes: int = 2_000_000, loader: Callable[..., Any] | None = None
             ) -> tuple[TestClient, dict[str, Any]]:
        entries = resolve_sources(sources if sources is not None
                                  else ["toon_infill", str(run_dir)])
        scratch = tmp_path / f"scratch{len(stack)}"
        scratch.mkdir()
        pool = ModelPool(entries, "cpu", loader=loader or adapter.load)
        workers = Workers(threads, max_jobs)
        settings = Settings(scratch=scratch, max_upload_bytes=max_upload_bytes,
                            samples=sample_faces(3))
        client = TestClient(create_app(pool, workers, settings), base_url=BASE)
        client.__enter__()
        stack.append((client, workers, scratch))
        return client, {"pool": pool, "workers": workers, "settings": settings,
                        "scratch": scratch}

    yield make
    for client, workers, scratch in stack:
        client.__exit__(None, None, None)
        workers.shutdown()
        shutil.rmtree(scratch, ignore_errors=True)
