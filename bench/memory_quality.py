"""Recall quality of the default embedder (WordLlama) against a plain keyword baseline (BM25)
on a labelled set built here: 200 stored facts and 200 queries that paraphrase them (20 made-up
products × 10 relations; each query shares the product name with 10 facts, so only the
relation's meaning picks the right one). Target: ahead of BM25.

    .venv/bin/python bench/memory_quality.py
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crewyard.memory.embedders import WordLlamaEmbedder

PRODUCTS = [
    "Aurora heat pump",
    "Kestrel e-bike",
    "Marlin water filter",
    "Juniper solar panel",
    "Osprey drone",
    "Cobalt espresso machine",
    "Harbor smart lock",
    "Tundra freezer",
    "Falcon router",
    "Willow standing desk",
    "Ember wood stove",
    "Pioneer tractor",
    "Lumen desk lamp",
    "Nimbus air purifier",
    "Quarry rock drill",
    "Sable electric kettle",
    "Vertex 3D printer",
    "Zephyr ceiling fan",
    "Atlas home battery",
    "Coral aquarium pump",
]
RELATIONS = [
    ("The {p} costs about {n} dollars.", "What is the price of the {p}?"),
    ("The {p} was invented in {y}.", "When did someone first create the {p}?"),
    ("The {p} weighs around {n} kilograms.", "How heavy is the {p}?"),
    ("The {p} lasts roughly {k} years before it wears out.", "What is the lifespan of the {p}?"),
    ("The {p} is made mainly from recycled aluminium.", "Which material forms the {p}?"),
    ("The {p} sells best in Japan.", "In which country do most buyers of the {p} live?"),
    ("The {p} draws {n} watts of electricity.", "How much power does the {p} consume?"),
    ("The {p} is serviced by certified technicians.", "Who repairs a broken {p}?"),
    ("The {p} was designed by engineers in Sweden.", "Where did the creators of the {p} work?"),
    ("The {p} comes with a five-year warranty.", "How long is the {p} guaranteed?"),
]


def dataset() -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(7)
    facts, queries = [], []
    for p in PRODUCTS:
        for fact, query in RELATIONS:
            values = {
                "p": p,
                "n": int(rng.integers(20, 900)),
                "y": int(rng.integers(1950, 2024)),
                "k": int(rng.integers(3, 25)),
            }
            facts.append(fact.format(**values))
            queries.append(query.format(**values))
    return facts, queries


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def bm25_scores(
    docs: list[list[str]], query: list[str], k1: float = 1.5, b: float = 0.75
) -> np.ndarray:
    n = len(docs)
    avg = sum(len(d) for d in docs) / n
    df = Counter(t for d in docs for t in set(d))
    scores = np.zeros(n)
    for i, doc in enumerate(docs):
        tf = Counter(doc)
        for t in query:
            if t in tf:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                scores[i] += idf * tf[t] * (k1 + 1) / (tf[t] + k1 * (1 - b + b * len(doc) / avg))
    return scores


def recall_at(ranks: list[int], k: int) -> float:
    return sum(r < k for r in ranks) / len(ranks)


def main() -> None:
    facts, queries = dataset()
    embedder = WordLlamaEmbedder()
    fact_vectors = np.array(embedder.embed(facts))
    query_vectors = np.array(embedder.embed(queries))
    docs = [tokens(f) for f in facts]
    ours, theirs = [], []
    for i, q in enumerate(queries):
        sims = fact_vectors @ query_vectors[i]
        ours.append(int((sims > sims[i]).sum()))
        bm = bm25_scores(docs, tokens(q))
        theirs.append(int((bm > bm[i]).sum()))
    print(
        f"memory recall quality: {len(queries)} paraphrased queries over {len(facts)} facts "
        "(target: WordLlama ahead of BM25)"
    )
    for name, ranks in (("BM25 keywords", theirs), (embedder.name, ours)):
        print(
            f"  {name:<28} recall@1 {recall_at(ranks, 1):.2f}   recall@5 {recall_at(ranks, 5):.2f}"
        )


if __name__ == "__main__":
    main()
