"""`pixelzoo infill`: a user's own image and mask, through a run folder or shipped weights."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from pixelzoo.cli import main
from pixelzoo.data.preprocess import preprocess_rgb
from pixelzoo.data.toon import render_faces
from run_folders import untrained_run



@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()  # the command sets one thread for itself
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder as `pixelzoo run` leaves it, with an untrained tiny model's weights."""
    # the default recipe fills with `fused`; these tests want the field's own default, greedy
    return untrained_run(tmp_path_factory.mktemp("runs"), overrides=[
        "model.hidden=8", "model.embed=4", "task.fill_decoding=greedy"])


@pytest.fixture(scope="module")
def face(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """A 500x500 cartoon face PNG, and its (3, 36, 36) preprocessed version."""
    rgb = render_faces(1, seed=7)[0]
    path = tmp_path_factory.mktemp("img") / "face.png"
    cv2.imwrite(str(path), rgb[:, :, ::-1])
    return path, preprocess_rgb(rgb, crop=300, size=36)


def write_mask(path: Path, shape: tuple[int, int], box: tuple[int, int, int, int]) -> Path:
    m = np.zeros(shape, np.uint8)
    t, l, h, w = box
    m[t:t + h, l:l + w] = 255
    cv2.imwrite(str(path), m)
    return path


def read_rgb(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1].transpose(2, 0, 1)


def test_fills_a_png_with_a_mask_png(run_dir, face, tmp_path, capsys) -> None:
    image, pre = face
    # the mask is drawn on the 500x500 image: it takes the same crop (100 px off) and resize
    mask = write_mask(tmp_path / "holes.png", (500, 500), (225, 225, 50, 75))
    out = tmp_path / "out.png"
    assert main(["infill", str(run_dir), "--image", str(image), "--mask", str(mask),
                 "-o", str(out)]) == 0
    filled = read_rgb(out)
    assert filled.shape == (3, 36, 36)
    holes = np.zeros((36, 36), bool)
    holes[15:21, 15:24] = True  # rows 125..175 and cols 125..200 of the 300 crop, at 36/300
    assert (filled[:, ~holes] == pre[:, ~holes]).all()  # outside the holes: the input exactly
    side = tmp_path / "out_side_by_side.png"
    assert side.is_file() and cv2.imread(str(side)).shape[1] > 3 * 36 * 8
    text = capsys.readouterr().out
    assert "preprocessed like the run's dataset" in text and "out.png" in text
    assert "(greedy)" in text  # the run's task.fill_decoding


def test_box_mask_and_sampling(run_dir, face, tmp_path) -> None:
    image, pre = face
    out = tmp_path / "boxed.png"
    assert main(["infill", str(run_dir), "--image", str(image), "--mask", "box:15,15,5,10",
                 "-o", str(out), "--temperature", "0.8", "--seed", "3"]) == 0
    filled = read_rgb(out)
    assert (filled[:, :15] == pre[:, :15]).all() and (filled[:, 20:] == pre[:, 20:]).all()


def test_mask_of_another_size_is_resized_with_a_note(run_dir, face, tmp_path, capsys) -> None:
    image, _ = face
    mask = write_mask(tmp_path / "small.png", (72, 72), (30, 30, 10, 20))
    out = tmp_path / "resized.png"
    assert main(["infill", str(run_dir), "--image", str(image), "--mask", str(mask),
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "72x72 differs from the model's 36x36; resized" in text
    assert out.is_file()


@pytest.mark.parametrize("kind", ["gray", "rgba"])
def test_images_with_other_channel_counts_are_converted(run_dir, face, tmp_path, capsys,
                                                        kind: str) -> None:
    image, _ = face
    bgr = cv2.imread(str(image), cv2.IMREAD_COLOR)
    path = tmp_path / f"{kind}.png"
    if kind == "gray":
        cv2.imwrite(str(path), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    else:
        cv2.imwrite(str(path), cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA))
    out = tmp_path / f"{kind}_out.png"
    assert main(["infill", str(run_dir), "--image", str(path), "--mask", "box:10,10,8,8",
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert ("converted to colour" if kind == "gray" else "alpha channel dropped") in text
    filled = read_rgb(out)
    if kind == "gray":  # a gray input stays gray outside the holes
        assert (filled[0, :10] == filled[1, :10]).all()


def test_image_at_the_model_size_is_used_as_is(run_dir, face, tmp_path) -> None:
    _, pre = face
    small = tmp_path / "small_face.png"
    cv2.imwrite(str(small), pre.transpose(1, 2, 0)[:, :, ::-1])
    out = tmp_path / "small_out.png"
    assert main(["infill", str(run_dir), "--image", str(small), "--mask", "box:0,0,3,3",
                 "-o", str(out), "--decoding", "mean"]) == 0
    assert (read_rgb(out)[:, 3:] == pre[:, 3:]).all()


@pytest.mark.parametrize("args, message", [
    (["runs/no/such/run"], "neither a run folder nor a shipped weights name"),
    (["RUN", "--mask", "box:1,2,3"], "expected box:TOP,LEFT,HEIGHT,WIDTH"),
    (["RUN", "--mask", "box:40,40,2,2"], "outside the model's 36x36 grid"),
    (["RUN", "--mask", "BLACK"], "no holes"),
    (["RUN", "--image", "missing.png"], "file not found"),
])
def test_clear_errors(run_dir, face, tmp_path, capsys, args, message) -> None:
    image, _ = face
    black = tmp_path / "black.png"
    cv2.imwrite(str(black), np.zeros((36, 36), np.uint8))
    argv = ["infill", *(str(run_dir) if a == "RUN" else str(black) if a == "BLACK" else a
                        for a in args)]
    if "--image" not in argv:
        argv += ["--image", str(image)]
    if "--mask" not in argv:
        argv += ["--mask", "box:15,15,5,10"]
    assert main([*argv, "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_run_folder_for_another_task_is_refused(tmp_path, face, capsys) -> None:
    folder = tmp_path / "digits_run"
    folder.mkdir()
    (folder / "config.yaml").write_text(
        "dataset: {type: digits}\nmodel: {type: rowrnn}\ntask: {type: classification}\n")
    image, _ = face
    assert main(["infill", str(folder), "--image", str(image), "--mask", "box:1,1,2,2",
                 "-o", str(tmp_path / "x.png")]) == 2
    assert "not infill" in capsys.readouterr().err
