"""Which scan a RowRNN runs: the one policy, `select(model, mode)`.

A RowRNN computes its scans through a strategy (`pixelzoo.models.reference.Scan`): the reference
loop, the oracle, or the wavefront fast path (`pixelzoo.models.wavefront`), which computes the
same function faster for the models it supports. Every caller that wants a scan (the trainer's
`train.fast_path`, `pixelzoo infill`, `compare`'s grids, the benchmarks, the tests) goes through
`select`, so the rule lives in one place:

* "auto": the wavefront when `wavefront.supports` allows it, else the reference loop, with a
  one-line notice saying why;
* "reference": the reference loop;
* "wavefront": the wavefront, or a `ScanError` saying why it cannot run this model (forcing it
  would silently compute a different function).

An unknown mode is a `ScanError` naming the known ones. Which layer-0 form the wavefront uses is
declared by the combiners (`pixelzoo.models.combiners.base`), not chosen here. This module is
the top of the scan modules' one-way dependency (reference <- rowrnn <- wavefront <- scan); it
holds no scan arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pixelzoo.models.reference import REFERENCE, Scan, ScanError
from pixelzoo.models.wavefront import WAVEFRONT, layer0_form, supports

#: The modes `select` accepts, as `train.fast_path` spells them.
MODES = ("auto", "reference", "wavefront")


@dataclass(frozen=True)
class ScanChoice:
    """What `select` chose: the scan's `name` ("wavefront" or "reference") and `reason`, why the
    fast path was not taken ("" if it was). `notice` is the line a run should print about it,
    "" for none (the fast path taken, the reference loop asked for, a model without a scan);
    `form` is how the wavefront runs layer 0 ("affine", "gated", "generic"), "" off it."""

    name: str
    reason: str
    notice: str = ""
    form: str = ""


def has_scan(model: Any) -> bool:
    """True if `model` computes its features through a `Scan` (a RowRNN or one like it)."""
    return isinstance(getattr(model, "impl", None), Scan)


def select(model: Any, mode: str = "auto", *, key: str = "mode") -> ScanChoice:
    """Choose `model`'s scan for `mode` ("auto", "reference" or "wavefront") and set it.

    `key` names where the mode came from in error messages (the trainer passes
    "train.fast_path"). Raises `ScanError` for an unknown mode and for "wavefront" on a model
    it cannot run. A model without a scan (not a RowRNN) is left as it is: "reference" with the
    reason, no notice.
    """
    if mode not in MODES:
        raise ScanError(f"{key}: unknown scan mode {mode!r}; known modes: {', '.join(MODES)}")
    if not has_scan(model):
        why = f"{type(model).__name__} has no row scan"
        if mode == "wavefront":
            raise ScanError(f"{key}: 'wavefront' cannot run this model ({why}); use 'auto' or "
                            "'reference'")
        return ScanChoice("reference", why)
    if mode == "reference":
        model.impl = REFERENCE
        return ScanChoice("reference", "the reference loop was asked for")
    ok, why = supports(model)
    if ok:
        model.impl = WAVEFRONT
        return ScanChoice("wavefront", "", form=layer0_form(model))
    if mode == "wavefront":  # forcing it would silently compute a different function
        raise ScanError(f"{key}: 'wavefront' cannot run this model ({why}); use 'auto' or "
                        "'reference'")
    model.impl = REFERENCE
    return ScanChoice("reference", why,
                      notice=f"fast path unavailable ({why}); using the reference loop")


__all__ = ["MODES", "Scan", "ScanChoice", "ScanError", "has_scan", "select"]
