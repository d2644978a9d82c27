"""Benchmark session helpers: print the reference-vs-fast ratios measured in this run."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    try:
        from seed_setup import RESULTS
    except ImportError:  # a run that did not load the RowRNN benchmarks
        return
    if not RESULTS:
        return
    groups: dict[str, dict[str, float]] = {}
    for group, name, seconds in RESULTS:
        groups.setdefault(group, {})[name] = seconds
    tr = terminalreporter
    tr.section("speed-ups measured in this run (mean time, slower path / faster path)")
    for group, times in groups.items():
        base = max(times.values())
        cells = ", ".join(f"{name} {t * 1e3:,.1f} ms ({base / t:.1f}x)"
                          for name, t in times.items())
        tr.write_line(f"{group}: {cells}")
