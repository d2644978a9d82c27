"""`pixelzoo serve`'s API in-process: every endpoint, the upload limits, non-image uploads,
models the server was not started with, streamed watch mode, and concurrent fills."""

from __future__ import annotations

import json
import struct
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from serve_helpers import box, from_url, holes_string, png, to_url

# ------------------------------------------------------------------------------ page and listing


def test_page_and_its_static_files_come_from_the_package(make_client) -> None:
    client, _ = make_client(["toon_infill"])
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert '<script src="/static/app.js">' in page.text and "http" not in page.text.replace(
        'href="/static', "")  # no script, style or font from anywhere else
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    for name, kind in (("app.js", "javascript"), ("style.css", "text/css"),
                       ("icon.svg", "image/svg+xml")):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"] and r.content
    # only those names: nothing else under the package, nothing outside it
    for path in ("/static/index.html.bak", "/static/..%2F__init__.py", "/static/%2e%2e/app.py",
                 "/static/../../pyproject.toml"):
        assert client.get(path).status_code == 404, path


def test_requests_must_name_this_servers_host(make_client) -> None:
    client, _ = make_client(["toon_infill"])
    assert client.get("/api/models").status_code == 200
    # a page elsewhere reaching 127.0.0.1 through its own name (DNS rebinding) is refused
    assert client.get("/api/models", headers={"host": "evil.example"}).status_code == 400


def test_models_lists_the_started_sources_with_their_cards(make_client, run_dir: Path) -> None:
    client, _ = make_client()
    body = client.get("/api/models").json()
    keys = [m["key"] for m in body["models"]]
    assert keys == ["toon_infill", run_dir.as_posix()]
    shipped, run = body["models"]
    assert shipped["kind"] == "shipped weights" and run["kind"] == "run folder"
    card = shipped["card"]
    assert card["architecture"]["directions"] == 4 and card["architecture"]["combiner"] == \
        "linear_add"
    assert card["training"]["dataset"] == "mixture of toon, toon (varied)"
    assert card["metrics"]["demo_hole/fused/psnr"] == pytest.approx(17.85)
    assert "# toon_infill" in card["text"]
    # a run's card: its summary's final metrics, `<set>/<metric>` named by its first decoding
    assert run["card"]["architecture"]["directions"] == 1
    assert run["card"]["metrics"] == {"demo_hole/greedy/psnr": 8.04, "demo_hole/mean/psnr": 12.99}
    assert body["decodings"] == ["fused", "mean", "greedy", "sample"]
    assert {b["key"] for b in body["baselines"]} >= {"telea", "ns"}
    assert len(body["samples"]) == 3
    assert body["limits"]["max_upload_bytes"] == 2_000_000


def test_model_loads_once_and_describes_itself(make_client, run_dir: Path) -> None:
    client, parts = make_client()
    calls: list[str] = []
    pool = parts["pool"]
    real = pool._loader
    pool._loader = lambda source, device: calls.append(source) or real(source, device)
    for _ in range(2):
        r = client.get("/api/model", params={"key": run_dir.as_posix()})
        assert r.status_code == 200
    d = r.json()
    assert (d["height"], d["width"], d["channels"]) == (36, 36, 3)
    assert d["parameters"] > 0 and d["architecture"]["directions"] == 1
    assert d["watch_sampler"].startswith("incremental")
    assert calls == [str(run_dir)]
    shipped = client.get("/api/model", params={"key": "toon_infill"}).json()
    assert shipped["default_decoding"] == "fused" and "forward per hole pixel" in \
        shipped["watch_sampler"]
    assert client.get("/api/status").json()["models_loaded"] == ["toon_infill",
                                                                 run_dir.as_posix()]


def test_a_source_the_server_was_not_started_with_is_never_loaded(make_client, run_dir: Path,
                                                                  tmp_path: Path) -> None:
    loaded: list[str] = []
    from pixelzoo.serve import adapter

    client, parts = make_client(["toon_infill"],
                                loader=lambda s, d: loaded.append(s) or adapter.load(s, d))
    other = [str(run_dir), run_dir.as_posix(), "../" + run_dir.name, "/etc/passwd",
             "rowrnn.toon_infill", "toon_infill/../toon_infill", "", "TOON_INFILL"]
    for key in other:
        r = client.get("/api/model", params={"key": key})
        assert r.status_code == 404, key
        assert "does not serve a model named" in r.json()["error"] and "toon_infill" in \
            r.json()["error"]
        assert client.post("/api/image", params={"model": key, "sample": 0}).status_code == 404
        assert client.post("/api/mask", params={"model": key},
                           content=png(np.full((36, 36), 255, np.uint8))).status_code == 404
        body = {"model": key, "image": "x", "mask": "1"}
        assert client.post("/api/fill", json=body).status_code == 404
        assert client.post("/api/watch", json=body).status_code == 404
    assert client.post("/api/fill", json={"model": ["toon_infill"]}).status_code == 404
    assert loaded == [] and parts["pool"].keys() == ["toon_infill"]


# ------------------------------------------------------------------------------ images and masks


def test_samples_are_png_faces(make_client) -> None:
    client, _ = make_client(["toon_infill"])
    r = client.get("/api/samples/2.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG")
    assert client.get("/api/samples/3.png").status_code == 404
    assert client.get("/api/samples/x.png").status_code == 404


def test_an_uploaded_image_is_prepared_like_the_training_data(make_client, face) -> None:
    data, pre = face
    client, parts = make_client(["toon_infill"])
    r = client.post("/api/image", params={"model": "toon_infill"}, content=data)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["width"], body["height"], body["source"]) == (36, 36, [500, 500])
    assert np.array_equal(from_url(body["image"]), pre)
    assert any("preprocessed like the run's dataset" in n for n in body["notes"])
    # a sample face goes the same way
    s = client.post("/api/image", params={"model": "toon_infill", "sample": 1}).json()
    assert from_url(s["image"]).shape == (3, 36, 36) and s["source"] == [500, 500]
    assert client.post("/api/image", params={"model": "toon_infill", "sample": 9}
                       ).status_code == 404
    assert list(parts["scratch"].iterdir()) == []  # scratch files are removed at once


def test_a_mask_upload_lands_on_the_models_grid(make_client, face) -> None:
    client, _ = make_client(["toon_infill"])
    # drawn on the 500x500 image: it takes the image's crop (100 px off each side) and resize
    big = np.zeros((500, 500), np.uint8)
    big[225:275, 225:300] = 255
    r = client.post("/api/mask", params={"model": "toon_infill", "source_h": 500,
                                         "source_w": 500}, content=png(big))
    assert r.status_code == 200, r.text
    body = r.json()
    holes = np.array([c == "1" for c in body["mask"]]).reshape(36, 36)
    assert np.array_equal(holes, box(15, 15, 6, 9)) and body["holes"] == 54
    assert any("cropped and resized" in n for n in body["notes"])
    # at the grid's size it is taken as it is
    grid = box(3, 4, 2, 5).astype(np.uint8) * 255
    r = client.post("/api/mask", params={"model": "toon_infill"}, content=png(grid)).json()
    assert r["mask"] == holes_string(box(3, 4, 2, 5)) and r["notes"] == []
    black = client.post("/api/mask", params={"model": "toon_infill"},
                        content=png(np.zeros((36, 36), np.uint8)))
    assert black.status_code == 400 and "no holes" in black.json()["error"]
    bad = client.post("/api/mask", params={"model": "toon_infill", "source_h": "x"},
                      content=png(grid))
    assert bad.status_code == 400 and "whole numbers" in bad.json()["error"]


# ------------------------------------------------------------------------------ upload limits


def _huge_png_header(width: int, height: int) -> bytes:
    """A PNG that claims a huge size in a few bytes (a decompression bomb's first step)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("endpoint", ["/api/image", "/api/mask"])
def test_uploads_past_the_limit_are_refused_with_413(make_client, face, endpoint: str) -> None:
    data, _ = face
    client, parts = make_client(["toon_infill"], max_upload_bytes=len(data) - 1)
    r = client.post(endpoint, params={"model": "toon_infill"}, content=data)
    assert r.status_code == 413 and "limit" in r.json()["error"]
    # no Content-Length (a chunked upload): counted as it arrives
    r = client.post(endpoint, params={"model": "toon_infill"},
                    content=iter([data[:1000], data[1000:]]))
    assert r.status_code == 413 and "limit" in r.json()["error"]
    # a small file that claims 20000x20000 pixels is refused before it is decoded
    r = client.post(endpoint, params={"model": "toon_infill"},
                    content=_huge_png_header(8000, 8000))
    assert r.status_code == 413 and "8000x8000" in r.json()["error"]
    r = client.post(endpoint, params={"model": "toon_infill"},
                    content=_huge_png_header(60000, 60000))
    assert r.status_code == 413 and "limit" in r.json()["error"]
    assert list(parts["scratch"].iterdir()) == []


@pytest.mark.parametrize("payload", [b"GIF? no: plain text, not an image\n", b"%PDF-1.4\n%\xe2",
                                     b"\x89PNG\r\n\x1a\ntruncated"])
def test_a_file_that_is_not_an_image_gets_a_clear_415(make_client, payload: bytes) -> None:
    client, _ = make_client(["toon_infill"])
    for endpoint in ("/api/image", "/api/mask"):
        r = client.post(endpoint, params={"model": "toon_infill"}, content=payload)
        assert r.status_code == 415, (endpoint, r.text)
        assert "not" in r.json()["error"] and "image" in r.json()["error"]
    empty = client.post("/api/image", params={"model": "toon_infill"}, content=b"")
    assert empty.status_code == 400 and "empty" in empty.json()["error"]


# ------------------------------------------------------------------------------ fill


def _grid_face(client, key: str) -> np.ndarray:
    body = client.post("/api/image", params={"model": key, "sample": 0}).json()
    return from_url(body["image"])


def _assert_only_holes_changed(before: np.ndarray, after: np.ndarray, holes: np.ndarray) -> None:
    assert after.shape == before.shape
    assert np.array_equal(after[:, ~holes], before[:, ~holes])


@pytest.mark.parametrize("decoding", ["fused", "mean", "greedy", "sample"])
def test_fill_beside_the_baselines_with_hole_psnr(make_client, decoding: str) -> None:
    client, _ = make_client(["toon_infill"])
    img = _grid_face(client, "toon_infill")
    holes = box(14, 12, 6, 12)
    body = {"model": "toon_infill", "image": to_url(img), "mask": holes_string(holes),
            "decoding": decoding, "temperature": 0.8, "seed": 3}
    r = client.post("/api/fill", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    keys = [row["key"] for row in out["results"]]
    assert keys[0] == "model" and {"telea", "ns"} <= set(keys[1:])
    for row in out["results"]:
        filled = from_url(row["image"])
        _assert_only_holes_changed(img, filled, holes)
        expect = 10 * np.log10(255**2 / max(1e-10, np.mean(
            (filled[:, holes].astype(float) - img[:, holes].astype(float)) ** 2)))
        assert row["psnr"] == pytest.approx(expect, abs=0.01)
    assert out["holes"] == int(holes.sum()) and out["decoding"] == decoding
    sheet = from_url(out["side_by_side"])
    assert sheet.shape[2] > (2 + len(keys)) * 36 * 8  # original | holes | every method
    if decoding == "sample":  # the seed makes a sample repeatable, and another seed differs
        again = client.post("/api/fill", json=body).json()["results"][0]["image"]
        other = client.post("/api/fill", json={**body, "seed": 4}).json()["results"][0]["image"]
        assert again == out["results"][0]["image"] and other != again


def test_fill_without_a_known_original_is_not_scored(make_client) -> None:
    client, _ = make_client(["toon_infill"])
    img = _grid_face(client, "toon_infill")
    r = client.post("/api/fill", json={"model": "toon_infill", "image": to_url(img),
                                       "mask": holes_string(box(5, 5, 3, 3)), "original": False,
                                       "baselines": False}).json()
    assert [row["key"] for row in r["results"]] == ["model"]
    assert r["results"][0]["psnr"] is None


@pytest.mark.parametrize(("change", "message"), [
    ({"mask": "01"}, "'mask' must be a string of 1296"),
    ({"mask": "0" * 1296}, "no holes"),
    ({"mask": "2" * 1296}, "'0'/'1'"),
    ({"image": "http://example.com/face.png"}, "PNG data URL"),
    ({"image": "data:image/png;base64,!!!!"}, "not a readable PNG"),
    ({"decoding": "schedule"}, "unknown decoding"),
    ({"temperature": 0}, "temperature must be above 0"),
    ({"temperature": "hot"}, "temperature must be a number"),
    ({"seed": -1}, "seed must be"),
])
def test_fill_rejects_bad_requests_with_400(make_client, change: dict, message: str) -> None:
    client, _ = make_client(["toon_infill"])
    img = _grid_face(client, "toon_infill")
    body = {"model": "toon_infill", "image": to_url(img), "mask": holes_string(box(5, 5, 3, 3)),
            "decoding": "mean", **change}
    r = client.post("/api/fill", json=body)
    assert r.status_code in (400, 415) and message in r.json()["error"], r.text


def test_fill_rejects_an_image_of_another_size_and_a_body_that_is_not_json(make_client) -> None:
    client, _ = make_client(["toon_infill"])
    small = np.zeros((3, 20, 20), np.uint8)
    r = client.post("/api/fill", json={"model": "toon_infill", "image": to_url(small),
                                       "mask": "1" * 1296})
    assert r.status_code == 400 and "this model fills 36x36" in r.json()["error"]
    r = client.post("/api/fill", content=b"{not json", headers={"content-type":
                                                                   "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    assert client.post("/api/fill", json=[1, 2]).status_code == 400


# ------------------------------------------------------------------------------ watch


def _events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_watch_streams_each_pixel_in_scan_order_and_ends_at_the_sample(make_client,
                                                                       run_dir: Path) -> None:
    client, _ = make_client([str(run_dir)])
    key = run_dir.as_posix()
    img = _grid_face(client, key)
    holes = box(10, 8, 3, 5) | box(20, 25, 2, 2)
    body = {"model": key, "image": to_url(img), "mask": holes_string(holes),
            "temperature": 1.0, "seed": 11}
    job = client.post("/api/watch", json=body)
    assert job.status_code == 200, job.text
    job = job.json()
    assert job["pixels"] == int(holes.sum()) and job["sampler"].startswith("incremental")
    stream = client.get(f"/api/watch/{job['id']}")
    assert stream.status_code == 200 and stream.headers["content-type"].startswith(
        "text/event-stream")
    events = _events(stream.text)
    assert events[0][0] == "start" and events[-1][0] == "done"
    pixels = [e for kind, e in events if kind == "pixel"]
    positions = [(p["r"], p["w"]) for p in pixels]
    assert positions == sorted(positions)  # raster scan order, the model's
    assert sorted(positions) == sorted(zip(*np.nonzero(holes)))
    rebuilt = img.copy()
    for p in pixels:
        rebuilt[:, p["r"], p["w"]] = p["v"]
    done = events[-1][1]
    assert np.array_equal(from_url(done["image"]), rebuilt) and done["pixels"] == len(pixels)
    assert done["psnr"] is not None
    # one direction: the stream is exactly the `sample` decoding for the same seed
    sample = client.post("/api/fill", json={**body, "decoding": "sample"}).json()
    assert np.array_equal(from_url(sample["results"][0]["image"]), rebuilt)
    # a job runs once
    assert client.get(f"/api/watch/{job['id']}").status_code == 404
    assert client.get("/api/watch/not-a-job").status_code == 404


def test_watch_of_a_four_direction_model_samples_every_hole(make_client) -> None:
    client, _ = make_client(["toon_infill"])
    img = _grid_face(client, "toon_infill")
    holes = box(16, 16, 2, 3)
    job = client.post("/api/watch", json={"model": "toon_infill", "image": to_url(img),
                                          "mask": holes_string(holes), "seed": 1}).json()
    events = _events(client.get(f"/api/watch/{job['id']}").text)
    assert [k for k, _ in events] == ["start"] + ["pixel"] * 6 + ["done"]
    _assert_only_holes_changed(img, from_url(events[-1][1]["image"]), holes)


# ------------------------------------------------------------------------------ concurrency


def test_concurrent_fills_all_answer_and_match_one_at_a_time(make_client) -> None:
    client, parts = make_client(["toon_infill"], threads=2, max_jobs=4)
    img = _grid_face(client, "toon_infill")
    bodies = [{"model": "toon_infill", "image": to_url(img), "decoding": d, "seed": 2,
               "mask": holes_string(box(4 + 6 * i, 6, 4, 8))}
              for i, d in enumerate(["mean", "greedy", "sample", "mean"])]
    expected = [client.post("/api/fill", json=b).json()["results"][0]["image"] for b in bodies]
    results: list = [None] * len(bodies)

    def go(i: int) -> None:
        results[i] = client.post("/api/fill", json=bodies[i])

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r.status_code for r in results] == [200] * 4
    assert [r.json()["results"][0]["image"] for r in results] == expected
    assert parts["workers"].active == 0


def test_work_beyond_the_cap_is_told_busy_and_the_page_stays_answered(make_client,
                                                                      monkeypatch) -> None:
    from pixelzoo.serve import adapter

    client, parts = make_client(["toon_infill"], threads=1, max_jobs=1)
    img = _grid_face(client, "toon_infill")
    release, started = threading.Event(), threading.Event()
    real_fill = adapter.fill

    def slow_fill(*args, **kwargs):  # noqa: ANN002, ANN003
        started.set()
        assert release.wait(30)
        return real_fill(*args, **kwargs)

    monkeypatch.setattr(adapter, "fill", slow_fill)
    body = {"model": "toon_infill", "image": to_url(img), "mask": holes_string(box(5, 5, 3, 3))}
    first: list = []
    t = threading.Thread(target=lambda: first.append(client.post("/api/fill", json=body)))
    t.start()
    try:
        assert started.wait(30)
        assert parts["workers"].active == 1
        t0 = time.monotonic()
        assert client.get("/api/models").status_code == 200  # not blocked by the fill
        assert client.get("/api/status").json()["active"] == 1
        assert time.monotonic() - t0 < 5
        busy = client.post("/api/fill", json=body)
        assert busy.status_code == 503 and "busy" in busy.json()["error"]
        stream_busy = client.post("/api/watch", json=body)
        assert stream_busy.status_code == 503
    finally:
        release.set()
        t.join(60)
    assert first[0].status_code == 200
    assert client.post("/api/fill", json=body).status_code == 200  # the slot came back
