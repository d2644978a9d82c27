"""Helpers for the bad-input battery: a small valid recipe, a CLI runner, a clean-refusal check."""

from __future__ import annotations

import pytest

from pixelzoo.cli import main

GOOD = """\
seed: 3
dataset: {type: digits, limit: 64}
model: {type: rowrnn, embed: 8, hidden: 12}
task: {type: classification}
train: {epochs: 1, batch_size: 16, steps_per_epoch: 1}
"""


class Cli:
    """Runs `pixelzoo ARGS` in-process and returns (exit status, stdout, stderr)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]):
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse refuses a malformed argument: exit 2 and usage
            code = exc.code if isinstance(exc.code, int) else 1
        out = self.capsys.readouterr()
        return code, out.out, out.err


def assert_clean(code: int, err: str, *needles: str) -> None:
    """A clean refusal: exit 2, no traceback, and the message names what is wrong."""
    assert code == 2, err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, f"{n!r} not in {err!r}"
