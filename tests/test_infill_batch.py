"""`pixelzoo infill --image DIR`: a folder filled in batches, bad files skipped, none replaced."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from pixelzoo.cli import main
from pixelzoo.data.toon import generate
from run_folders import untrained_run

BOX = (slice(15, 20), slice(15, 25))  # box:15,15,5,10


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder with an untrained tiny model's weights (one direction: quick to sample)."""
    return untrained_run(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    """Six (3, 36, 36) faces at the model's grid, so they are used as they are."""
    return generate(6, seed=5)[0]


def write(path: Path, chw: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.ascontiguousarray(chw.transpose(1, 2, 0)[:, :, ::-1]))
    return path


def read(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1].transpose(2, 0, 1)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.is_file()}


def box_holes() -> np.ndarray:
    holes = np.zeros((36, 36), bool)
    holes[BOX] = True
    return holes


@pytest.fixture
def folder(tmp_path: Path, faces: np.ndarray) -> Path:
    """a, b, c: good faces; corrupt.png: a truncated PNG; twin.png and twin.jpg: one name."""
    src = tmp_path / "faces"
    for name, face in zip("abc", faces, strict=False):
        write(src / f"{name}.png", face)
    good = (src / "a.png").read_bytes()
    (src / "corrupt.png").write_bytes(good[: len(good) // 2])
    write(src / "twin.png", faces[3])
    write(src / "twin.jpg", faces[4])
    (src / "notes.txt").write_text("not an image, not an image file name: ignored")
    return src


def test_a_corrupt_image_and_name_clashes_are_reported_and_the_rest_filled(
        run_dir: Path, folder: Path, faces: np.ndarray, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    write(out / "b.png", np.zeros((3, 36, 36), np.uint8))  # an output already there
    inputs, before = digests(folder), (out / "b.png").read_bytes()
    code = main(["infill", str(run_dir), "--image", str(folder), "--mask", "box:15,15,5,10",
                 "-o", str(out), "--decoding", "mean"])
    captured = capsys.readouterr()
    assert code == 3  # some filled, some skipped
    assert "Traceback" not in captured.err
    skipped = {line.split(":")[0].split()[-1] for line in captured.err.splitlines()
               if line.startswith("skipped")}
    assert skipped == {str(folder / n) for n in ("b.png", "corrupt.png", "twin.png", "twin.jpg")}
    corrupt = next(line for line in captured.err.splitlines() if "corrupt.png" in line)
    assert "not a readable image (truncated PNG)" in corrupt
    assert "share the name 'twin'" in captured.err and "exists" in captured.err
    assert "filled 2 of 6 image(s)" in captured.out
    # the good ones are filled: their own pixels outside the hole, new ones inside
    holes = box_holes()
    for name, face in (("a", faces[0]), ("c", faces[2])):
        filled = read(out / f"{name}.png")
        assert (filled[:, ~holes] == face[:, ~holes]).all()
    # nothing is overwritten: not the inputs, not the existing output; the twins wrote nothing
    assert digests(folder) == inputs
    assert (out / "b.png").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png"]


def test_overwrite_replaces_existing_outputs(run_dir: Path, folder: Path, faces: np.ndarray,
                                             tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out / "b.png", np.zeros((3, 36, 36), np.uint8))
    assert main(["infill", str(run_dir), "--image", str(folder), "--mask", "box:15,15,5,10",
                 "-o", str(out), "--overwrite"]) == 3  # the corrupt and twins still skipped
    holes = box_holes()
    assert (read(out / "b.png")[:, ~holes] == faces[1][:, ~holes]).all()


def test_masks_are_paired_by_name_and_a_missing_one_is_skipped(
        run_dir: Path, faces: np.ndarray, tmp_path: Path, capsys) -> None:
    src, masks, out = tmp_path / "faces", tmp_path / "masks", tmp_path / "out"
    boxes = {"a": (2, 3, 4, 5), "b": (20, 10, 6, 8)}
    for name, face in zip("abc", faces, strict=False):
        write(src / f"{name}.png", face)
    masks.mkdir()
    for name, (t, l, h, w) in boxes.items():  # c has no mask
        m = np.zeros((36, 36), np.uint8)
        m[t:t + h, l:l + w] = 255
        cv2.imwrite(str(masks / f"{name}.png"), m)
    assert main(["infill", str(run_dir), "--image", str(src), "--mask", str(masks),
                 "-o", str(out), "--decoding", "greedy"]) == 3
    assert f"no mask named c.* in {masks}" in capsys.readouterr().err
    for (name, (t, l, h, w)), face in zip(boxes.items(), faces, strict=False):
        holes = np.zeros((36, 36), bool)
        holes[t:t + h, l:l + w] = True
        filled = read(out / f"{name}.png")
        assert (filled[:, ~holes] == face[:, ~holes]).all()
        assert (filled[:, holes] != face[:, holes]).any()  # an untrained model: surely changed
    assert not (out / "c.png").exists()


def test_scores_csv_has_a_row_per_filled_image_with_an_original(
        run_dir: Path, faces: np.ndarray, tmp_path: Path, capsys) -> None:
    from pixelzoo.metrics import psnr, ssim

    src, originals, out = tmp_path / "faces", tmp_path / "originals", tmp_path / "out"
    damaged = faces.copy()
    damaged[:, :, 15:20, 15:25] = 0  # the holes hold junk; the originals are complete
    for name, face, orig in zip("abcd", damaged, faces, strict=False):
        write(src / f"{name}.png", face)
        if name != "d":  # d has no original: filled, left out of the CSV
            write(originals / f"{name}.png", orig)
    assert main(["infill", str(run_dir), "--image", str(src), "--mask", "box:15,15,5,10",
                 "-o", str(out), "--original", str(originals), "--batch-size", "3"]) == 0
    text = capsys.readouterr().out
    assert "left out of the CSV" in text and "d.png" in text
    with open(out / "hole_metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [Path(r["image"]).name for r in rows] == ["a.png", "b.png", "c.png"]
    holes = np.repeat(box_holes()[None], 3, axis=0)
    for r, orig in zip(rows, faces, strict=False):
        filled = read(Path(r["output"]))[None]
        assert Path(r["original"]).parent == originals and int(r["hole_pixels"]) == 50
        assert float(r["psnr"]) == pytest.approx(psnr(orig[None], filled, holes[None])[0],
                                                 abs=1e-4)
        assert float(r["ssim"]) == pytest.approx(ssim(orig[None], filled)[0], abs=1e-4)
    # the CSV, like every output, is not replaced without --overwrite: refused before any work
    assert main(["infill", str(run_dir), "--image", str(src), "--mask", "box:15,15,5,10",
                 "-o", str(tmp_path / "other"), "--original", str(originals),
                 "--csv", str(out / "hole_metrics.csv")]) == 2
    assert "exists" in capsys.readouterr().err and not (tmp_path / "other").exists()


def test_the_model_loads_once_and_fills_in_batches(run_dir: Path, faces: np.ndarray,
                                                   tmp_path: Path, monkeypatch) -> None:
    import pixelzoo.api
    import pixelzoo.infill_source

    src = tmp_path / "faces"
    for i, face in enumerate(faces[:5]):
        write(src / f"f{i}.png", face)
    loads, batches = [], []
    real_load, real_fill = pixelzoo.infill_source.load_infill, pixelzoo.api.fill_prepared

    def load(*a, **kw):
        loads.append(a)
        return real_load(*a, **kw)

    def fill(model, images, holes, **kw):
        batches.append(len(images))
        return real_fill(model, images, holes, **kw)

    monkeypatch.setattr(pixelzoo.infill_source, "load_infill", load)
    monkeypatch.setattr(pixelzoo.api, "fill_prepared", fill)
    assert main(["infill", str(run_dir), "--image", str(src), "--mask", "box:15,15,5,10",
                 "-o", str(tmp_path / "out"), "--batch-size", "2", "--temperature", "0.9",
                 "--side-by-side"]) == 0
    assert len(loads) == 1 and batches == [2, 2, 1]
    assert len(list((tmp_path / "out" / "side_by_side").glob("*.png"))) == 5


def test_nothing_filled_is_status_2(run_dir: Path, faces: np.ndarray, tmp_path: Path,
                                    capsys) -> None:
    src = tmp_path / "faces"
    write(src / "a.png", faces[0])
    black = tmp_path / "black.png"  # a mask marking no hole skips every image
    cv2.imwrite(str(black), np.zeros((48, 48), np.uint8))
    masks = tmp_path / "masks"
    masks.mkdir()
    cv2.imwrite(str(masks / "a.png"), np.zeros((36, 36), np.uint8))
    assert main(["infill", str(run_dir), "--image", str(src), "--mask", str(masks),
                 "-o", str(tmp_path / "out")]) == 2
    assert "no holes" in capsys.readouterr().err
    # one shared mask without holes is the command's own mistake: a plain error, no work done
    assert main(["infill", str(run_dir), "--image", str(src), "--mask", str(black),
                 "-o", str(tmp_path / "out2")]) == 2
    assert "no holes" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--image", "FILE", "--original", "DIR"], "--original applies to a folder of images"),
    (["--image", "FILE", "--mask", "DIR"], "masks paired by name need a folder of images"),
    (["--image", "DIR", "-o", "FILE"], "-o names the folder"),
    (["--image", "DIR", "-o", "new.png"], "names a folder to write into, not an image"),
    (["--image", "DIR", "--mask", "missing"], "no such file or folder"),
    (["--image", "DIR", "--original", "FILE"], "--original FILE: not a folder"),
    (["--image", "DIR", "--csv", "x.csv"], "--csv needs --original DIR"),
])
def test_arguments_that_do_not_fit_a_folder_are_refused(run_dir: Path, faces: np.ndarray,
                                                        tmp_path: Path, capsys, args,
                                                        message) -> None:
    src = tmp_path / "DIR"
    file = write(src / "a.png", faces[0])
    names = {"DIR": str(src), "FILE": str(file), "missing": str(tmp_path / "missing"),
             "new.png": str(tmp_path / "new.png")}
    argv = ["infill", str(run_dir), *(names.get(a, a) for a in args)]
    for flag, default in (("--mask", "box:1,1,2,2"), ("-o", str(tmp_path / "out"))):
        if flag not in argv:
            argv += [flag, default]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message.replace("FILE", str(file)) in err and "Traceback" not in err
