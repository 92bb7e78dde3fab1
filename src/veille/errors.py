"""Errors shown to the user. Each message says what went wrong and what to do next."""


class VeilleError(Exception):
    """Base of every error veille reports to a user (the CLI prints it and exits 1)."""


class CorpusError(VeilleError):
    """The corpus folder is missing, empty, or holds nothing that can be indexed."""


class IndexMissingError(VeilleError):
    """No index where one was expected."""


class IndexMismatchError(VeilleError):
    """The index on disk was built differently (other model, other format) or is damaged."""


class IndexBusyError(VeilleError):
    """Another build holds the index lock."""


class StoreError(VeilleError):
    """The vector store (a Milvus server or a milvus-lite file) cannot be reached or used."""


class ModelError(VeilleError):
    """The embedding model is missing or is not the one veille was set up with."""


class InputError(VeilleError):
    """A question, a quote or an uploaded file that cannot be used as given."""
