"""Data-loading benchmarks: the 60,000-row mnist-in-csv file, cold (parse + cache write) and cached.

Targets from the issue: the cold load under 10 s, the cached load under 1 s. Run with
`python -m pytest benchmarks/bench_data.py --benchmark-only`. The CSV is generated on the fly
(1,000 distinct random rows repeated), which costs the parser exactly what the real file does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from pixelzoo.data.mnist_csv import HEADER, load_mnist_csv, parse_mnist_csv

ROWS = 60_000


@pytest.fixture(scope="module")
def mnist_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    px = rng.integers(0, 256, (1000, 784))
    px[rng.random((1000, 784)) < 0.8] = 0  # MNIST is about 80% background zeros
    block = np.concatenate([rng.integers(0, 10, (1000, 1)), px], axis=1)
    text = "\n".join(",".join(map(str, r)) for r in block.tolist()) + "\n"
    path = folder / "mnist_train.csv"
    path.write_text(",".join(HEADER) + "\n" + text * (ROWS // 1000))
    return path


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PIXELZOO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_parse_60k(benchmark, mnist_csv: Path) -> None:  # noqa: ANN001
    images, labels = benchmark.pedantic(parse_mnist_csv, args=(mnist_csv,), rounds=3)
    assert images.shape == (ROWS, 1, 28, 28) and len(labels) == ROWS


def test_cold_load_60k(benchmark, mnist_csv: Path, cache_dir: Path) -> None:  # noqa: ANN001
    def empty_cache() -> None:
        shutil.rmtree(cache_dir, ignore_errors=True)

    images, _ = benchmark.pedantic(load_mnist_csv, args=(mnist_csv,), setup=empty_cache,
                                   rounds=3)
    assert images.shape == (ROWS, 1, 28, 28)
    assert benchmark.stats.stats.max < 10.0


def test_cached_load_60k(benchmark, mnist_csv: Path, cache_dir: Path) -> None:  # noqa: ANN001
    load_mnist_csv(mnist_csv)  # warm the cache
    images, _ = benchmark(load_mnist_csv, mnist_csv)
    assert images.shape == (ROWS, 1, 28, 28)
    assert benchmark.stats.stats.max < 1.0
