"""The Index: build it incrementally from a corpus folder (build.py), open it, and ask it things."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .build import State, build, load_state
from .embed import Embedder, SentenceTransformerEmbedder, TokenStates, resolve_backend
from .errors import InputError
from .ingest import html_to_text
from .intake import Change, check, incoming, move_out, write
from .settings import Settings, load_settings
from .store import locked, read_manifest, tidy
from .terms import Vocabulary
from .types import Answer, BuildReport, Chunk, Hit, QuoteMatch

if TYPE_CHECKING:
    from .filters import Where

log = logging.getLogger(__name__)
_EMBEDDERS: dict[tuple[Path, int, str, int], Embedder] = {}


def default_embedder(settings: Settings) -> Embedder:
    """One embedder per model folder per process: the model loads once however many indexes use it."""
    key = (settings.model_path, settings.threads, resolve_backend(settings.backend), settings.dimension)
    if key not in _EMBEDDERS:
        _EMBEDDERS[key] = SentenceTransformerEmbedder(settings.model_path, settings.threads, settings.backend,
                                                      settings.dimension)
    return _EMBEDDERS[key]


def build_index(corpus: Path | str | None = None, index: Path | str | None = None, *,
                settings: Settings | None = None, embedder: Embedder | None = None,
                progress: bool = False, wait: float = 0.0) -> BuildReport:
    """Bring the index folder up to date with the corpus folder, embedding only what changed."""
    settings = settings or load_settings(corpus=corpus, index=index)
    corpus_path = Path(corpus).resolve() if corpus else settings.corpus.resolve()
    folder = Path(index) if index else settings.index
    embedder = embedder or default_embedder(settings)
    with locked(folder, wait):
        return build(corpus_path, folder, settings, embedder, progress)


def open_index(index: Path | str | None = None, *, settings: Settings | None = None,
               embedder: Embedder | None = None) -> Index:
    """Load an index folder, refusing one built with another model or format."""
    settings = settings or load_settings(index=index)
    return Index(Path(index) if index else settings.index, settings, embedder or default_embedder(settings))


class Index:
    """A loaded index: search it, ask it, find quotes in it, and keep it up to date."""

    def __init__(self, folder: Path, settings: Settings, embedder: Embedder) -> None:
        self.folder, self.settings, self.embedder = folder, settings, embedder
        tidy(folder)  # a build that died may have left its folders, or the index itself, beside this one
        self._state = load_state(folder, embedder, settings)
        self._texts: dict[str, tuple[State, str]] = {}  # article texts, valid for the state they were read in
        self._llm: Any = None
        self._vocabulary: tuple[State, Vocabulary] | None = None

    # -- what is in it
    @property
    def manifest(self) -> dict[str, Any]:
        return self._state.manifest

    @property
    def corpus(self) -> Path:
        return Path(self.manifest["corpus"])

    @property
    def chunks(self) -> dict[int, Chunk]:
        return self._state.chunks

    @property
    def vocabulary(self) -> Vocabulary:
        """The corpus statistics the answer stages read: chunk count, token frequencies, words."""
        state = self._state
        if self._vocabulary is None or self._vocabulary[0] is not state:
            kw = state.keyword
            self._vocabulary = (state, Vocabulary(len(state.chunks), kw.frequency, kw.spelled,
                                                  self.settings.model_name, kw.names))
        return self._vocabulary[1]

    def status(self) -> dict[str, Any]:
        m = self.manifest
        return {"articles": len(m["articles"]), "chunks": len(self._state.chunks), "model": m["model"]["name"],
                "dimension": m["model"]["dimension"], "built_at": m["built_at"], "corpus": m["corpus"]}

    def articles(self) -> list[dict[str, Any]]:
        return [{"source": s, "title": a["title"], "date": a["date"], "chunks": len(a["chunks"]), "url": a.get("url"),
                 "site": a.get("site")} for s, a in self.manifest["articles"].items()]

    def original(self, source: str) -> str:
        """The article's text as offsets refer to it (UTF-8, BOM and line ends kept; HTML as extracted)."""
        if source not in self.manifest["articles"]:
            raise InputError(f"{source!r} is not in the index; `veille index status` lists what is")
        state = self._state
        cached = self._texts.get(source)
        if cached is not None and cached[0] is state:
            return cached[1]
        path = self.corpus / source
        if path.suffix.lower() == ".pdf":
            from .extract import pdf_article

            text = pdf_article(path.read_bytes(), source).text
        else:
            text = path.read_bytes().decode("utf-8")
            text = html_to_text(text) if path.suffix.lower() in (".html", ".htm") else text
        self._texts[source] = (state, text)
        return text

    # -- reading
    def search(self, query: str, k: int | None = None, where: Where | None = None,
               allowed: Any = None) -> list[Hit]:
        """The best passages; `where` (filters.Where: dates, source) or `allowed` (chunk ids) restrict the
        articles searched before ranking."""
        from .retrieve import check_query, hybrid_search

        # the embedding model reads words the corpus never uses respelt as the corpus word one letter away
        dense_query = self.vocabulary.respell(check_query(query)) if self.settings.respell else None
        if where is not None:
            from .filters import allowed_chunks

            allowed = allowed_chunks(where, self.manifest["articles"])
        return hybrid_search(self._state, self.embedder, query, k or self.settings.k, self.settings, allowed,
                             dense_query)

    def ask(self, question: str, history: Sequence[str] = (), mode: str = "extractive",
            where: Where | None = None) -> Answer:
        """A short answer whose [n] markers cite passages; `history`: the conversation's earlier questions.
        mode "extractive" quotes the articles; "llm" has a language model write it, then checks it.
        `where`: only from the articles of a period or a source (filters.Where)."""
        if mode == "llm":
            *_, answer = self.ask_stream(question, history, mode, where)
            assert isinstance(answer, Answer)
            return answer
        if mode != "extractive":
            raise InputError(f"unknown answer mode {mode!r}; use 'extractive' or 'llm'")
        from .ask import ask

        return ask(self._reader(where), question, history, self.settings.k)

    def _reader(self, where: Where | None) -> Any:
        from .filters import Scoped

        return self if where is None else Scoped(self, where)

    def ask_stream(self, question: str, history: Sequence[str] = (), mode: str = "llm",
                   where: Where | None = None) -> Iterator[str | Answer]:
        """The answer's tokens as the model writes them, then the checked Answer (always the last item)."""
        if mode != "llm":
            yield self.ask(question, history, mode, where)
            return
        if self.settings.llm_answer == "claims":
            from .structured import stream_claims as stream
        else:
            from .generate import stream_answer as stream
        yield from stream(self._reader(where), question, self.chat_model(), history, search_k=self.settings.k)

    def chat_model(self) -> Any:
        """The language model of the generative mode, loaded once."""
        if self._llm is None:
            from .llm import chat_model

            self._llm = chat_model(self.settings.models_dir, self.settings.threads)
        return self._llm

    def cite(self, text: str, limit: int = 10, where: Where | None = None) -> list[QuoteMatch]:
        from .quotes import check_quote, find_in_articles

        check_quote(text)  # before reading every article
        meta = self.manifest["articles"]
        arts = ((a["source"], self.original(a["source"]), a["title"], a["date"], meta[a["source"]])
                for a in self.articles() if where is None or where.admits(a["source"], meta[a["source"]]))
        return find_in_articles(arts, text, limit)

    def passage_around(self, source: str, offset: int) -> tuple[int, int, str]:
        """(start, end, text) of the article's chunk holding the offset (its sentence if none does)."""
        ids = self.manifest["articles"][source]["chunks"]  # the article's own chunks, not the whole index
        chunk = next((c for c in map(self.chunks.__getitem__, ids) if c.start <= offset < c.end), None)
        if chunk is not None:
            return chunk.start, chunk.end, chunk.text
        text = self.original(source)
        from .chunk import sentence_spans

        a, b = next(((a, b) for a, b in sentence_spans(text) if a <= offset < b), (offset, offset + 1))
        return a, b, text[a:b]

    def token_states(self, text: str, layers: Sequence[int]) -> TokenStates | None:
        """What the short answer's reading probe reads: the embedding model's states of the text's tokens."""
        return self.embedder.token_states(text, layers)

    # -- writing
    def update(self, progress: bool = False, wait: float = 30.0) -> BuildReport:
        """Re-read the corpus folder, embed what changed, and answer from the new index at once."""
        return self._commit(lambda _: (lambda: None, []), progress, wait)

    def add(self, paths: list[Path], progress: bool = False, pages: Sequence[Any] = ()) -> BuildReport:
        """Copy article files into the corpus folder (HTML as its article text, PDF as its text layer with
        its pages), with fetched `pages` (extract.Extracted), and index them: one change, all or nothing."""
        from .extract import pdf_article

        files = [pdf_article(p.read_bytes(), p.name) if p.suffix.lower() == ".pdf" else (p.name, p.read_bytes())
                 for p in map(Path, paths)]
        max_bytes = self.settings.max_file_bytes
        return self._store([*incoming(list(pages), max_bytes, pages=True), *incoming(files, max_bytes)], progress)

    def add_extracted(self, items: list[Any], progress: bool = False, replace: bool = False) -> BuildReport:
        """Store extract.Extracted articles (a page, a feed entry, a PDF) with their metadata sidecar, and
        index them; `replace`: fetched pages (intake.Incoming.page: a page that changed is overwritten, one
        whose text another article holds is skipped and reported as its duplicate)."""
        return self._store(incoming(items, self.settings.max_file_bytes, pages=replace), progress)

    def add_texts(self, items: list[tuple[str, bytes]], progress: bool = False) -> BuildReport:
        """Add articles given as (file name, content): every one is checked before any is written."""
        return self._store(incoming(items, self.settings.max_file_bytes), progress)

    def remove(self, sources: list[str], progress: bool = False) -> BuildReport:
        """Take articles out: their files move to the corpus's .removed/ folder, so nothing is lost."""
        return self._commit(lambda indexed: (move_out(self.corpus, list(sources), indexed), []), progress)

    def _store(self, staged: list[Any], progress: bool) -> BuildReport:
        def change(indexed: dict[str, Any]) -> tuple[Any, list[tuple[str, str]]]:
            keep, skipped = check(self.corpus, staged, indexed)
            return write(self.corpus, keep), skipped
        return self._commit(change, progress)

    def _commit(self, change: Change, progress: bool, wait: float = 30.0) -> BuildReport:
        """One change to the corpus under the index's lock: checked against the index as it is now (another
        process may have changed it), written, and indexed; a build that fails puts the corpus back."""
        with locked(self.folder, wait):
            undo, skipped = change(read_manifest(self.folder)["articles"])
            try:
                report = build(self.corpus, self.folder, self.settings, self.embedder, progress)
            except BaseException:
                undo()
                raise
        self._state = load_state(self.folder, self.embedder, self.settings)
        return replace(report, duplicates=(*skipped, *report.duplicates)) if skipped else report
