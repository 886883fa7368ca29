"""The house: every module sits in a layer, imports only from its own layer or below, and the
import graph has no cycles — function-level imports included, typing-only ones excluded."""

from __future__ import annotations

import ast
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# crews/, agents/, tasks/, tools/ and memory/ sit at the top of the tree and are imported as
# crewyard.crews, … (crewyard/ holds a link to each), so no folder of a user's shadows them.

# Lowest first. A module may import from its own layer and the layers before it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "kernel",
        (
            "crewyard.errors",
            "crewyard.redact",
            "crewyard.settings",
            "crewyard.environ",
            "crewyard.plugins",
        ),
    ),
    ("crew files", ("crewyard.agents", "crewyard.tasks", "crewyard.tools", "crewyard.crews")),
    ("gateway and memory", ("crewyard.gateway", "crewyard.memory")),
    ("run records", ("crewyard.runs",)),
    ("observing", ("crewyard.observe",)),
    ("asking people", ("crewyard.human",)),
    ("a run's context", ("crewyard.context", "crewyard.guardrails", "crewyard.recall")),
    ("engines", ("crewyard.engines",)),
    ("plans", ("crewyard.plan",)),
    ("dispatcher", ("crewyard.dispatcher", "crewyard.outcome")),
    ("evaluating crews", ("crewyard.evals",)),
    ("durable runs", ("crewyard.durable",)),
    ("mcp server", ("crewyard.mcp_server",)),
    ("run viewer", ("crewyard.ui",)),
    ("front doors", ("crewyard.cli", "=crewyard", "=crewyard.__main__", "=main")),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {"main": ROOT / "main.py"}
    for folder, _, files in os.walk(ROOT / "crewyard", followlinks=True):
        found.update(
            {module_name(Path(folder) / f): Path(folder) / f for f in files if f.endswith(".py")}
        )
    return found


def layer_of(module: str) -> int:
    for number, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            exact = prefix.startswith("=")
            name = prefix.lstrip("=")
            if module == name or (not exact and module.startswith(name + ".")):
                return number
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")


def _typing_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, known: dict[str, Path], here: str) -> set[str]:
    """Our modules that path imports at run time (at the top or inside functions)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _typing_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m in known and m != here}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(path, known, name) for name, path in known.items()}


def test_every_import_points_down_or_sideways() -> None:
    upward = [
        f"{src} ({LAYERS[layer_of(src)][0]}) imports {dst} ({LAYERS[layer_of(dst)][0]})"
        for src, targets in graph().items()
        for dst in sorted(targets)
        if layer_of(dst) > layer_of(src)
    ]
    assert upward == []


def test_the_import_graph_has_no_cycles() -> None:
    edges = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_the_checks_see_what_they_claim_to() -> None:
    """The walker finds function-level imports and skips typing-only ones, and the folders
    at the top of the tree are seen under their crewyard names."""
    edges = graph()
    assert "crewyard.crews.loader" in edges and "crewyard.memory.store" in edges
    assert not any(name.startswith(("crews", "tools", "memory")) for name in edges)
    assert "crewyard.engines.crewai_engine" in edges["crewyard.engines"]  # inside run()
    assert "crewyard.context" not in edges["crewyard.engines"]  # under TYPE_CHECKING
    assert layer_of("crewyard.gateway.core") > layer_of("crewyard.crews.loader")
    assert layer_of("crewyard") == layer_of("crewyard.cli.run") > layer_of("crewyard.dispatcher")


def test_files_fit_in_a_head() -> None:
    long = {
        name: n
        for name, path in modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}
