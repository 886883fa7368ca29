"""`python main.py memory …`: look into the shared memory, and forget from it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from crewyard.cli.args import positive_int
from crewyard.cli.output import print_json, program_name, table
from crewyard.errors import ConfigError

SCOPES = ("short_term", "facts", "entities", "episodes")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{program_name()} memory", description="The memory every crew shares (Qdrant)."
    )
    sub = p.add_subparsers(dest="action")
    ls = sub.add_parser("list", help="items of one scope")
    ls.add_argument("--scope", choices=SCOPES, default="facts")
    ls.add_argument("--crew")
    ls.add_argument("--run")
    ls.add_argument("--limit", type=positive_int, default=20)
    find = sub.add_parser("search", help="closest items to a text, over all scopes")
    find.add_argument("query")
    find.add_argument("--scope", choices=SCOPES, action="append")
    find.add_argument("--crew")
    find.add_argument("-k", type=positive_int, default=8)
    sub.add_parser("stats", help="how many items each scope holds")
    show = sub.add_parser("show", help="one item with its payload")
    show.add_argument("id")
    forget = sub.add_parser("forget", help="forget one item by id, or all matching a filter")
    forget.add_argument("id", nargs="?")
    forget.add_argument("--scope", choices=SCOPES)
    forget.add_argument("--crew")
    forget.add_argument("--run")
    forget.add_argument("--yes", action="store_true", help="do not ask")
    reset = sub.add_parser("reset", help="empty a scope (or --all)")
    reset.add_argument("scope", nargs="?", choices=SCOPES)
    reset.add_argument("--all", action="store_true")
    reset.add_argument("--yes", action="store_true", help="do not ask")
    for action in sub.choices.values():
        action.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfigError(f"{question} needs confirmation", hint="add --yes")
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)  # stdout is the answer's
    if input().strip().lower() not in ("y", "yes"):
        raise ConfigError("nothing was forgotten", hint="answer y to go ahead")


def _print(items: list[Any], as_json: bool) -> None:
    if as_json:
        print_json([i._asdict() for i in items])
        return
    if not items:
        print("nothing found")
    scored = any(i.score is not None for i in items)
    rows = [
        (
            *([f"{i.score:.2f}" if i.score is not None else ""] if scored else []),
            i.scope,
            i.id,
            f"[{i.payload.get('crew', '')}]",
            i.text,
        )
        for i in items
    ]
    # the text gives way first on a narrow terminal; piped, every item's whole text
    for line in table(rows, shrink=(len(rows[0]) - 1,) if rows else ()):
        print(line)


def _said(data: dict[str, Any], text: str, as_json: bool) -> None:
    if as_json:
        print_json(data)
    else:
        print(text)


def run(args: list[str]) -> int:
    from crewyard.memory import open_memory
    from crewyard.memory.store import MemoryStore
    from crewyard.settings import Settings

    ns = parser().parse_args(args or ["stats"])
    settings = Settings.for_command_line()
    store = open_memory(settings)
    if not isinstance(store, MemoryStore):
        raise ConfigError(
            f"the memory backend {settings.memory_backend!r} has no admin commands",
            hint="use the backend's own tools, or CREWYARD_MEMORY_BACKEND=qdrant",
        )
    action = ns.action or "stats"
    if action == "stats":
        stats = store.stats()
        if ns.json:
            print_json(stats)
        else:
            print("\n".join(table(list(stats.items()), right=(1,))) + f"\n(store: {store.where})")
    elif action == "list":
        _print(store.items(ns.scope, limit=ns.limit, crew=ns.crew, run_id=ns.run), ns.json)
    elif action == "search":
        scopes = tuple(ns.scope or SCOPES)
        _print(store.search(ns.query, scopes=scopes, k=ns.k, crew=ns.crew), ns.json)
    elif action == "show":
        item = store.get(ns.id)
        if item is None:
            raise ConfigError(f"no memory item {ns.id!r}", hint="find ids with `memory search`")
        print_json(item._asdict())
    elif action == "forget":
        if ns.id:
            if not store.forget(ns.id):
                raise ConfigError(f"no memory item {ns.id!r}", hint="find ids with `memory search`")
            _said({"forgot": 1, "id": ns.id}, f"forgot {ns.id}", ns.json)
        else:
            if not ns.scope and not ns.run:
                raise ConfigError(
                    "forget needs an id, --run RUN_ID (what one run taught), or --scope with "
                    "--crew/--run",
                    hint=f"{program_name()} memory forget --run RUN_ID",
                )
            scopes = (ns.scope,) if ns.scope else SCOPES
            what = ", ".join(scopes)
            _confirm(f"forget every {what} item of crew={ns.crew} run={ns.run}?", ns.yes)
            gone = sum(store.forget_where(s, crew=ns.crew, run_id=ns.run) for s in scopes)
            _said({"forgot": gone}, f"forgot {gone} item(s)", ns.json)
    elif action == "reset":
        scopes = SCOPES if ns.all else (ns.scope,) if ns.scope else ()
        if not scopes:
            raise ConfigError("reset needs a scope or --all", hint="memory reset facts --yes")
        _confirm(f"empty {', '.join(scopes)} in {store.where}?", ns.yes)
        gone = sum(store.reset(s) for s in scopes)
        _said({"forgot": gone, "scopes": list(scopes)}, f"forgot {gone} item(s)", ns.json)
    return 0
