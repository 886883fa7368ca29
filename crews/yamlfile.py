"""YAML files read with the line of every key, and validated, so errors point at file:line.

Crew files, library files, models.yaml and inputs files are read within limits, each broken
one a ConfigError with the file, the line where known, and a fix: a size checked before the
file is read, UTF-8 text only, a nesting depth, and a count of values that includes what
aliases expand to (so an alias bomb stops at once). What is read is plain JSON-like data:
dicts with str keys, lists, str, int (within int64), finite float, bool and None."""

from __future__ import annotations

import codecs
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from crewyard.errors import ConfigError, did_you_mean

MAX_FILE_BYTES = 1024 * 1024  # one file; crew files are a few KB (checked before reading)
MAX_DEPTH = 64  # lists and mappings inside each other; crew files need about 10
MAX_VALUES = 20_000  # scalars, lists and mappings, counting each alias as what it expands to
MAX_INT = 2**63 - 1  # the largest integer an engine or a provider API takes
MAX_INT_CHARS = 100  # an integer written longer is refused before it is converted

KeyPath = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null")}
_MAPPING_TAGS = {f"{_TAG}map", f"{_TAG}set"}
_SEQUENCE_TAGS = {f"{_TAG}seq", f"{_TAG}omap", f"{_TAG}pairs"}
_BREAKS = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_UTF8_HINT = "save the file as UTF-8 text (crew files, models.yaml and inputs files are text)"


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML file plus the 1-based line of each key path in it."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, key_path: KeyPath) -> int | None:
        """The line of the deepest known ancestor of key_path (or the path itself)."""
        probe = tuple(key_path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), None)

    def error(self, message: str, key_path: KeyPath = (), hint: str | None = None) -> ConfigError:
        key = ".".join(short(str(k), 60) for k in key_path) or None
        return ConfigError(message, file=self.path, line=self.line_of(key_path), key=key, hint=hint)


def short(text: str, most: int = 80) -> str:
    """text cut to most characters, for messages that quote what a file holds."""
    return text if len(text) <= most else text[: most - 1] + "…"


def line_at(text: str, index: int) -> int:
    """The 1-based line of text[index], counting line breaks as YAML does."""
    return len(_BREAKS.findall(text, 0, index)) + 1


def too_deep(path: Path | str, line: int | None = None) -> ConfigError:
    return ConfigError(
        f"lists and mappings are nested more than {MAX_DEPTH} levels deep",
        file=path,
        line=line,
        hint="flatten the structure; crew files, models.yaml and inputs need a few levels",
    )


def too_many(path: Path | str, line: int | None = None, aliases: bool = False) -> ConfigError:
    hint = "split it up; a crew needs far fewer"
    if aliases:
        hint = "each *alias repeats all its &anchor holds; use fewer aliases or write values out"
    what = "aliases expand to" if aliases else "the file holds"
    return ConfigError(f"{what} more than {MAX_VALUES} values", file=path, line=line, hint=hint)


def read_text(path: Path, what: str = "the file", max_bytes: int = MAX_FILE_BYTES) -> str:
    """A file's UTF-8 text (a BOM is dropped); its size is checked before it is read."""
    try:
        if not path.is_file():
            if path.exists():
                raise ConfigError(
                    f"{what} is not a regular file", file=path, hint="point at a text file"
                )
        elif (size := path.stat().st_size) > max_bytes:
            raise _too_big(path, what, size, max_bytes)
        with path.open("rb") as fh:
            raw = fh.read(max_bytes + 1)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"cannot read {what}: {reason}", file=path) from exc
    if len(raw) > max_bytes:
        raise _too_big(path, what, len(raw), max_bytes)
    return decode(raw, path)


def _too_big(path: Path, what: str, size: int, most: int) -> ConfigError:
    return ConfigError(
        f"{what} is too large: {size / 2**20:.1f} MiB ({size} bytes); the limit is {most} bytes",
        file=path,
        hint="keep crew files, models.yaml and inputs small; put long texts in the files a "
        "crew reads or writes",
    )


def decode(raw: bytes, path: Path | str) -> str:
    """raw as UTF-8 text, or a ConfigError at the first byte or character that is not text."""
    if raw.startswith(_WIDE_BOMS):
        wide = "UTF-32" if raw.startswith(_WIDE_BOMS[:2]) else "UTF-16"
        raise ConfigError(f"the file is {wide} text, not UTF-8", file=path, hint=_UTF8_HINT)
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        text = raw[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = bom + exc.start  # the bytes before it are UTF-8
        binary = " (it looks like a binary file)" if b"\0" in raw[:8192] else ""
        raise ConfigError(
            f"not UTF-8 text: byte 0x{raw[at]:02x} at offset {at}{binary}",
            file=path,
            line=line_at(raw[bom:at].decode("utf-8"), at),
            hint=_UTF8_HINT,
        ) from None
    bad = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if bad:
        char = ord(bad.group())
        binary = " (it looks like a binary file)" if "\0" in text[:8192] else ""
        raise ConfigError(
            f"control character U+{char:04X} is not allowed{binary}",
            file=path,
            line=line_at(text, bad.start()),
            hint=f"remove it, or write it as \\u{char:04x} inside double quotes; " + _UTF8_HINT,
        )
    return text


class _Loader(yaml.SafeLoader):
    """The safe loader, counting nodes and depth as it composes (aliases are not expanded
    here, so a bomb is small until _Walk meets it)."""

    def __init__(self, text: str, path: Path) -> None:
        super().__init__(text)
        self.doc_path = path
        self.nodes = 0
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self.nodes += 1
        self.depth += 1
        try:
            if self.nodes > MAX_VALUES or self.depth > MAX_DEPTH:
                line = self.peek_event().start_mark.line + 1  # type: ignore[no-untyped-call]
                if self.depth > MAX_DEPTH:
                    raise too_deep(self.doc_path, line)
                raise too_many(self.doc_path, line)
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        finally:
            self.depth -= 1


class _Walk:
    """Nodes → plain data and the line of every key path; aliases expand within the limits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[KeyPath, int] = {}
        self.values = 0
        self.seen: set[int] = set()  # lists and mappings met before: what aliases point at
        self.inside: set[int] = set()  # the lists and mappings being walked
        self.aliases = False
        self.constructor = yaml.constructor.SafeConstructor()

    def error(self, node: yaml.Node, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(message, file=self.path, line=node.start_mark.line + 1, hint=hint)

    def value(self, node: yaml.Node, path: KeyPath, depth: int) -> Any:
        line = node.start_mark.line + 1
        self.lines.setdefault(path, line)
        self.values += 1
        if self.values > MAX_VALUES:
            raise too_many(self.path, line, self.aliases)
        if depth > MAX_DEPTH:
            raise too_deep(self.path, line)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        ident = id(node)
        if ident in self.inside:
            raise self.error(
                node,
                "an alias (*name) points at a list or mapping that contains itself",
                "point the alias at an anchor (&name) outside it",
            )
        self.aliases |= ident in self.seen
        self.seen.add(ident)
        self.inside.add(ident)
        try:
            if isinstance(node, yaml.MappingNode) and node.tag in _MAPPING_TAGS:
                return self.mapping(node, path, depth)
            if isinstance(node, yaml.SequenceNode) and node.tag in _SEQUENCE_TAGS:
                return [
                    self.value(item, (*path, i), depth + 1) for i, item in enumerate(node.value)
                ]
            raise self.unsupported(node)
        finally:
            self.inside.discard(ident)

    def unsupported(self, node: yaml.Node) -> ConfigError:
        return self.error(
            node,
            f"the tag {short(node.tag.replace(_TAG, '!!'), 60)} is not supported here",
            "remove the tag (!…); quote the value to keep it as text",
        )

    def mapping(self, node: yaml.MappingNode, path: KeyPath, depth: int) -> dict[str, Any]:
        explicit: dict[str, Any] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == f"{_TAG}merge":
                merges.append(value_node)
                continue
            key = self.key(key_node)
            if key in explicit:
                raise self.error(
                    key_node, f"key {short(key)!r} appears twice in the same mapping", "keep one"
                )
            self.lines.setdefault((*path, key), key_node.start_mark.line + 1)
            explicit[key] = self.value(value_node, (*path, key), depth + 1)
        merged: dict[str, Any] = {}
        for value_node in merges:  # `<<: *base`: the mapping's own keys win, then the first
            many = isinstance(value_node, yaml.SequenceNode)
            for source in value_node.value if many else [value_node]:
                if not isinstance(source, yaml.MappingNode):
                    raise self.error(
                        source,
                        "`<<` merges a mapping into this one, and this is not a mapping",
                        "write <<: *name (or <<: [*a, *b]) where &name anchors a mapping",
                    )
                for key, value in self.value(source, path, depth).items():
                    merged.setdefault(key, value)
        return {**merged, **explicit} if merged else explicit

    def key(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.ScalarNode):
            key = node.value if node.tag == f"{_TAG}value" else self.scalar(node)
            if isinstance(key, str | int | float | bool):
                return str(key)
        raise self.error(
            node,
            "mapping keys must be plain names",
            "write a name such as `writer:`; a list, a mapping or null cannot be a key",
        )

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == f"{_TAG}timestamp":
            return node.value  # a date is kept as the text it was written as
        if node.tag not in _SCALAR_TAGS:
            raise self.unsupported(node)
        number_hint = "write a smaller number, or quote it to keep it as text"
        if node.tag == f"{_TAG}int" and len(node.value) > MAX_INT_CHARS:
            raise self.error(node, f"number {short(node.value, 40)} is too large", number_hint)
        try:
            value = self.constructor.construct_object(node)
        except Exception as exc:  # PyYAML's constructors raise many kinds on odd scalars
            problem = getattr(exc, "problem", None) or f"{type(exc).__name__}: {exc}"
            raise self.error(
                node,
                f"cannot read {short(node.value, 40)!r} as {node.tag.removeprefix(_TAG)}: "
                f"{short(problem)}",
                "quote the value to keep it as text",
            ) from None
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            message = f"number {short(node.value, 40)} is too large (at most {MAX_INT})"
            raise self.error(node, message, number_hint)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(
                node,
                f"{short(node.value, 40)} is not a finite number",
                "write a finite number (leave a limit out for none), or quote it as text",
            )
        return value


def parse_yaml(text: str, path: Path) -> YamlDoc:
    """Parse YAML text read from path; malformed YAML or a broken limit is a ConfigError."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text, path)  # its reader refuses control characters
        node = loader.get_single_node()  # type: ignore[no-untyped-call]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(
            f"malformed YAML: {exc.problem or exc.context}",
            file=path,
            line=line,
            hint="check indentation and quoting near that line "
            "(values with ':' or '{' need quotes)",
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"malformed YAML: {exc}", file=path) from exc
    except RecursionError:
        raise too_deep(path) from None
    finally:
        if loader is not None:
            loader.dispose()  # type: ignore[no-untyped-call]
    if node is None:
        return YamlDoc(path=path, data=None)
    walk = _Walk(path)
    return YamlDoc(path=path, data=walk.value(node, (), 1), lines=walk.lines)


def read_yaml(path: Path) -> YamlDoc:
    """Read and parse one YAML file within the limits above."""
    return parse_yaml(read_text(path), path)


def validate(model: type[M], data: Any, doc: YamlDoc, at: KeyPath = ()) -> M:
    """Validate data as model; the first problem becomes a ConfigError at its file:line."""
    try:
        result = model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = (*at, *first["loc"])  # list indexes stay ints: their lines are known
        field_name = short(str(first["loc"][-1]), 60) if first["loc"] else ""
        hint = None
        if first["type"] == "extra_forbidden":
            owner = _model_at(model, first["loc"][:-1])
            known = [n for n in owner.model_fields if n != "extends"]
            hint = did_you_mean(field_name, known) or f"known keys: {', '.join(known)}"
            message = f"unknown key {field_name!r}"
        elif first["type"] == "missing":
            message = f"missing required key {field_name!r}"
            hint = f"add {field_name}: … here"
        else:
            message = first["msg"].removeprefix("Value error, ")
        more = len(exc.errors()) - 1
        if more:
            message += f" (and {more} more problem{'s' if more > 1 else ''} in this file)"
        raise doc.error(message, loc, hint) from None
    except Exception as exc:  # a checker (a regex, a JSON Schema) broke on a value
        raise doc.error(
            f"cannot check this entry: {type(exc).__name__}: {short(str(exc), 200)}",
            at,
            "a value here breaks its check; look at its regexes and JSON Schemas",
        ) from None
    if (bad := _non_finite(result.model_dump(), ())) is not None:  # pydantic reads "1e400" as inf
        raise doc.error(
            f"{bad[1]} is not a finite number",
            (*at, *bad[0]),
            "write a finite number (leave a limit out for none)",
        )
    return result


def _non_finite(value: Any, path: KeyPath) -> tuple[KeyPath, float] | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, value)
    pairs = list(value.items() if isinstance(value, dict) else [])
    pairs += list(enumerate(value)) if isinstance(value, list | tuple) else []
    for key, item in pairs:
        if (found := _non_finite(item, (*path, key))) is not None:
            return found
    return None


def _unwrap_optional(tp: Any) -> Any:
    args = [a for a in get_args(tp) if a is not type(None)]
    return args[0] if get_origin(tp) in (Union, UnionType) and len(args) == 1 else tp


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The (nested) model class that owns the field at loc, for 'did you mean' hints."""
    current: Any = model
    for part in loc:
        current = _unwrap_optional(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            current = field.annotation if field else current
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        elif get_origin(current) in (tuple, list):
            current = get_args(current)[0]
    current = _unwrap_optional(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else model
