"""Shared memory in Qdrant (the only qdrant_client importer): one collection per scope.

Embedded local mode on disk by default; a Qdrant server when QDRANT_URL is set, same code.
Ids are deterministic (uuid5 of scope and content key), so replaying a task never duplicates
a point."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

from qdrant_client import QdrantClient
from qdrant_client import models as qm

from crewyard.errors import ConfigError
from crewyard.memory.clients import (
    local_client,
    one_at_a_time,
    release_local_client,
    server_client,
)
from crewyard.memory.collections import check_schema, ensure_collection, point_id
from crewyard.memory.embedders import Embedder
from crewyard.memory.index import ExactIndex
from crewyard.memory.protocol import SCOPES, Episode, MemoryItem
from crewyard.redact import logger, redact, redact_data

FACT_DUPLICATE = 0.92  # cosine above which a new fact updates the old one


class MemoryStore:
    """Facts, entities, episodes and short-term notes shared by every crew and engine: the
    built-in Memory backend (`qdrant`), with the admin calls `python main.py memory` uses."""

    def __init__(
        self,
        client: QdrantClient,
        embedder: Embedder,
        where: str,
        prefix: str = "crewyard",
        short_term_days: float = 7.0,
        server: bool = False,
    ) -> None:
        self.server = server
        self.client = client
        self.embedder = embedder
        self.where = where
        self.prefix = prefix
        self.short_term_s = short_term_days * 86400
        self.expire_every_s = 3600.0  # a worker lives for days: expire as notes come, too
        self._expired_at = time.monotonic()
        self._ready: set[str] = set()
        # Embedded mode: searches are answered by exact numpy indexes over the stored points.
        self._indexes: dict[str, ExactIndex] = {}
        self._local_path: Path | None = None  # the embedded store's folder, to release
        # runs of one process (a batch's items) share a store: one writer at a time
        self._lock = threading.RLock()
        check_schema(self.client, prefix, embedder, where)

    @classmethod
    def open(
        cls,
        embedder: Embedder,
        *,
        path: Path | None = None,
        url: str | None = None,
        api_key: str | None = None,
        wait_s: float = 30.0,
    ) -> MemoryStore:
        """The server at url when given, else the embedded store in path (':memory:' ok),
        waiting up to wait_s for another process that holds it."""
        if url:
            return cls(server_client(url, api_key), embedder, url, server=True)
        if path is None or str(path) == ":memory:":
            return cls(QdrantClient(":memory:"), embedder, ":memory:")
        store = cls(local_client(path, wait_s), embedder, str(path))
        store._local_path = path
        return store

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Let go of the store: the embedded one is released for other processes once no
        store of this process holds it."""
        if self._local_path is not None:
            release_local_client(self._local_path)
            self._local_path = None
        elif self.server:
            self.client.close()

    def _name(self, scope: str) -> str:
        if scope not in SCOPES:
            raise ConfigError(f"unknown memory scope {scope!r}", hint=f"one of {', '.join(SCOPES)}")
        return f"{self.prefix}_{scope}"

    def _collection(self, scope: str) -> str:
        name = self._name(scope)
        if name not in self._ready:
            ensure_collection(self.client, name, self.embedder.dim, self.server)
            self._ready.add(name)
        return name

    @one_at_a_time
    def _put(self, scope: str, items: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
        """Upsert (id, text, payload) triples, embedding all texts in one batch; the ids kept.
        Empty texts are skipped (an embedder may answer them with NaN), and so is any vector
        that is not finite: the store never receives one."""
        items = [item for item in items if item[1].strip()]
        if not items:
            return []
        texts = [redact(text) for _, text, _ in items]
        embedded = self.embedder.embed(texts)
        finite = [i for i, vec in enumerate(embedded) if all(math.isfinite(x) for x in vec)]
        if len(finite) < len(items):
            logger.warning(
                "memory: {} text(s) gave no usable vector, not stored", len(items) - len(finite)
            )
        items = [items[i] for i in finite]
        texts = [texts[i] for i in finite]
        vectors = [embedded[i] for i in finite]
        if not items:
            return []
        now = time.time()
        points = [
            qm.PointStruct(
                id=pid,
                vector=vec,
                payload={"created_at": now, **redact_data(payload), "text": text, "scope": scope},
            )
            for (pid, _, payload), text, vec in zip(items, texts, vectors, strict=True)
        ]
        name = self._collection(scope)
        self.client.upsert(name, points)
        if name in self._indexes:
            self._indexes[name].upsert(
                [str(p.id) for p in points], vectors, [dict(p.payload or {}) for p in points]
            )
        return [p for p, _, _ in items]

    @one_at_a_time
    def add_fact(
        self,
        text: str,
        *,
        crew: str,
        run_id: str,
        task: str | None = None,
        kind: str = "claim",
        subject: str = "",
    ) -> str:
        """A long-term fact, with the run and task it came from, its kind and subject; a
        near-identical one already stored is seen again instead (its source stays the run
        that first taught it)."""
        text = " ".join(text.split())
        near = self.search(text, scopes=("facts",), k=1)
        if near and (near[0].score or 0) >= FACT_DUPLICATE:
            old = near[0]
            seen = int(old.payload.get("times_seen", 1)) + 1
            before = [r for r in old.payload.get("seen_in", []) if r != run_id][-19:]
            payload = {**old.payload, "times_seen": seen, "seen_in": [*before, run_id]}
            payload.setdefault("created_at", time.time())
            return _first(
                self._put("facts", [(old.id, str(old.payload.get("text", text)), payload)])
            )
        source = {
            "crew": crew,
            "run_id": run_id,
            "task": task,
            "kind": kind,
            "subject": subject,
            "times_seen": 1,
            "seen_in": [run_id],
        }
        return _first(self._put("facts", [(point_id("facts", text.lower()), text, source)]))

    @one_at_a_time
    def upsert_entity(
        self, name: str, attributes: dict[str, Any], *, crew: str, run_id: str
    ) -> str:
        """An entity's attributes, merged into what is stored under the same name."""
        pid = point_id("entities", name.strip().lower())
        found = self.client.retrieve(self._collection("entities"), [pid], with_payload=True)
        merged = (
            {**(found[0].payload or {}).get("attributes", {}), **attributes}
            if found
            else (dict(attributes))
        )
        text = f"{name}: " + "; ".join(f"{k}: {v}" for k, v in merged.items())
        return _first(
            self._put(
                "entities",
                [
                    (
                        pid,
                        text,
                        {"entity": name, "attributes": merged, "crew": crew, "run_id": run_id},
                    )
                ],
            )
        )

    def add_episode(self, episode: Episode) -> str:
        text = f"{episode.objective}\nOutcome: {episode.outcome[:1500]}"
        payload = {**asdict(episode), "outcome": episode.outcome[:4000]}
        return _first(
            self._put("episodes", [(point_id("episodes", episode.run_id), text, payload)])
        )

    def add_short_term(self, text: str, *, crew: str, run_id: str, task: str) -> str:
        if time.monotonic() - self._expired_at >= self.expire_every_s:
            self.expire()
        return _first(
            self._put(
                "short_term",
                [
                    (
                        point_id("short_term", f"{run_id}:{task}"),
                        text,
                        {
                            "crew": crew,
                            "run_id": run_id,
                            "task": task,
                            "expires_at": time.time() + self.short_term_s,
                        },
                    )
                ],
            )
        )

    @staticmethod
    def _filter(crew: str | None, run_id: str | None) -> qm.Filter | None:
        must = [
            qm.FieldCondition(key=k, match=qm.MatchValue(value=v))
            for k, v in (("crew", crew), ("run_id", run_id))
            if v
        ]
        return qm.Filter(must=must) if must else None  # type: ignore[arg-type]

    def search(
        self,
        query: str,
        *,
        scopes: tuple[str, ...] = SCOPES,
        k: int = 5,
        crew: str | None = None,
        run_id: str | None = None,
    ) -> list[MemoryItem]:
        """The k closest items over the given scopes, best first (none for an empty query)."""
        if not query.strip():
            return []
        vector = self.embedder.embed([query])[0]
        if not all(math.isfinite(x) for x in vector):
            return []
        return self.search_vector(vector, scopes=scopes, k=k, crew=crew, run_id=run_id)

    @one_at_a_time
    def _index(self, name: str) -> ExactIndex:
        """The collection's exact index, loaded from Qdrant on first use."""
        if name not in self._indexes:
            index = ExactIndex(self.embedder.dim)
            offset: Any = None
            while True:
                points, offset = self.client.scroll(
                    name, limit=2048, offset=offset, with_payload=True, with_vectors=True
                )
                if points:
                    index.upsert(
                        [str(p.id) for p in points],
                        [cast(list[float], p.vector) for p in points],
                        [dict(p.payload or {}) for p in points],
                    )
                if offset is None:
                    break
            self._indexes[name] = index
        return self._indexes[name]

    @one_at_a_time
    def search_vector(
        self,
        vector: Sequence[float],
        *,
        scopes: tuple[str, ...] = SCOPES,
        k: int = 5,
        crew: str | None = None,
        run_id: str | None = None,
    ) -> list[MemoryItem]:
        """search() for a vector already embedded."""
        found: list[MemoryItem] = []
        for scope in scopes:
            name = self._collection(scope)
            if self.server:
                hits = self.client.query_points(
                    name,
                    query=[float(x) for x in vector],
                    limit=k,
                    with_payload=True,
                    query_filter=self._filter(crew, run_id),
                ).points
                rows = [(str(h.id), h.score, dict(h.payload or {})) for h in hits]
            else:
                where = {key: v for key, v in (("crew", crew), ("run_id", run_id)) if v}
                rows = self._index(name).search(vector, k, where)
            found += [
                MemoryItem(pid, scope, str(p.get("text", "")), p, score) for pid, score, p in rows
            ]
        if len(scopes) == 1:  # one scope comes back ordered
            return found
        return sorted(found, key=lambda m: -(m.score or 0))[:k]

    def items(
        self, scope: str, *, limit: int = 50, crew: str | None = None, run_id: str | None = None
    ) -> list[MemoryItem]:
        points, _ = self.client.scroll(
            self._collection(scope),
            limit=limit,
            with_payload=True,
            scroll_filter=self._filter(crew, run_id),
        )
        return [
            MemoryItem(
                str(p.id), scope, str((p.payload or {}).get("text", "")), dict(p.payload or {})
            )
            for p in points
        ]

    def get(self, item_id: str) -> MemoryItem | None:
        for scope in SCOPES:
            found = self.client.retrieve(self._collection(scope), [item_id], with_payload=True)
            if found:
                payload = dict(found[0].payload or {})
                return MemoryItem(item_id, scope, str(payload.get("text", "")), payload)
        return None

    @one_at_a_time
    def forget(self, item_id: str) -> bool:
        item = self.get(item_id)
        if item is not None:
            name = self._collection(item.scope)
            self.client.delete(name, qm.PointIdsList(points=[item_id]))
            self._indexes.pop(name, None)
        return item is not None

    @one_at_a_time
    def forget_where(
        self, scope: str, *, crew: str | None = None, run_id: str | None = None
    ) -> int:
        flt = self._filter(crew, run_id)
        if flt is None:
            raise ConfigError(
                "forgetting by filter needs --crew or --run",
                hint="use `memory reset SCOPE` to empty a whole scope",
            )
        name = self._collection(scope)
        count = self.client.count(name, count_filter=flt).count
        self.client.delete(name, qm.FilterSelector(filter=flt))
        self._indexes.pop(name, None)
        return count

    @one_at_a_time
    def reset(self, scope: str) -> int:
        name = self._collection(scope)
        count = self.client.count(name).count
        self.client.delete_collection(name)
        self._ready.discard(name)
        self._indexes.pop(name, None)
        return count

    @one_at_a_time
    def expire(self, now: float | None = None) -> int:
        """Drop short-term notes past their retention."""
        self._expired_at = time.monotonic()
        name = self._collection("short_term")
        flt = qm.Filter(
            must=[qm.FieldCondition(key="expires_at", range=qm.Range(lt=now or time.time()))]
        )
        count = self.client.count(name, count_filter=flt).count
        if count:
            self.client.delete(name, qm.FilterSelector(filter=flt))
            self._indexes.pop(name, None)
        return count

    def stats(self) -> dict[str, int]:
        return {scope: self.client.count(self._collection(scope)).count for scope in SCOPES}


def _first(ids: list[str]) -> str:
    """The id of what was stored, or "" when nothing was (an empty text)."""
    return ids[0] if ids else ""
