"""Reading YAML that a stranger may have written: recipes, `--set` values, saved `config.yaml`s.

`yaml.safe_load` already refuses tags that would run code, but a hostile or damaged file can
still hurt: bytes in another encoding end in a `UnicodeDecodeError`, a few lines of nested
aliases (the "billion laughs") expand to billions of values, an alias inside its own anchor
(`seed: &a [*a]`) builds a structure that loops forever, and thousands of nested brackets
overflow Python's stack. This module reads such text in bounded time and memory and turns each
case into a `RecipeError` naming the file and line:

- the file is at most `MAX_BYTES` and must be UTF-8 (a UTF-8 byte-order mark is fine);
- one pass over the parser's events (iterative, so deep nesting cannot overflow it) bounds the
  nesting depth, refuses self-referencing aliases and counts the values the document holds with
  every alias expanded, refusing more than `MAX_VALUES`;
- only then is the document composed and constructed, once, and the line map (key path -> line,
  for error messages) is built from that node tree without following aliases.

It reads; it does not validate what was read (that is `pixelzoo.recipe`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from pixelzoo.errors import RecipeError

MAX_BYTES = 1_000_000  # a recipe is a page of settings; a megabyte is far past any real one
MAX_DEPTH = 48  # nested mappings and lists; real recipes nest about 5 deep
MAX_VALUES = 100_000  # values in the document with every alias expanded

KeyPath = tuple[str | int, ...]
_OPEN = object()  # an anchor whose node is still being read
_DIGITS = re.compile(r"[-+]?[0-9][0-9_]*")


def decode(raw: bytes, source: str | None = None) -> str:
    """UTF-8 bytes -> text; any other encoding is one clear `RecipeError`."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or _wide_text(raw[:64]):
        raise RecipeError(["this file is UTF-16 (or UTF-32) text; save the recipe as UTF-8"],
                          source=source)
    if b"\x00" in raw:
        raise RecipeError(["this is a binary file (it holds NUL bytes), not a YAML recipe"],
                          source=source)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = raw[exc.start:exc.start + 1].hex()
        printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in raw[:4096])
        if printable < 0.7 * min(len(raw), 4096):
            raise RecipeError([f"this is a binary file (byte 0x{bad} at line {line}, column "
                               f"{column} is not UTF-8), not a YAML recipe"],
                              source=source) from None
        raise RecipeError([f"line {line}, column {column}: byte 0x{bad} is not UTF-8 text; save "
                           "the recipe as UTF-8 (was it written as Latin-1 or Windows-1252?)"],
                          source=source) from None


def _wide_text(head: bytes) -> bool:
    """UTF-16/32 without a byte-order mark: text with a NUL beside every character."""
    if len(head) < 4:
        return False
    return any(all(b == 0 for b in head[i::2]) and any(head[1 - i::2]) for i in (0, 1))


def _where(event: Any) -> str:
    mark = getattr(event, "start_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""


def check_structure(text: str, source: str | None = None) -> None:
    """Bound depth and alias expansion, and refuse self-references, before composing `text`.

    YAML syntax errors are left for the composer to report with its own message.
    """
    sizes: list[list[Any]] = []  # one [anchor, values so far] per open mapping or list
    anchors: dict[str, Any] = {}  # anchor -> its node's expanded size, or _OPEN while inside it

    def count(n: int, event: Any) -> None:
        if sizes:
            sizes[-1][1] += n
            if sizes[-1][1] > MAX_VALUES:
                raise RecipeError([f"{_where(event)}the YAML aliases here expand to more than "
                                   f"{MAX_VALUES:,} values (an alias bomb?); a recipe needs "
                                   "far fewer"], source=source)

    try:
        for ev in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(sizes) >= MAX_DEPTH:
                    raise RecipeError([f"{_where(ev)}nested more than {MAX_DEPTH} levels deep; a "
                                       "recipe nests a handful of levels"], source=source)
                sizes.append([ev.anchor, 1])
                if ev.anchor is not None:
                    anchors[ev.anchor] = _OPEN
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                anchor, size = sizes.pop()
                if anchor is not None:
                    anchors[anchor] = size
                count(size, ev)
            elif isinstance(ev, yaml.ScalarEvent):
                if ev.style is None and len(ev.value) > 40 and _DIGITS.fullmatch(ev.value):
                    # Python refuses to read integers past 4,300 digits, and no recipe value
                    # needs more than 64 bits: say so here, where the line is known
                    raise RecipeError([f"{_where(ev)}a whole number of {len(ev.value)} digits; "
                                       "numbers in a recipe must fit in 64 bits"], source=source)
                if ev.anchor is not None:
                    anchors[ev.anchor] = 1
                count(1, ev)
            elif isinstance(ev, yaml.AliasEvent):
                size = anchors.get(ev.anchor, 1)  # an undefined alias: the composer says so
                if size is _OPEN:
                    raise RecipeError([f"{_where(ev)}the alias *{ev.anchor} refers to itself "
                                       f"(it sits inside &{ev.anchor}), which would nest "
                                       "forever"], source=source)
                count(size, ev)
    except yaml.YAMLError:
        return


def read_yaml(text: str, source: str | None = None) -> tuple[Any, dict[KeyPath, int]]:
    """(data, line map) of one YAML document, read safely; problems are `RecipeError`s."""
    if len(text) > MAX_BYTES:
        raise RecipeError([f"too large ({len(text):,} characters; the limit is "
                           f"{MAX_BYTES:,})"], source=source)
    check_structure(text, source)
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # (its reader already refuses control characters)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, yaml.reader.ReaderError):  # a control character, at a character
            line = text.count("\n", 0, exc.position) + 1
            where = f"line {line}: "
            problem = (f"the control character {exc.character!r} is not allowed in YAML "
                       "(a binary file?)")
        raise RecipeError([f"{where}not valid YAML: {problem}"], source=source) from None
    except (ValueError, OverflowError) as exc:  # e.g. a date such as 2024-13-45
        raise RecipeError([f"a value could not be read: {exc}"], source=source) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, line_map(node)


def read_yaml_file(path: str | Path) -> tuple[Any, dict[KeyPath, int]]:
    """Read a YAML file safely: size checked before reading, UTF-8 only, see `read_yaml`."""
    path = Path(path)
    try:
        if path.is_file() and path.stat().st_size > MAX_BYTES:
            raise RecipeError([f"too large ({path.stat().st_size:,} bytes; the limit is "
                               f"{MAX_BYTES:,})"], source=str(path))
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)  # also bounds what a device or pipe can feed us
    except IsADirectoryError:
        raise RecipeError([f"expected a file, got a folder: {path}"]) from None
    except OSError as exc:
        raise RecipeError([f"cannot read it: {exc.strerror or exc}"], source=str(path)) from None
    if len(raw) > MAX_BYTES:
        raise RecipeError([f"too large (more than {MAX_BYTES:,} bytes)"], source=str(path))
    return read_yaml(decode(raw, str(path)), str(path))


def line_map(root: yaml.Node | None) -> dict[KeyPath, int]:
    """Map each key path in a composed document to its 1-based line, for error messages.

    An aliased node is walked once, where its anchor is written: following aliases would walk
    an alias bomb's every expansion, and the lines of a copy are the anchor's lines anyway.
    """
    lines: dict[KeyPath, int] = {}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, KeyPath]] = [(root, ())] if root is not None else []
    while stack:  # iterative: a deep document cannot overflow the stack here either
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        children: list[tuple[yaml.Node, KeyPath]] = []
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if not isinstance(k, yaml.ScalarNode):  # a complex key: the composer refuses it
                    continue
                p = (*path, k.value)
                lines.setdefault(p, k.start_mark.line + 1)
                children.append((v, p))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                if id(v) not in seen:
                    lines.setdefault((*path, i), v.start_mark.line + 1)
                children.append((v, (*path, i)))
        stack.extend(reversed(children))  # popped in document order: anchors before aliases
    return lines
