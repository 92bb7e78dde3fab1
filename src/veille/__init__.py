"""veille: cited answers to French questions over a folder of news articles."""

from .archive import export_index, import_index
from .errors import (
                     CorpusError,
                     IndexBusyError,
                     IndexMismatchError,
                     IndexMissingError,
                     InputError,
                     ModelError,
                     StoreError,
                     VeilleError,
)
from .index import Index, build_index, open_index
from .types import Answer, Article, BuildReport, Chunk, Citation, Hit, QuoteMatch

__all__ = ["Answer", "Article", "BuildReport", "Chunk", "Citation", "CorpusError", "Hit", "Index",
           "IndexBusyError", "IndexMismatchError", "IndexMissingError", "InputError", "ModelError", "QuoteMatch",
           "StoreError", "VeilleError", "build_index", "export_index", "import_index", "open_index"]
