"""The collections behind the memory: their deterministic point ids, the schema record that
catches a change of embedder, and a collection per scope created on first use."""

from __future__ import annotations

import uuid

from qdrant_client import QdrantClient
from qdrant_client import models as qm

from crewyard.errors import ConfigError
from crewyard.memory.embedders import Embedder

SCHEMA_VERSION = 1
NAMESPACE = uuid.UUID("6f0c3a52-2d1e-4b7a-9a51-0d7c1f3e8b10")
INDEXED = ("crew", "run_id", "entity", "created_at")


def point_id(scope: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{scope}:{key}"))


def check_schema(client: QdrantClient, prefix: str, embedder: Embedder, where: str) -> None:
    """Record the embedder on first use; refuse a store written with another one."""
    meta = f"{prefix}_meta"
    want = {"schema_version": SCHEMA_VERSION, "embedder": embedder.name, "dim": embedder.dim}
    if not client.collection_exists(meta):
        client.create_collection(meta, vectors_config={})
        client.upsert(
            meta, [qm.PointStruct(id=point_id("meta", "schema"), vector={}, payload=want)]
        )
        return
    found = client.retrieve(meta, [point_id("meta", "schema")])
    have = (found[0].payload or {}) if found else {}
    if have != want:
        raise ConfigError(
            f"the memory at {where} was written with {have.get('embedder')} "
            f"({have.get('dim')} dimensions, schema {have.get('schema_version')}); this "
            f"crewyard uses {embedder.name} ({embedder.dim}, schema "
            f"{SCHEMA_VERSION}), so recall would be wrong",
            hint="python main.py memory reset --all --yes (forgets everything), or point "
            "CREWYARD_DATA_DIR elsewhere",
        )


def ensure_collection(client: QdrantClient, name: str, dim: int, server: bool) -> None:
    """The collection, created if missing (a server also gets payload indexes)."""
    if client.collection_exists(name):
        return
    client.create_collection(
        name, vectors_config=qm.VectorParams(size=dim, distance=qm.Distance.COSINE)
    )
    if server:  # the embedded mode filters in numpy, without indexes
        for key in INDEXED:
            kind = (
                qm.PayloadSchemaType.FLOAT if key == "created_at" else qm.PayloadSchemaType.KEYWORD
            )
            client.create_payload_index(name, key, kind)
