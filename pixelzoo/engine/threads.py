"""How many CPU threads a run uses, and how they wait: the policy for a shared machine.

Torch's CPU kernels run on GNU OpenMP (libgomp). Its worker threads spin at every barrier, so a
run with more threads than *free* cores collapses when another process takes one: each of the
thousands of small parallel regions of a RowRNN step waits for a peer that the scheduler has
taken off its core (digits: about 500-650 images/s near-idle, 2-75 busy; docs/performance.md,
"On a busy machine"). This module holds the policy that avoids it:

- `prepare_openmp(environ)`, called by the command line before torch is imported (OpenMP reads
  its variables once, when it starts): on a busy machine it sets `OMP_WAIT_POLICY=PASSIVE`,
  unless the user set that or `GOMP_SPINCOUNT`. Waiting threads then sleep instead of spinning.
  On an idle machine it sets nothing: spinning is what makes two threads fast there.
- `choose_threads(setting)`: `train.num_threads: auto` (the default) takes the cores the load
  leaves free, one on a busy machine; a number is used as given; None keeps torch's default.
- `ThreadWatch`: an `auto` run that started on an idle machine drops to the free cores if other
  processes arrive later (never back up, so a run does not flap between counts).

"Busy" is judged from the 1-minute load average against the CPUs this process may use. It is
not for choosing threads inside a torchrun job (torchrun sets OMP_NUM_THREADS, which `auto`
keeps) and it imports no torch: the caller applies the count.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass

#: Variables through which a user chooses how OpenMP threads wait; any one of them set wins.
WAIT_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
#: Set on the environment when the command line found the machine busy (see prepare_openmp).
PASSIVE = "PASSIVE"
#: How often (seconds) `ThreadWatch` reads the load average.
WATCH_EVERY_S = 10.0


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def load_average() -> float | None:
    """The 1-minute load average (runnable processes, ours included), None where unknown."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        return None


def free_cores(cpus: int, load: float | None) -> int:
    """Whole cores the load leaves free, rounded to the nearer (at least 1, at most `cpus`)."""
    if load is None:
        return cpus
    return max(1, min(cpus, int(cpus - load + 0.5)))


def is_busy(cpus: int, load: float | None) -> bool:
    """Busy: the load leaves one core or less, so a second spinning thread would contend."""
    return free_cores(cpus, load) <= 1 < cpus


def prepare_openmp(environ: MutableMapping[str, str] | None = None, *,
                   cpus: int | None = None, load: float | None = None) -> str:
    """Set `OMP_WAIT_POLICY=PASSIVE` in `environ` (default os.environ) when the machine is busy
    and the user set neither wait variable; returns the value set, "" if nothing was.

    Call it before torch is imported: OpenMP reads the variable once, when it starts. On a busy
    machine `auto` takes one thread, which never waits; the policy protects a recipe that asks
    for more (two digits threads on a busy 2-core machine: 324 images/s sleeping, 4 spinning).
    """
    env = os.environ if environ is None else environ
    if any(v in env for v in WAIT_VARIABLES):
        return ""  # the user's choice is never overwritten
    cpus = usable_cpus() if cpus is None else cpus
    if not is_busy(cpus, load_average() if load is None else load):
        return ""
    env["OMP_WAIT_POLICY"] = PASSIVE
    return PASSIVE


@dataclass(frozen=True)
class ThreadChoice:
    """What `choose_threads` decided: `count` (None: leave torch's as it is) and why."""

    count: int | None
    reason: str
    auto: bool = False  # whether the count follows the load (ThreadWatch may lower it)


def choose_threads(setting: int | str | None, *, default: int,
                   environ: MutableMapping[str, str] | None = None,
                   cpus: int | None = None, load: float | None = None) -> ThreadChoice:
    """The thread count for `train.num_threads` = `setting` (an int, "auto" or None).

    `default` is torch's own count. `auto` keeps an OMP_NUM_THREADS the user or a launcher set;
    otherwise it takes the free cores (`free_cores`), at most `default`.
    """
    if isinstance(setting, int):
        return ThreadChoice(setting, "train.num_threads")
    if setting is None:
        return ThreadChoice(None, "torch's default")
    env = os.environ if environ is None else environ
    if env.get("OMP_NUM_THREADS"):
        return ThreadChoice(None, f"OMP_NUM_THREADS={env['OMP_NUM_THREADS']}")
    cpus = usable_cpus() if cpus is None else cpus
    load = load_average() if load is None else load
    count = min(default, free_cores(cpus, load))
    if load is None:
        return ThreadChoice(count, "auto: no load average here", auto=True)
    return ThreadChoice(count, f"auto: load {load:.1f} on {cpus} CPUs", auto=True)


class ThreadWatch:
    """Lowers an `auto` run's thread count when other processes take the cores mid-run.

    `poll()` is cheap (one clock read) between checks every `every_s` seconds. A run counts as
    `count` runnable threads itself, so the others' load is the load average minus `count`;
    when they leave fewer free cores than the run uses, the count drops to what is left.
    The 1-minute average lags, so a drop comes some tens of seconds after the others start.
    """

    def __init__(self, count: int, *, every_s: float | None = None, cpus: int | None = None,
                 load: Callable[[], float | None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.count = count
        self.every_s = WATCH_EVERY_S if every_s is None else every_s
        self.cpus = usable_cpus() if cpus is None else cpus
        self._load = load_average if load is None else load
        self._clock = clock
        self._next = clock() + self.every_s

    def poll(self) -> tuple[int, str] | None:
        """(new count, why) when the count should drop now, else None."""
        if self.count <= 1:
            return None
        now = self._clock()
        if now < self._next:
            return None
        self._next = now + self.every_s
        load = self._load()
        if load is None:
            return None
        others = max(0.0, load - self.count)
        new = min(self.count, free_cores(self.cpus, others))
        if new >= self.count:
            return None
        old, self.count = self.count, new
        return new, (f"threads {old} -> {new}: other processes are using the cores (load "
                     f"{load:.1f} on {self.cpus} CPUs); set train.num_threads to fix the count")
