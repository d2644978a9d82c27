"""`torchrun ... tests/engine/ddp_worker.py ARGS...` runs `pixelzoo ARGS` in each rank and reports.

Each rank records (with a Python audit hook) every file it creates, opens for writing, renames,
links or deletes under PZ_AUDIT_ROOT, and its model parameters as they are when training ends
(before the best weights are loaded for the final table). Both go to PZ_REPORT_DIR/rank-N.pt,
outside the audited folder, when the rank exits, however it exits. Faults, from the env:
PZ_SIGNAL_RANK + PZ_SIGNAL_AT send SIGINT to one rank during a given step (PZ_SIGNAL_EVAL_AT:
during the first batch of its N-th evaluation instead); PZ_ENOSPC_AT makes rank 0's renames under
PZ_AUDIT_ROOT fail with "no space left" from a given step on.
"""

from __future__ import annotations

import os
import sys

import torch

from pixelzoo.engine.trainer import Trainer

AUDIT_ROOT = os.path.realpath(os.environ["PZ_AUDIT_ROOT"])
REPORT_DIR = os.environ["PZ_REPORT_DIR"]
RANK = int(os.environ.get("RANK", "0"))
writes: list[str] = []
report: dict = {"rank": RANK, "writes": writes}

_WRITE_EVENTS = {"os.rename",  # os.replace raises this one too
                 "os.replace", "os.link", "os.symlink", "os.remove", "os.unlink",
                 "os.mkdir", "os.rmdir", "os.truncate", "shutil.copyfile", "shutil.rmtree"}


def _under_root(path: object) -> bool:
    try:
        return os.path.realpath(os.fsdecode(path)).startswith(AUDIT_ROOT)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _audit(event: str, args: tuple) -> None:
    if event == "open":
        path, mode, flags = args
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
            (isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if writing and path is not None and not isinstance(path, int) and _under_root(path):
            writes.append(f"open {path}")
    elif event in _WRITE_EVENTS:
        hits = [os.fsdecode(a) for a in args[:2]
                if isinstance(a, (str, bytes, os.PathLike)) and _under_root(a)]
        if hits:
            writes.append(f"{event} {' -> '.join(hits)}")


def _instrument() -> None:
    orig_finish = Trainer._finish
    orig_signal_step = Trainer._train_step
    signal_at = int(os.environ.get("PZ_SIGNAL_AT", "0"))
    signal_rank = int(os.environ.get("PZ_SIGNAL_RANK", "-1"))

    def finish(self, *a, **k):
        report["params"] = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        report["global_step"] = self.global_step
        result = orig_finish(self, *a, **k)
        report["metrics"] = result.metrics
        return result

    def step(self, idx, epoch, s):
        if RANK == signal_rank and self.global_step + 1 == signal_at:
            import signal

            os.kill(os.getpid(), signal.SIGINT)  # only this rank is told to stop
        loss = orig_signal_step(self, idx, epoch, s)
        report["global_step"] = self.global_step + 1
        report["params"] = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        return loss

    Trainer._finish = finish
    Trainer._train_step = step

    signal_eval_at = int(os.environ.get("PZ_SIGNAL_EVAL_AT", "0"))
    if signal_eval_at and RANK == signal_rank:
        orig_evaluate = Trainer.evaluate
        evaluations = {"n": 0}

        def evaluate(self, *a, **k):
            evaluations["n"] += 1

            def first_batch(module, inputs, output):
                if evaluations["n"] == signal_eval_at:
                    import signal

                    evaluations["n"] = -1  # once
                    os.kill(os.getpid(), signal.SIGINT)

            hook = self.model.register_forward_hook(first_batch)
            try:
                return orig_evaluate(self, *a, **k)
            finally:
                hook.remove()

        Trainer.evaluate = evaluate

    enospc_at = int(os.environ.get("PZ_ENOSPC_AT", "0"))
    if enospc_at and RANK == 0:  # rank 0's disk fills up from step N on
        import errno

        real_replace = os.replace
        armed = {"on": False}

        def replace(src, dst, *a, **k):
            if armed["on"] and _under_root(dst):
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_replace(src, dst, *a, **k)

        def arming_step(self, idx, epoch, s):
            if self.global_step + 1 == enospc_at:
                armed["on"] = True
            return step(self, idx, epoch, s)

        os.replace = replace
        Trainer._train_step = arming_step


if __name__ == "__main__":
    sys.addaudithook(_audit)
    _instrument()
    from pixelzoo.cli import main

    code = 1
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        report["exit"] = code
        report["writes"] = list(writes)
        os.makedirs(REPORT_DIR, exist_ok=True)
        torch.save(report, os.path.join(REPORT_DIR, f"rank-{RANK}.pt"))
    sys.exit(code)
