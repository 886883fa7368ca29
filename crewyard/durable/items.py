"""What a batch runs: one item per line of a JSONL file, row of a CSV file, or entry of a
YAML/JSON list. Each item's keys are the crew's inputs (converted to their declared types and
checked like --input values); an `id` key or column names the item, else a hash of its inputs
does — the item's idempotency key: an item is never run twice."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crewyard.crews.inputs import resolve_inputs
from crewyard.crews.spec import CrewSpec
from crewyard.crews.yamlfile import decode, read_yaml
from crewyard.errors import ConfigError, InputError, did_you_mean

MAX_BATCH_BYTES = 256 * 1024 * 1024  # a JSONL or CSV file; read line by line
MAX_ITEMS = 100_000
ID_KEY = "id"


@dataclass(frozen=True)
class BatchItem:
    id: str  # the item's own id, or a hash of its inputs
    inputs: dict[str, Any]  # resolved: converted, defaults applied, checked
    line: int  # where it is in the file (1-based line, row or list entry)


def read_items(path: Path, spec: CrewSpec) -> list[BatchItem]:
    """Every item of the file, checked against the crew's inputs; an InputError names the
    file and line of the first bad one. Two items with one id are an error too."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        raw = _jsonl(path)
    elif suffix == ".csv":
        raw = _csv(path)
    elif suffix in (".json", ".yaml", ".yml"):
        raw = _listed(path)
    else:
        raise InputError(
            f"cannot tell what {path.name} holds",
            file=path,
            hint="give a .jsonl (an object per line), .csv (a header row of input names) or "
            ".json/.yaml file (a list of objects)",
        )
    return _checked(raw, spec, path)


def items_of(values: list[Any], spec: CrewSpec) -> list[BatchItem]:
    """Items given as a list of input mappings (notebooks); errors name the entry (1-based)."""
    if not isinstance(values, list | tuple):
        raise InputError(
            f"batch items are a list of input mappings, not a {type(values).__name__}",
            hint='crewyard.batch("research", [{"topic": "…"}, …])',
        )
    return _checked(list(enumerate(values, 1)), spec, Path("items"))


def _checked(raw: list[tuple[int, Any]], spec: CrewSpec, path: Path) -> list[BatchItem]:
    if not raw:
        raise InputError("the batch has no items", file=path, hint="add at least one item")
    # A batch is written for its crew, and runs many times: a column or key the crew does not
    # take is a typo that would cost every item, so it stops the batch (a single run, like
    # CrewAI's kickoff, ignores an unused input with a warning).
    for line, values in raw:
        unused = (
            [k for k in values if k not in spec.inputs and k != ID_KEY]
            if isinstance(values, dict)
            else []
        )
        if unused:
            raise InputError(
                f"item {line}: crew {spec.name!r} has no input {unused[0]!r}",
                file=path,
                line=line,
                key=unused[0],
                hint=did_you_mean(unused[0], spec.inputs)
                or f"its inputs: {', '.join(spec.inputs) or 'none'}; remove the column",
            )
    items: list[BatchItem] = []
    seen: dict[str, int] = {}
    for line, values in raw:
        item = _item(spec, path, line, values)
        if item.id in seen:
            raise InputError(
                f"item id {item.id!r} is used twice (lines {seen[item.id]} and {line})",
                file=path,
                line=line,
                hint="give each item its own id, or leave ids out (then identical inputs are "
                "one item)",
            )
        seen[item.id] = line
        items.append(item)
    return items


def item_id(inputs: dict[str, Any]) -> str:
    """The id of an item that has none: the same inputs give the same id, on any machine."""
    canonical = json.dumps(inputs, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _item(spec: CrewSpec, path: Path, line: int, values: Any) -> BatchItem:
    if not isinstance(values, dict):
        raise InputError(
            f"item {line} is a {type(values).__name__}, not a mapping of inputs",
            file=path,
            line=line,
        )
    given = dict(values)
    own = given.pop(ID_KEY, None)
    if own is not None and (isinstance(own, bool) or not isinstance(own, str | int)):
        raise InputError(f"item {line}: id must be text or a number", file=path, line=line)
    try:
        inputs = resolve_inputs(spec, given)
    except InputError as exc:
        raise InputError(exc.message, file=path, line=line, key=exc.key, hint=exc.hint) from None
    key = str(own).strip() if own is not None and str(own).strip() else item_id(inputs)
    return BatchItem(key, inputs, line)


def _lines(path: Path) -> list[str]:
    try:
        size = path.stat().st_size
        raw = path.read_bytes() if size <= MAX_BATCH_BYTES else b""
    except OSError as exc:
        raise InputError(f"cannot read the batch file: {exc.strerror}", file=path) from None
    if size > MAX_BATCH_BYTES:
        raise InputError(
            f"the batch file has {size:,} bytes; the limit is {MAX_BATCH_BYTES:,}",
            file=path,
            hint="split it into several batches",
        )
    try:
        return decode(raw, path).splitlines()
    except ConfigError as exc:
        raise InputError(exc.message, file=exc.file, line=exc.line, hint=exc.hint) from None


def _jsonl(path: Path) -> list[tuple[int, Any]]:
    found: list[tuple[int, Any]] = []
    for number, text in enumerate(_lines(path), 1):
        if not text.strip():
            continue
        try:
            found.append((number, json.loads(text)))
        except (ValueError, RecursionError) as exc:
            raise InputError(
                f"line {number} is not a JSON object ({exc})",
                file=path,
                line=number,
                hint='write one object per line: {"topic": "tides"}',
            ) from None
        _count(found, path, number)
    return found


def _csv(path: Path) -> list[tuple[int, Any]]:
    rows = csv.DictReader(io.StringIO("\n".join(_lines(path))))
    found: list[tuple[int, Any]] = []
    try:
        for number, row in enumerate(rows, 2):  # line 1 is the header
            if None in row:
                raise InputError(
                    f"row {number} has more cells than the header names",
                    file=path,
                    line=number,
                )
            found.append((number, {k: v for k, v in row.items() if v not in (None, "")}))
            _count(found, path, number)
    except csv.Error as exc:
        raise InputError(f"not a CSV file: {exc}", file=path, line=rows.line_num) from None
    return found


def _listed(path: Path) -> list[tuple[int, Any]]:
    try:
        doc = read_yaml(path)
    except ConfigError as exc:
        raise InputError(exc.message, file=exc.file, line=exc.line, hint=exc.hint) from None
    if not isinstance(doc.data, list):
        raise InputError(
            "a .json or .yaml batch file holds a list of items",
            file=path,
            hint="- {topic: tides}\n- {topic: moon}",
        )
    return [(doc.line_of((i,)) or i + 1, value) for i, value in enumerate(doc.data)]


def _count(found: list[Any], path: Path, line: int) -> None:
    if len(found) > MAX_ITEMS:
        raise InputError(
            f"the batch has more than {MAX_ITEMS:,} items",
            file=path,
            line=line,
            hint="split it into several batches",
        )
