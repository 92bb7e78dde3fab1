"""Vectors in Milvus: a server or a cluster in production, a milvus-lite file on one machine.

The index folder stays the source of truth. Its chunks, manifest and keyword index are swapped in whole
as with FAISS; Milvus holds only the vectors, keyed by chunk id, and the folder's milvus.json says where.
A build inserts its new vectors before the swap and deletes the removed ones after it (`commit`), so a
reader of the old index keeps finding its chunks until the new index is in place. A search skips ids the
loaded index does not know: a build that died after inserting leaves such orphans, the next build deletes
them. A build from scratch writes a new collection, `<collection>_<time>`, instead of giving chunk ids
new meanings under the old index's feet; its commit drops the older collections of that name.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import IndexMismatchError, InputError
from .milvus_client import calls, connect, resolve_uri, shown
from .vectors import FIX, VectorStore

if TYPE_CHECKING:
    from .settings import Settings

log = logging.getLogger(__name__)

FILE = "milvus.json"
METRIC = "IP"  # inner product of unit vectors is the cosine: the same scores as FAISS's exact search
INDEX = "FLAT"  # exact, so that both stores give the same answers
BATCH = 2_000  # vectors per request: 3 MB of floats, far below Milvus's 64 MB per insert
MAX_LIMIT = 16_384  # Milvus's largest top-k
OVERFETCH = 16  # hits asked for beyond k, to make up for orphans that a search skips
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")


class MilvusStore(VectorStore):
    """Vectors in a Milvus collection. `ids`: the chunk ids the index knows; a search returns no other."""

    kind = "milvus"

    def __init__(self, client: Any, uri: str, collection: str, dimension: int, ids: Iterable[int]) -> None:
        self.client, self.uri, self.collection, self.dimension = client, uri, collection, dimension
        self.family = collection.rsplit("_", 1)[0]  # the configured name, without the build time
        self.ids = set(ids)
        self.removed: set[int] = set()  # deleted from Milvus by commit(), once no index uses them

    @classmethod
    def create(cls, settings: Settings, dimension: int, folder: Path) -> MilvusStore:
        """A new, empty collection for a build from scratch (or an import)."""
        if not _NAME.fullmatch(settings.milvus_collection):
            raise InputError(f"VEILLE_MILVUS_COLLECTION={settings.milvus_collection!r} is not a Milvus name; "
                             "use letters, digits and _ (not first a digit)")
        from pymilvus import DataType

        uri = resolve_uri(settings.milvus_uri, folder)
        client = connect(uri, settings.milvus_token)
        name = f"{settings.milvus_collection}_{time.time_ns()}"
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        params = client.prepare_index_params()
        params.add_index(field_name="vector", index_type=INDEX, metric_type=METRIC)
        with calls(uri):  # Strong: the first question after a build sees every vector the build inserted
            client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")
        return cls(client, uri, name, dimension, ())

    @classmethod
    def load(cls, folder: Path, manifest: dict[str, Any], settings: Settings) -> MilvusStore:
        """The store of an index folder; refuses a collection that lacks the index's vectors."""
        try:
            info = json.loads((folder / FILE).read_text(encoding="utf-8"))
            name, dimension = str(info["collection"]), int(info["dimension"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise IndexMismatchError(f"{folder / FILE} is unreadable ({e}); {FIX}") from None
        if dimension != int(manifest["model"]["dimension"]):
            raise IndexMismatchError(f"{folder / FILE} has dimension {dimension}, manifest says "
                                     f"{manifest['model']['dimension']}; {FIX}")
        uri = resolve_uri(settings.milvus_uri, folder)
        ids = [i for article in manifest["articles"].values() for i in article["chunks"]]
        store = cls(connect(uri, settings.milvus_token), uri, name, dimension, ids)
        store._check(str(info.get("uri")))
        return store

    def _check(self, built_at: str) -> None:
        where = f"Milvus collection {self.collection} at {shown(self.uri)}"
        with calls(self.uri):
            if not self.client.has_collection(self.collection):
                moved = "" if built_at == shown(self.uri) else \
                    f"the index keeps its vectors at {built_at}: set VEILLE_MILVUS_URI to that, or "
                raise IndexMismatchError(f"{where} does not exist; {moved}{FIX}")
            fields = {f["name"]: f for f in self.client.describe_collection(self.collection)["fields"]}
            dim = int(fields.get("vector", {}).get("params", {}).get("dim", -1))
            self.client.load_collection(self.collection)  # a collection opened again is "released" until loaded
            count = self._count()
            sample = sorted(self.ids)[:: max(1, len(self.ids) // 32)]  # a spread of ids, not all: cheap at 10M
            found = self.client.get(self.collection, ids=sample, output_fields=["id"]) if sample else []
        if dim != self.dimension:
            raise IndexMismatchError(f"{where} holds vectors of dimension {dim}, the index {self.dimension}; {FIX}")
        if count < len(self.ids) or len(found) < len(sample):
            raise IndexMismatchError(f"{where} lacks vectors of the index's chunks ({count} vectors for "
                                     f"{len(self.ids)} chunks); {FIX}")

    def _count(self) -> int:
        return int(self.client.query(self.collection, filter="", output_fields=["count(*)"])[0]["count(*)"])

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with calls(self.uri):
            for s in range(0, len(ids), BATCH):
                rows = [{"id": i, "vector": v} for i, v in zip(ids[s : s + BATCH].tolist(), vectors[s : s + BATCH],
                                                                 strict=True)]
                # upsert, not insert: a build that died after inserting left vectors under the very ids the
                # next build gives its chunks (the manifest's next_id did not move), and Milvus keeps duplicates
                self.client.upsert(self.collection, rows)
        added = set(ids.tolist())
        self.ids |= added
        self.removed -= added

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        if not self.ids or k <= 0 or allowed is not None and not len(allowed):
            return []
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        limit = min(k + OVERFETCH, MAX_LIMIT)
        live = self.ids if allowed is None else self.ids & set(allowed.tolist())
        extra = {} if allowed is None else {"filter": f"id in {sorted(live)}"}  # filtered by the server, first
        while True:
            with calls(self.uri):
                found = self.client.search(self.collection, data=[vector], limit=limit, output_fields=["id"],
                                           search_params={"metric_type": METRIC}, **extra)[0]
            hits = [(int(h["id"]), float(h["distance"])) for h in found if int(h["id"]) in live]
            if len(hits) >= k or len(found) < limit or limit == MAX_LIMIT:
                return hits[:k]
            limit = min(limit * 4, MAX_LIMIT)  # many orphans on top: ask for more

    def remove(self, ids: np.ndarray) -> None:
        gone = set(ids.tolist())
        self.ids -= gone
        self.removed |= gone

    def save(self, folder: Path) -> None:
        info = {"uri": shown(self.uri), "collection": self.collection, "dimension": self.dimension,
                "count": len(self.ids), "metric": METRIC, "index": INDEX}
        (folder / FILE).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "uri": shown(self.uri), "collection": self.collection, "metric": METRIC,
                "index": INDEX}

    def commit(self) -> None:
        """The new index is in place: delete what only the old one used, then what no index knows."""
        with calls(self.uri):
            gone = sorted(self.removed)
            for s in range(0, len(gone), BATCH):
                self.client.delete(self.collection, ids=gone[s : s + BATCH])
            self.removed.clear()
            if self._count() > len(self.ids):
                self._delete_orphans()
            for name in self.client.list_collections():
                if name != self.collection and re.fullmatch(rf"{re.escape(self.family)}_\d+", name):
                    log.info("dropping %s, the collection of an earlier build from scratch", name)
                    self.client.drop_collection(name)

    def _delete_orphans(self) -> None:
        # Chunk ids only grow, so what a build that died before its swap inserted lies above every known id.
        self.client.delete(self.collection, filter=f"id > {max(self.ids, default=-1)}")
        if self._count() <= len(self.ids):
            return
        # A build that died between its swap and its deletes left removed ids among the known ones: a full
        # pass over the ids, rare and the only one (it reads every id: seconds at 100k with milvus-lite).
        it = self.client.query_iterator(self.collection, batch_size=BATCH * 5, filter="", output_fields=["id"])
        orphans: list[int] = []
        while batch := it.next():
            orphans += [int(r["id"]) for r in batch if int(r["id"]) not in self.ids]
        it.close()
        log.warning("deleting %d vectors that no index uses (left by a build that stopped half-way)", len(orphans))
        for s in range(0, len(orphans), BATCH):
            self.client.delete(self.collection, ids=orphans[s : s + BATCH])

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of the index's chunks, in id order; orphans are left out."""
        ids = np.array(sorted(self.ids), dtype=np.int64)
        out = np.zeros((len(ids), self.dimension), dtype=np.float32)
        with calls(self.uri):
            for s in range(0, len(ids), BATCH):
                batch = ids[s : s + BATCH].tolist()
                got = {int(r["id"]): r["vector"] for r in self.client.get(self.collection, ids=batch,
                                                                          output_fields=["vector"])}
                if len(got) < len(batch):
                    raise IndexMismatchError(f"Milvus collection {self.collection} lacks the vectors of "
                                             f"{len(batch) - len(got)} chunks; {FIX}")
                out[s : s + len(batch)] = [got[i] for i in batch]
        return ids, out

    def __len__(self) -> int:
        return len(self.ids)
