"""An exact in-memory vector index for the embedded store.

qdrant-client's local mode searches in Python and checks payload filters point by point
(seconds at 100k filtered points). The embedded store keeps Qdrant as the durable copy and
answers searches here, with numpy over normalised vectors: exact results, at the speed of
brute force. Filters are column masks."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np


class ExactIndex:
    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._lock = threading.Lock()
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._payloads: list[dict[str, Any]] = []
        self._matrix = np.zeros((0, dim), dtype=np.float32)
        # filter → (rows, their vectors): a filtered search costs what numpy costs on the subset
        self._subsets: dict[tuple[tuple[str, Any], ...], tuple[np.ndarray, np.ndarray]] = {}

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

    def _subset(self, where: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        key = tuple(sorted(where.items()))
        if key not in self._subsets:
            rows = np.array(
                [r for r, p in enumerate(self._payloads) if all(p.get(k) == v for k, v in key)],
                dtype=np.int64,
            )
            self._subsets[key] = (rows, self._matrix[rows])
        return self._subsets[key]

    def search(
        self, vector: list[float], k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float, dict[str, Any]]]:
        """(id, cosine, payload) of the k closest points matching every key=value in where."""
        query = np.asarray(vector, dtype=np.float32)
        query = query / (np.linalg.norm(query) or 1.0)
        with self._lock:
            if not self._ids:
                return []
            if where:
                rows, matrix = self._subset(where)
            else:
                rows, matrix = np.arange(len(self._ids)), self._matrix
            if not len(rows):
                return []
            scores = matrix @ query
            k = min(k, len(scores))
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.argsort(-scores[top])]
            return [(self._ids[rows[i]], float(scores[i]), self._payloads[rows[i]]) for i in top]
