"""Fuzzing `--dry-run` (in-process) with generated hostile crew folders and models.yaml files:
random bytes, text in other encodings, alias bombs and loops, deep nesting, huge files and
numbers, wrong types, nulls, bad keys and tags, tabs, duplicate keys and broken syntax, under
a BOM and any line endings. Every case must exit 2 with an `error:` naming the broken file,
print no traceback, and finish within CASE_SECONDS. The generator is seeded: a failure names
its case, and the same seed makes it again."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from crewyard.cli import main
from crewyard.crews.yamlfile import MAX_DEPTH, MAX_FILE_BYTES, MAX_VALUES
from crewyard.settings import Settings
from tests.conftest import cli_uses

SEED = 20_251_129
CASES = 256  # a multiple of the number of kinds (16), so each kind gets as many cases
CASE_SECONDS = 2.0  # per case, generous for a busy 2-core machine; most take milliseconds
LIST_CRAWL = 48  # crews given to one `--list` as well

# Each file of a working crew, with three slots a case may fill: @STR (a string key),
# @NUM (a number key) and @ANY (a place where any value is accepted, or never checked).
TEMPLATES = {
    "crew.yaml": (
        "description: @STR\nagents: [a]\ntasks: [t]\nbudget:\n  max_cost_usd: @NUM\n"
        "inputs:\n  topic:\n    type: str\n  extra:\n    type: list\n    required: false\n"
        "    default:\n      - @ANY\n"
    ),
    "agents.yaml": (
        "a:\n  role: R\n  goal: Find {topic}\n  backstory: @STR\n  max_iter: @NUM\n"
        "unused:\n  - @ANY\n"
    ),
    "tasks.yaml": (
        "t:\n  description: Write about {topic}\n  expected_output: @STR\n  agent: a\n"
        "  guardrails:\n    min_length: @NUM\nunused:\n  - @ANY\n"
    ),
    "models.yaml": (
        "aliases:\n  standard:\n    model: @STR\n    timeout: @NUM\n    script:\n      - @ANY\n"
        "  fast: {model: scripted/main}\n  smart: {model: scripted/main}\n"
    ),
}
GOOD = {"@STR": "scripted/main", "@NUM": "3", "@ANY": "x"}
FILES = list(TEMPLATES)


@dataclass
class Case:
    index: int
    kind: str
    target: str  # the one broken file; the others are the working crew's
    data: bytes | int | None  # int: a sparse file of that size; None: a folder, not a file
    detail: str

    def __str__(self) -> str:
        return f"case {self.index} ({self.kind} in {self.target}: {self.detail})"


def fill(target: str, **slots: str) -> str:
    text = TEMPLATES[target]
    for slot, good in GOOD.items():
        text = text.replace(slot, slots.get(slot.strip("@").lower(), good))
    return text


def dress(rng: random.Random, text: str) -> bytes:
    """The same YAML under a BOM, or with CRLF, CR or mixed line endings (or as it is)."""
    ends = rng.choice(["\n", "\r\n", "\r", "mixed"])
    lines = text.split("\n")
    if ends == "mixed":
        text = "".join(line + rng.choice(["\n", "\r\n", "\r"]) for line in lines[:-1]) + lines[-1]
    else:
        text = ends.join(lines)
    return (("\ufeff" if rng.random() < 0.3 else "") + text).encode("utf-8")


def _random_bytes(rng: random.Random, target: str) -> tuple[bytes, str]:
    data = rng.randbytes(rng.choice([1, 7, 64, 512, 4096]))
    bad = rng.choice([b"\xff", b"\x00", b"\xc3(", b"\x80", b"\xed\xa0\x80"])
    at = rng.randrange(len(data) + 1)
    return data[:at] + bad + data[at:], f"{len(data)} random bytes and {bad!r} at {at}"


def _bad_bytes_in_text(rng: random.Random, target: str) -> tuple[bytes, str]:
    data = dress(rng, fill(target))
    bads = [b"\xff", b"\xfe", b"\x80", b"\xc0\xaf", b"\x00", b"\x07", b"\x1b", b"\x7f", b"\x0c"]
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(data) + 1)
        data = data[:at] + rng.choice(bads) + data[at:]
    return data, "bytes that are not UTF-8 text, or control characters"


def _other_encoding(rng: random.Random, target: str) -> tuple[bytes, str]:
    codec = rng.choice(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252+é", "latin-1+ÿ"])
    text = fill(target, str="Café crème ÿ")
    return text.encode(codec.split("+")[0]), codec


def _alias_bomb(rng: random.Random, target: str) -> tuple[bytes, str]:
    width = rng.randint(3, 12)
    levels = 1
    while width**levels <= MAX_VALUES:
        levels += 1
    levels += rng.randint(0, 4)
    mapping = rng.random() < 0.4
    parts = []
    for level in range(levels):
        item = f"*l{level - 1}" if level else "lol"
        items = [f"k{i}: {item}" for i in range(width)] if mapping else [item] * width
        parts.append(f"&l{level} " + ("{%s}" if mapping else "[%s]") % ", ".join(items))
    return dress(rng, fill(target, any="[" + ", ".join(parts) + "]")), f"{width}^{levels}"


def _alias_loop(rng: random.Random, target: str) -> tuple[bytes, str]:
    loop = rng.choice(["&a [*a]", "&a {k: *a}", "&a {<<: *a}", "&a [x, [y, {z: *a}]]", "*nowhere"])
    return dress(rng, fill(target, any=loop)), loop


def _deep(rng: random.Random, target: str) -> tuple[bytes, str]:
    depth = rng.choice([MAX_DEPTH + 1, MAX_DEPTH + rng.randint(2, 50), 1000, 5000, 50_000])
    style = rng.choice(["[", "{a: ", "- ", "[unclosed", "{k: [", "mixed"])
    if style == "mixed":
        value = "".join(rng.choice(["[", "[[", "{a: "]) for _ in range(depth // 2 + 1))
    elif style == "[unclosed":
        value = "[" * depth
    elif style == "{k: [":
        value = "{k: [" * (depth // 2 + 1) + "x" + "]}" * (depth // 2 + 1)
    else:
        closer = {"[": "]", "{a: ": "}", "- ": ""}[style]
        value = style * depth + "x" + closer * depth
    return dress(rng, fill(target, any=value)), f"{depth} levels of {style!r}"


def _huge_file(rng: random.Random, target: str) -> tuple[bytes | int, str]:
    extra = rng.randint(1, 4096)
    how = rng.choice(["string", "lines", "comment", "sparse"])
    if how == "string":
        return fill(target, str="x" * (MAX_FILE_BYTES + extra)).encode(), f"+{extra} in a string"
    if how == "lines":
        lines = "".join(f"k{i}: v\n" for i in range(MAX_FILE_BYTES // 7 + extra))
        return (fill(target) + lines).encode(), "many short lines"
    if how == "comment":
        return (fill(target) + "#" * (MAX_FILE_BYTES + extra)).encode(), "a long comment"
    return MAX_FILE_BYTES * rng.randint(2, 50), "a sparse file past the limit"


def _huge_number(rng: random.Random, target: str) -> tuple[bytes, str]:
    number = rng.choice(
        [
            "9" * rng.randint(20, 6000),
            "-" + "9" * rng.randint(20, 300),
            "0x" + "f" * rng.randint(17, 200),
            "0b" + "1" * rng.randint(64, 400),
            ":".join(["1"] * rng.randint(12, 30_000)),
            "1_000" * rng.randint(7, 2000),
            f"1.0e+{rng.randint(309, 99_999)}",
            f"-9.9e+{rng.randint(309, 999)}",
            rng.choice([".inf", "-.inf", ".Inf", "+.INF", ".nan", ".NaN"]),
        ]
    )
    return dress(rng, fill(target, num=number)), number[:30]


_WRONG = {
    "str": ["[a, b]", "{a: 1}", "~", "12", "3.5", "true", "[]", "{}"],
    "num": ["[1]", "{a: 1}", "abc", "-5", "'1e400'", "[]", "0x", "1e400"],
}


def _wrong_type(rng: random.Random, target: str) -> tuple[bytes, str]:
    where = rng.choice(["str", "num", "root", "entry"])
    if where in _WRONG:
        value = rng.choice(_WRONG[where])
        return dress(rng, fill(target, **{where: value})), f"{where} slot = {value}"
    if where == "root":
        text = rng.choice(["- a\n- b\n", "just text\n", "42\n", "[1, 2]\n", "true\n"])
        return dress(rng, text), f"the whole file is {text.strip()}"
    entry = {
        "crew.yaml": ["description: x\nagents: a b\n", "inputs: [topic]\n", "budget: 5\n"],
        "agents.yaml": ["a: [R, G, B]\n", "a: ~\n", "a: 5\n", "a: {role: [R]}\n"],
        "tasks.yaml": ["t: ~\n", "t: [x]\n", "t: {description: {a: 1}}\n"],
        "models.yaml": ["aliases: ~\n", "aliases: [a]\n", "aliases: {standard: ~}\n", "~\n"],
    }[target]
    text = rng.choice(entry)
    return dress(rng, text), text.strip()


def _nulls(rng: random.Random, target: str) -> tuple[bytes, str]:
    lines = []
    for line in fill(target).split("\n"):
        key, sep, value = line.partition(": ")
        lines.append(f"{key}: ~" if sep and value else line)
    return dress(rng, "\n".join(lines)), "every value null"


def _bad_key(rng: random.Random, target: str) -> tuple[bytes, str]:
    key = rng.choice(
        [
            *["? [a, b]\n: x", "? {a: 1}\n: x", "~: x", "[a]: x", "{a: 1}: x", "<<: [x]"],
            *["? !!binary aGk=\n: x", "? .inf\n: x", "? " + "9" * 40 + "\n: x", "<<: 5"],
            "? &k [a]\n: x",
        ]
    )
    text = fill(target)
    at = rng.choice([0, text.index("\n", text.index("\n") + 1) + 1, len(text)])
    at = at if target != "models.yaml" else 0
    return dress(rng, text[:at] + key + "\n" + text[at:]), key.replace("\n", " ")


def _tabs(rng: random.Random, target: str) -> tuple[bytes, str]:
    lines = fill(target).split("\n")
    indented = [i for i, line in enumerate(lines) if line.startswith("  ")]
    i = rng.choice(indented)
    tab = rng.choice(["\t", "  \t", "\t  "])
    lines[i] = tab + lines[i].lstrip(" ")
    return dress(rng, "\n".join(lines)), f"a tab indents line {i + 1}"


def _duplicate_key(rng: random.Random, target: str) -> tuple[bytes, str]:
    lines = fill(target).split("\n")
    keys = [i for i, line in enumerate(lines) if ":" in line and not line.lstrip().startswith("-")]
    i = rng.choice(keys)
    lines.insert(i, lines[i])
    return dress(rng, "\n".join(lines)), f"line {i + 1} twice"


def _bad_tag(rng: random.Random, target: str) -> tuple[bytes, str]:
    tag = rng.choice(
        [
            *["!!binary aGVsbG8=", "!!python/object/apply:os.system [echo hi]", "!custom x"],
            *["!!python/name:os.system ''", "!!int x", "!!float x", "!!bool maybe", "!!null x"],
            *["!!str [a]", "!!map x", "!<tag:evil.example,2024:x> y", "!!seq x", "!!set [a]"],
        ]
    )
    return dress(rng, fill(target, str=tag)), tag


def _broken_syntax(rng: random.Random, target: str) -> tuple[bytes, str]:
    broken = rng.choice(
        [
            *["[unclosed", "{a", '"open', "'open", "a: b: c", "@x", "`x`", "&", "*", "%x"],
            *["x\n---\nb: 1", "x\n- item", "{a: 1, a}", "[a, ]]", "x\n...\nmore: 1"],
            ">\n x\n  - y: z",
        ]
    )
    return dress(rng, fill(target, str=broken)), broken.replace("\n", " ")


def _not_a_file(rng: random.Random, target: str) -> tuple[bytes | None, str]:
    return None, "a folder where the file should be"


KINDS: dict[str, Callable[[random.Random, str], tuple[bytes | int | None, str]]] = {
    "random bytes": _random_bytes,
    "bad bytes in text": _bad_bytes_in_text,
    "other encoding": _other_encoding,
    "alias bomb": _alias_bomb,
    "alias loop": _alias_loop,
    "deep nesting": _deep,
    "huge file": _huge_file,
    "huge number": _huge_number,
    "wrong type": _wrong_type,
    "nulls": _nulls,
    "bad key": _bad_key,
    "tabs": _tabs,
    "duplicate key": _duplicate_key,
    "bad tag": _bad_tag,
    "broken syntax": _broken_syntax,
    "not a file": _not_a_file,
}
KIND_TARGETS = {"not a file": ["models.yaml"]}  # (a crew file that is a folder is skipped)


def generate(seed: int = SEED, count: int = CASES) -> list[Case]:
    rng = random.Random(seed)
    kinds = list(KINDS)
    cases = []
    for index in range(count):
        kind = kinds[index % len(kinds)]
        target = rng.choice(KIND_TARGETS.get(kind, FILES))
        data, detail = KINDS[kind](rng, target)
        cases.append(Case(index, kind, target, data, detail))
    return cases


def write(case: Case, crews_dir: Path, root: Path) -> tuple[str, Path, Path]:
    """The case's crew folder and models.yaml: (crew name, models.yaml, the broken path)."""
    name = f"case{case.index:03d}"
    folder = crews_dir / name
    folder.mkdir()
    models = root / "models" / f"{name}.yaml"
    models.parent.mkdir(exist_ok=True)
    for file in FILES:
        path = models if file == "models.yaml" else folder / file
        if file != case.target:
            path.write_text(fill(file), encoding="utf-8")
        elif case.data is None:
            path.mkdir()
        elif isinstance(case.data, int):
            with path.open("wb") as fh:
                fh.truncate(case.data)
        else:
            path.write_bytes(case.data)
    return name, models, models if case.target == "models.yaml" else folder / case.target


def test_the_working_crew_of_the_templates_runs(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The base the fuzzer breaks is a crew that works, so each case fails only by its file."""
    case = Case(0, "none", "none", b"", "")
    name, models, _ = write(case, settings.crews_dir, settings.data_dir.parent)
    cli_uses(settings, monkeypatch)
    monkeypatch.setenv("CREWYARD_MODELS_FILE", str(models))
    assert main(["--crew", name, "--dry-run", "--input", "topic=x"]) == 0
    assert "1. t (a)" in capsys.readouterr().out


def test_generated_hostile_crew_files_exit_2_with_a_message_and_no_traceback(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = generate()
    assert len(cases) >= 200 and {c.kind for c in cases} == set(KINDS)
    cli_uses(settings, monkeypatch)
    failures: list[str] = []
    slowest = (0.0, "")
    for case in cases:
        name, models, broken = write(case, settings.crews_dir, settings.data_dir.parent)
        monkeypatch.setenv("CREWYARD_MODELS_FILE", str(models))
        started = time.monotonic()
        try:
            code = main(["--crew", name, "--dry-run", "--input", "topic=x"])
        except BaseException as exc:  # a crash is what the fuzzer looks for
            code = f"{type(exc).__name__}: {exc}"  # type: ignore[assignment]
        took = time.monotonic() - started
        slowest = max(slowest, (took, str(case)))
        out, err = capsys.readouterr()
        problems = [
            f"exit {code!r}" if code != 2 else "",
            "no 'error:' first" if not err.startswith("error: ") else "",
            "a traceback" if "Traceback" in out + err else "",
            f"{took:.2f} s" if took > CASE_SECONDS else "",
            "the broken file is not named" if str(broken) not in err else "",
        ]
        if any(problems):
            failures.append(f"{case}: {', '.join(p for p in problems if p)}\n    {err[:300]!r}")
    assert not failures, f"{len(failures)} of {len(cases)} failed:\n" + "\n".join(failures)
    assert slowest[0] < CASE_SECONDS, slowest


def test_list_survives_a_folder_of_hostile_crews(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [c for c in generate(SEED + 1, LIST_CRAWL * 2) if c.target != "models.yaml"]
    for case in cases:
        write(case, settings.crews_dir, settings.data_dir.parent)
    cli_uses(settings, monkeypatch)
    started = time.monotonic()
    assert main(["--list"]) == 0
    assert time.monotonic() - started < CASE_SECONDS * 5
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    listed = [line for line in out.splitlines() if line.startswith("case")]
    assert len(listed) == len(cases) and all("(broken: " in line for line in listed), out
