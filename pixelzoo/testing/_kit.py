"""What every check in the kit shares: resolving a part by name or class, tiny models and inputs,
recipe round trips, and the common interface, gradient and determinism checks.

Private to `pixelzoo.testing`; plugin authors call the `check_*` functions it re-exports.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from pydantic import BaseModel, ValidationError
from torch import nn

from pixelzoo.errors import RecipeError
from pixelzoo.recipe import build_part, recipe_from_dict
from pixelzoo.registry import Registry, registry_for
from pixelzoo.tokens import add_start_tokens

UNKNOWN_KEY = "pixelzoo_kit_no_such_option"
SEED = 1234


@dataclass
class _Part:
    kind: str  # registry kind, e.g. "combiners"
    name: str
    cls: Any
    params: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{registry_for(self.kind).singular} '{self.name}'"

    def fail(self, check: str, message: str) -> AssertionError:
        return AssertionError(f"{self.label} failed the {check} check: {message}")

    def expect(self, ok: Any, check: str, message: str) -> None:
        if not ok:
            raise self.fail(check, message)

    def spec(self, **extra: Any) -> dict[str, Any]:
        return {"type": self.name, **self.params, **extra}

    def build(self, **core: Any) -> Any:
        return build_part(self.kind, self.spec(), **core)

    @contextlib.contextmanager
    def stage(self, check: str, passthrough: tuple[type[BaseException], ...] = ()
              ) -> Iterator[None]:
        """Run one check; an exception raised by the part is reported as that check failing."""
        try:
            yield
        except (AssertionError, *passthrough):
            raise
        except Exception as exc:  # noqa: BLE001 - the part's own error, reported as such
            raise self.fail(check, f"raised {type(exc).__name__}: {exc}") from exc


def _registered_name(reg: Registry[Any], cls: type) -> str | None:
    for info in reg.infos():
        if info.loaded and info.obj is cls:
            return info.name
    for info in reg.infos():  # not imported yet: compare the entry point's target
        if info.target == f"{cls.__module__}:{cls.__qualname__}":
            try:
                if reg.get(info.name) is cls:
                    return info.name
            except Exception:  # noqa: BLE001 - another plugin's failure is not this check's
                continue
    return None


@contextlib.contextmanager
def _resolve(kind: str, part: str | type, params: dict[str, Any] | None) -> Iterator[_Part]:
    """The part's registered name and class; a bare class is registered for the check."""
    reg = registry_for(kind)
    if isinstance(part, str):
        try:
            cls = reg.get(part)
        except Exception as exc:  # noqa: BLE001 - reported as a failed check
            raise AssertionError(f"{reg.singular} '{part}' failed the interface check: it cannot "
                                 f"be loaded from the registry: {exc}") from exc
        yield _Part(kind, part, cls, dict(params or {}))
        return
    if not isinstance(part, type):
        raise TypeError(f"expected a registered name or a class, got {part!r}")
    name = _registered_name(reg, part)
    if name is not None:
        yield _Part(kind, name, part, dict(params or {}))
        return
    name = f"kit_{part.__name__.lower()}"
    reg.register(name, part, dist="pixelzoo.testing")
    try:
        yield _Part(kind, name, part, dict(params or {}))
    finally:
        reg.unregister(name)


@contextlib.contextmanager
def _quiet_torch(seed: int = SEED) -> Iterator[None]:
    """One CPU thread (the tensors are tiny) and a forked RNG, restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(threads)


def _check_config_class(p: _Part) -> None:
    cfg_cls = getattr(p.cls, "Config", None)
    p.expect(isinstance(cfg_cls, type) and issubclass(cfg_cls, BaseModel), "interface",
             "the class needs a nested pydantic `Config` (subclass pixelzoo.config.PartConfig)")
    p.expect(cfg_cls.model_config.get("extra") == "forbid", "interface",
             f"{cfg_cls.__qualname__} must forbid unknown keys (model_config extra='forbid'; "
             "subclassing pixelzoo.config.PartConfig does this) so that recipe typos are caught")
    try:
        cfg_cls.model_validate(p.params)
    except ValidationError as exc:
        raise p.fail("Config validation",
                     f"its Config refuses the parameters {p.params!r}: {exc}") from exc
    try:
        cfg_cls.model_validate({**p.params, UNKNOWN_KEY: 1})
    except ValidationError:
        pass
    else:
        raise p.fail("Config validation", f"its Config accepted an unknown key '{UNKNOWN_KEY}'")
    try:
        build_part(p.kind, p.spec(**{UNKNOWN_KEY: 1}), **_dummy_core(p.kind))
    except RecipeError as exc:
        p.expect(UNKNOWN_KEY in str(exc), "Config validation",
                 f"the error for an unknown key does not name it: {exc}")
    except Exception as exc:  # noqa: BLE001
        raise p.fail("Config validation", f"an unknown key raised {type(exc).__name__} instead "
                                          f"of a RecipeError: {exc}") from exc
    else:
        raise p.fail("Config validation", f"build_part accepted an unknown key '{UNKNOWN_KEY}'")


def _dummy_core(kind: str) -> dict[str, Any]:
    # Only reached when the Config is (wrongly) accepted, so the sizes just need to be plausible.
    return {"combiners": {"input_size": 4, "hidden": 4},
            "decoders": {"features": 4, "channels": 1},
            "masks": {"channels": 1, "height": 4, "width": 4},
            "models": {"channels": 1, "height": 4, "width": 4, "num_classes": 2}}.get(kind, {})


def _check_grads(p: _Part, module: nn.Module, check: str, *, each_nonzero: bool) -> None:
    missing, bad, zero = [], [], []
    for pname, param in module.named_parameters():
        if not param.requires_grad:
            continue
        if param.grad is None:
            missing.append(pname)
        elif not torch.isfinite(param.grad).all():
            bad.append(pname)
        elif not param.grad.any():
            zero.append(pname)
    p.expect(not missing, check, f"no gradient reaches {', '.join(missing)}")
    p.expect(not bad, check, f"non-finite gradients in {', '.join(bad)}")
    if each_nonzero:
        p.expect(not zero, check, f"the gradient is exactly zero for {', '.join(zero)}")


def _random_tokens(batch: int, channels: int, height: int, width: int,
                   gen: torch.Generator) -> torch.Tensor:
    return add_start_tokens(torch.randint(0, 256, (batch, channels, height, width),
                                          generator=gen))


def _tiny_rowrnn(combiner: dict[str, Any] | None = None, decoder: dict[str, Any] | None = None,
                 *, channels: int, height: int, width: int, layers: int = 2,
                 directions: int = 1, num_classes: int | None = None) -> nn.Module:
    spec: dict[str, Any] = {"type": "rowrnn", "embed": 6, "hidden": 7, "layers": layers,
                            "directions": directions}
    if combiner is not None:
        spec["combiner"] = combiner
    if decoder is not None:
        spec["decoder"] = decoder
    return build_part("models", spec, channels=channels, height=height, width=width,
                      num_classes=num_classes)


def _same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _recipe(section: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A small valid recipe with `spec` in place at `section` (dotted)."""
    data: dict[str, Any] = {
        "dataset": {"type": "digits"},
        "model": {"type": "rowrnn", "embed": 6, "hidden": 7, "layers": 1},
        "task": {"type": "classification"},
    }
    node = data
    *parents, last = section.split(".")
    for key in parents:
        node = node[key]
    node[last] = spec
    return data


def _check_recipe(p: _Part, section: str) -> dict[str, Any]:
    """The part validates inside a recipe at `section`; a typo there is reported with its path."""
    try:
        resolved = recipe_from_dict(_recipe(section, p.spec()), name="kit").data
    except RecipeError as exc:
        raise p.fail("recipe", f"a recipe with {section}: {p.spec()} does not validate: "
                               f"{exc}") from exc
    node: Any = resolved
    for key in section.split("."):
        node = node[key]
    p.expect(isinstance(node, dict) and node.get("type") == p.name, "recipe",
             f"the resolved recipe holds {node!r} at {section}")
    try:
        recipe_from_dict(_recipe(section, p.spec(**{UNKNOWN_KEY: 1})), name="kit")
    except RecipeError as exc:
        p.expect(f"{section}.{UNKNOWN_KEY}" in str(exc), "recipe",
                 f"a typo at {section}.{UNKNOWN_KEY} is reported without its path: {exc}")
    else:
        raise p.fail("recipe", f"a recipe with an unknown key at {section} validated")
    return node


def _built_twice_agree(p: _Part, build: Callable[[], Any], tokens: torch.Tensor) -> None:
    """Two builds under one seed have equal weights, and their forward passes agree."""
    outs, nets = [], []
    for _ in range(2):
        torch.manual_seed(SEED)
        net = build()
        torch.manual_seed(SEED + 1)
        outs.append(net(tokens))
        nets.append(net)
    p.expect(_same_state(*nets), "determinism", "two builds under one seed differ")
    p.expect(torch.equal(outs[0], outs[1]), "determinism",
             "two forward passes under one seed differ")
