"""The FAISS vector store: exact or IVF inner-product search over our own chunk ids, in FAISS's own file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import IndexMismatchError
from .vectors import FIX, VectorStore

if TYPE_CHECKING:
    from .settings import Settings


class FaissStore(VectorStore):
    """Exact inner-product search (vectors are unit length, so this is cosine) with our own ids."""

    FILE = "faiss.index"
    kind = "faiss"

    def __init__(self, dimension: int, index: Any = None) -> None:
        import faiss

        self.dimension = dimension
        self.index = index if index is not None else faiss.IndexIDMap(faiss.IndexFlatIP(dimension))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        import faiss

        if self.index.ntotal == 0 or allowed is not None and not len(allowed):
            return []
        # One thread: a single question gains nothing from OpenMP, and on a loaded machine its spinning
        # threads made exact search at 100k vectors 4x slower (135 ms against 30 ms, bench/stores.py).
        faiss.omp_set_num_threads(1)
        params: Any = None
        if allowed is not None:  # FAISS skips the other ids while it scans; an IVF reads every list then
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            ivf = faiss.try_extract_index_ivf(self.index)
            # faiss's Python wrappers take the fields as keywords; its stubs do not say so
            if ivf is not None:
                params = faiss.SearchParametersIVF(sel=selector, nprobe=ivf.nlist)  # type: ignore[call-arg]
            else:
                params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            k = min(k, len(allowed))
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), min(k, self.index.ntotal),
                                        params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self.index.remove_ids(ids.astype(np.int64))  # type: ignore[arg-type]  # faiss accepts arrays

    def save(self, folder: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(folder / self.FILE))

    @classmethod
    def load(cls, folder: Path, dimension: int) -> FaissStore:
        import faiss

        try:
            index = faiss.read_index(str(folder / cls.FILE))
        except RuntimeError as e:
            raise IndexMismatchError(f"{folder / cls.FILE} is unreadable ({str(e).splitlines()[0]}); {FIX}") from None
        if index.d != dimension:
            raise IndexMismatchError(f"{folder / cls.FILE} has dimension {index.d}, manifest says {dimension}; {FIX}")
        return cls(dimension, index)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything stored, for export and re-indexing."""
        from .ann import all_vectors

        return all_vectors(self.index)

    def prepare(self, settings: Settings) -> None:
        """Exact search up to `settings.exact_limit` vectors, IVF with measured recall beyond (ann.py)."""
        from .ann import choose

        self.index, self.choice = choose(self.index, settings.exact_limit, settings.ann_recall, settings.threads)

    def describe(self) -> dict[str, Any]:
        from .ann import describe

        return {"kind": self.kind, **describe(self.index), **getattr(self, "choice", {})}
