"""`pixelzoo infill` with hostile arguments: nothing the user owns is overwritten, contradictory
or out-of-range numbers are refused, devices and image headers are checked before any work."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from bad_input_helpers import assert_clean
from run_folders import untrained_run



@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()  # the command sets one thread for itself
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder with an untrained tiny model's weights."""
    return untrained_run(tmp_path_factory.mktemp("runs"))


@pytest.fixture
def image(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), rng.integers(0, 256, (36, 36, 3), dtype=np.uint8))
    return path


def infill(cli, run_dir, image, out, *extra):
    return cli("infill", run_dir, "--image", image, "--mask", "box:10,10,4,4", "-o", out,
               *extra)


# ------------------------------------------------------------------ nothing overwritten
def test_output_naming_the_input_is_refused(cli, run_dir, image):
    before = image.read_bytes()
    code, _, err = infill(cli, run_dir, image, image)
    assert_clean(code, err, "-o", "--image", "--overwrite")
    assert image.read_bytes() == before


def test_output_naming_the_input_through_another_spelling_is_refused(cli, run_dir, image):
    before = image.read_bytes()
    other = image.parent / "." / ".." / image.parent.name / image.name
    code, _, err = infill(cli, run_dir, image, other)
    assert_clean(code, err, "--overwrite")
    assert image.read_bytes() == before


def test_an_input_named_like_the_side_by_side_picture_is_kept(cli, run_dir, image):
    src = image.parent / "out_side_by_side.png"
    image.rename(src)
    before = src.read_bytes()
    code, _, err = infill(cli, run_dir, src, image.parent / "out.png")
    assert_clean(code, err, "side-by-side", "--overwrite")
    assert src.read_bytes() == before and not (image.parent / "out.png").exists()


def test_a_mask_file_is_not_overwritten(cli, run_dir, image):
    mask = image.parent / "mask.png"
    m = np.zeros((36, 36), np.uint8)
    m[5:9, 5:9] = 255
    cv2.imwrite(str(mask), m)
    before = mask.read_bytes()
    code, _, err = cli("infill", run_dir, "--image", image, "--mask", mask, "-o", mask)
    assert_clean(code, err, "--mask", "--overwrite")
    assert mask.read_bytes() == before


@pytest.mark.parametrize("which", ["output", "side"])
def test_existing_outputs_are_kept_without_overwrite(cli, run_dir, image, which):
    out = image.parent / "out.png"
    existing = out if which == "output" else image.parent / "out_side_by_side.png"
    existing.write_bytes(b"mine")
    code, _, err = infill(cli, run_dir, image, out)
    assert_clean(code, err, existing.name, "exists", "--overwrite")
    assert existing.read_bytes() == b"mine"


def test_overwrite_replaces_existing_outputs(cli, run_dir, image):
    out = image.parent / "out.png"
    out.write_bytes(b"mine")
    code, _, err = infill(cli, run_dir, image, out, "--overwrite")
    assert code == 0, err
    assert cv2.imread(str(out)).shape == (36, 36, 3)


def test_output_under_a_regular_file_is_a_message(cli, run_dir, image):
    blocker = image.parent / "afile"
    blocker.write_text("x")
    code, _, err = infill(cli, run_dir, image, blocker / "sub" / "out.png")
    assert_clean(code, err, "-o", "afile", "not a folder")


def test_output_that_is_a_folder_is_a_message(cli, run_dir, image):
    folder = image.parent / "out.png"
    folder.mkdir()
    code, _, err = infill(cli, run_dir, image, folder)
    assert_clean(code, err, "-o", "folder")


# ------------------------------------------------------------------ numbers and flags
@pytest.mark.parametrize("value", ["nan", "-1", "0", "inf", "-inf", "abc"])
def test_bad_temperatures_are_refused(cli, run_dir, image, value):
    code, _, err = infill(cli, run_dir, image, image.parent / "o.png", "--temperature", value)
    assert_clean(code, err, "--temperature")


@pytest.mark.parametrize("decoding", ["greedy", "mean", "schedule"])
def test_a_temperature_with_a_decoding_that_ignores_it_is_refused(cli, run_dir, image,
                                                                  decoding):
    code, _, err = infill(cli, run_dir, image, image.parent / "o.png", "--decoding", decoding,
                          "--temperature", "0.5")
    assert_clean(code, err, "--temperature", f"--decoding {decoding}")
    assert not (image.parent / "o.png").exists()


def test_a_temperature_with_sample_is_fine(cli, run_dir, image):
    code, _, err = infill(cli, run_dir, image, image.parent / "o.png", "--decoding", "sample",
                          "--temperature", "0.5")
    assert code == 0, err


@pytest.mark.parametrize("value", ["0", "-3", "100000", "99999999999999999999999"])
def test_bad_zooms_are_refused(cli, run_dir, image, value):
    code, _, err = infill(cli, run_dir, image, image.parent / "o.png", "--zoom", value)
    assert_clean(code, err, "--zoom")
    assert not (image.parent / "o.png").exists()


@pytest.mark.parametrize("value", ["-1", "18446744073709551616",
                                   "99999999999999999999999999999999"])
def test_bad_seeds_are_refused(cli, run_dir, image, value):
    code, _, err = infill(cli, run_dir, image, image.parent / "o.png", "--seed", value)
    assert_clean(code, err, "--seed")


@pytest.mark.parametrize("device", ["tpu", "meta", "cuda:99", "nonsense:0", ""])
def test_unknown_or_missing_devices_are_messages(cli, run_dir, image, device):
    code, _, err = infill(cli, run_dir, image, image.parent / "o.png", "--device", device)
    assert_clean(code, err, "--device")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_a_message(cli, run_dir, image):
    code, _, err = infill(cli, run_dir, image, image.parent / "o.png", "--device", "cuda")
    assert_clean(code, err, "--device", "no CUDA device")


# ------------------------------------------------------------------ image headers
def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("w, h", [(50_000, 50_000), (30_000, 30_000), (200_000, 1_000)])
def test_a_png_claiming_a_huge_size_is_refused_before_decoding(cli, run_dir, tmp_path, w, h):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png(w, h))
    code, _, err = infill(cli, run_dir, bomb, tmp_path / "o.png")
    assert_clean(code, err, "--image", f"{w}x{h}")


def test_a_huge_mask_image_is_refused_too(cli, run_dir, image, tmp_path):
    bomb = tmp_path / "mask.png"
    bomb.write_bytes(_png(50_000, 50_000))
    code, _, err = cli("infill", run_dir, "--image", image, "--mask", bomb, "-o",
                       tmp_path / "o.png")
    assert_clean(code, err, "--mask", "50000x50000")


@pytest.mark.parametrize("config", [
    "seed: 1\nname: caf\xe9\n".encode("latin-1"),
    b"a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\n" + b"".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n".encode()
        for p, c in zip("abcdefgh", "bcdefghi")),
])
def test_a_run_folder_with_a_hostile_config_is_refused(cli, run_dir, image, tmp_path, config):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "config.yaml").write_bytes(config)
    code, _, err = infill(cli, copy, image, tmp_path / "o.png")
    assert_clean(code, err, "config.yaml")
