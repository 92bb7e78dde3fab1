"""What every vector store is: the `VectorStore` interface, and the fix that its errors name.

Its own module, below store.py and milvus.py: store.py picks a store by name and so imports milvus.py,
while milvus.py only needs the interface. With both here, neither imports the other in a circle.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .settings import Settings

FIX = "run `veille index build` to rebuild it"


class VectorStore(ABC):
    """Vectors keyed by chunk id, searched by inner product. FAISS files in the index folder by default."""

    kind = "?"

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...
    @abstractmethod
    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The k nearest chunks; with `allowed`, only among those chunk ids (a filter, applied before ranking)."""
    @abstractmethod
    def remove(self, ids: np.ndarray) -> None: ...
    @abstractmethod
    def save(self, folder: Path) -> None: ...
    @abstractmethod
    def __len__(self) -> int: ...
    @abstractmethod
    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64, vectors float32) of every chunk the index knows: export, or a move to another store."""

    def describe(self) -> dict[str, Any]:
        """What the manifest records of this store ("vector_store")."""
        return {"kind": self.kind}

    def prepare(self, settings: Settings) -> None:  # noqa: B027 - a hook, most stores need nothing here
        """Called when a build has added and removed its vectors, before `save`: the place to re-tune."""

    def commit(self) -> None:  # noqa: B027
        """Called once the new index folder is in place (a remote store drops what the old one used)."""
