"""YAML files read with the line of every key, and validated, so errors point at file:line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from crewyard.errors import ConfigError, did_you_mean

KeyPath = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


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
        key = ".".join(str(k) for k in key_path) or None
        return ConfigError(message, file=self.path, line=self.line_of(key_path), key=key, hint=hint)


def _walk(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], doc_path: Path) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            if not isinstance(key, str | int | float | bool):
                raise ConfigError(
                    "mapping keys must be plain names",
                    file=doc_path,
                    line=key_node.start_mark.line + 1,
                )
            key = str(key)
            if key in out:
                raise ConfigError(
                    f"key {key!r} appears twice in the same mapping",
                    file=doc_path,
                    line=key_node.start_mark.line + 1,
                    hint="keep one of them",
                )
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _walk(value_node, (*path, key), lines, doc_path)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, (*path, i), lines, doc_path) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def read_yaml(path: Path) -> YamlDoc:
    """Parse one YAML file; malformed YAML becomes a ConfigError with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", file=path) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
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
    if node is None:
        return YamlDoc(path=path, data=None)
    lines: dict[KeyPath, int] = {}
    return YamlDoc(path=path, data=_walk(node, (), lines, path), lines=lines)


def validate(model: type[M], data: Any, doc: YamlDoc, at: KeyPath = ()) -> M:
    """Validate data as model; the first problem becomes a ConfigError at its file:line."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = (*at, *first["loc"])  # list indexes stay ints: their lines are known
        field_name = str(first["loc"][-1]) if first["loc"] else ""
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
