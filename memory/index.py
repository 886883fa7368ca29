"""An exact in-memory vector index for the embedded store.

qdrant-client's local mode searches in Python and checks payload filters point by point
(seconds at 100k filtered points). The embedded store keeps Qdrant as the durable copy and
answers searches here, with numpy over normalised vectors: exact results, at the speed of
brute force. Filters are column masks."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

SMALL = 256  # rows below which a full argsort is cheaper than argpartition


class ExactIndex:
    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._lock = threading.Lock()
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._payloads: list[dict[str, Any]] = []
        self._matrix = np.zeros((0, dim), dtype=np.float32)
        # filter → its rows: a filtered search costs what numpy costs on the subset
        self._subsets: dict[tuple[tuple[str, Any], ...], _Subset] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def upsert(
        self,
        ids: list[str],
        vectors: list[list[float]] | np.ndarray,
        payloads: list[dict[str, Any]],
    ) -> None:
        block: np.ndarray = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        block = (block / np.where(norms == 0, 1, norms)).astype(np.float32)
        with self._lock:
            fresh = [i for i, pid in enumerate(ids) if pid not in self._rows]
            for i, pid in enumerate(ids):
                if pid in self._rows:  # an update in place
                    row = self._rows[pid]
                    self._matrix[row] = block[i]
                    self._payloads[row] = payloads[i]
            if fresh:
                start = len(self._ids)
                self._matrix = np.vstack([self._matrix, block[fresh]])
                for offset, i in enumerate(fresh):
                    self._rows[ids[i]] = start + offset
                    self._ids.append(ids[i])
                    self._payloads.append(payloads[i])
            self._subsets.clear()

    def remove(self, ids: list[str]) -> None:
        with self._lock:
            gone = {self._rows[i] for i in ids if i in self._rows}
            if not gone:
                return
            keep = [r for r in range(len(self._ids)) if r not in gone]
            self._matrix = self._matrix[keep]
            self._ids = [self._ids[r] for r in keep]
            self._payloads = [self._payloads[r] for r in keep]
            self._rows = {pid: r for r, pid in enumerate(self._ids)}
            self._subsets.clear()

    def _subset(self, where: dict[str, Any] | None) -> _Subset:
        key = tuple(sorted(where.items())) if where else ()
        subset = self._subsets.get(key)
        if subset is None:
            rows = [r for r, p in enumerate(self._payloads) if all(p.get(k) == v for k, v in key)]
            subset = _Subset(
                self._matrix[rows] if key else self._matrix,
                [self._ids[r] for r in rows],
                [self._payloads[r] for r in rows],
            )
            self._subsets[key] = subset
        return subset

    def search(
        self, vector: Sequence[float] | np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float, dict[str, Any]]]:
        """(id, cosine, payload) of the k closest points matching every key=value in where."""
        query = np.asarray(vector, dtype=np.float32)
        norm = math.sqrt(float(query @ query)) or 1.0
        with self._lock:
            subset = self._subset(where)
            count = len(subset.ids)
            if not count or k < 1:
                return []
            scores = subset.matrix @ query
            if count <= SMALL or k >= count:  # one sort beats partition + sort on few rows
                top = (-scores).argsort()[:k]
            else:
                top = np.argpartition(-scores, k - 1)[:k]
                top = top[(-scores[top]).argsort()]
            ids, payloads = subset.ids, subset.payloads
            return [
                (ids[i], s / norm, payloads[i])
                for i, s in zip(top.tolist(), scores[top].tolist(), strict=True)
            ]


class _Subset(NamedTuple):
    """The rows one filter selects, cached until the index changes."""

    matrix: np.ndarray
    ids: list[str]
    payloads: list[dict[str, Any]]
