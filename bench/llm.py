"""Generative mode (claims): where the seconds go, on the golden table's questions, warm.

    python bench/llm.py [--rounds 1] [--excerpts 3] [--around 1]   # the local model (make llm)

Per question: reading (search, extractive gate, evidence selection), the model's prefill (time to the draft's
first token less the reading), its writing (the rest), the tokens it read (the human message: excerpts and
question; the system prompt is the same every time and llama.cpp keeps it evaluated) and wrote. Then the
system prompt cold (the model's cache emptied) against warm, and the writing with the JSON grammar against
without (VEILLE_LLM_FORMAT=none). A run counts as right when the checked answer
holds the golden facts and cites a golden source.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import veille.structured as structured
from veille import Answer, open_index
from veille.evaluate import contains
from veille.generate import format_passages, read
from veille.settings import ROOT

QUESTIONS = [
    "combien de soldats selon Blinken ?",
    "Qui est le porte-parole du Kremlin ?",
    "Combien de soldats russes ont été tués ou blessés ?",
    "Quand la Corée du Sud a-t-elle convoqué l'ambassadeur russe à Séoul ?",
    "Quel village les troupes russes ont-elles capturé à Donetsk ?",
    "Qui est le secrétaire américain à la Défense ?",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--excerpts", type=int, default=structured.EXCERPTS)
    parser.add_argument("--around", type=int, default=structured.AROUND)
    args = parser.parse_args()
    structured.EXCERPTS, structured.AROUND = args.excerpts, args.around
    golden = {r["question"]: r for r in map(json.loads, (ROOT / "tests" / "golden.jsonl").read_text().splitlines())}
    index = open_index()
    index.ask(QUESTIONS[-1], mode="llm")  # warm: both models loaded, the system prompt evaluated
    llama = index.chat_model().client
    rows = []
    for _ in range(args.rounds):
        for q in QUESTIONS:
            t0 = time.perf_counter()
            r = read(index, q, (), structured.EXCERPTS, index.settings.k)
            reading = time.perf_counter() - t0
            windows = structured.excerpts(r.candidates, structured.EXCERPTS, structured.AROUND)
            human = structured.PROMPT.format_messages(question=q, passages=format_passages([w for w, _ in windows]))[1]
            t0, first, pieces, answer = time.perf_counter(), None, 0, None
            for item in index.ask_stream(q, mode="llm"):
                if isinstance(item, Answer):
                    answer = item
                else:
                    first = first if first is not None else time.perf_counter() - t0
                    pieces += 1
            total = time.perf_counter() - t0
            assert answer is not None and first is not None
            row = golden[q]
            right = (all(contains(answer.text, e) for e in row["expected"]) and bool(answer.citations)
                     and {c.source for c in answer.citations} <= set(row["sources"]))
            rows.append({"reading": reading, "prefill": first - reading, "writing": total - first, "total": total,
                         "first": first, "read_tokens": len(llama.tokenize(str(human.content).encode())),
                         "written": pieces, "kept": not answer.fallback, "right": right})
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0] if k not in ("kept", "right")}
    print(f"\n{len(rows)} answers, {args.excerpts} excerpts of {args.around} sentence(s) either side "
          f"(`python bench/llm.py --excerpts {args.excerpts} --around {args.around}`)\n")
    print("| reading (s) | prefill (s) | tokens read | ms a token read | writing (s) | tokens written | "
          "ms a token written | first token (s) | checked answer (s) | drafts kept | right |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {med['reading']:.2f} | {med['prefill']:.1f} | {med['read_tokens']:.0f} | "
          f"{1000 * med['prefill'] / med['read_tokens']:.0f} | {med['writing']:.1f} | {med['written']:.0f} | "
          f"{1000 * med['writing'] / med['written']:.0f} | {med['first']:.1f} | {med['total']:.1f} | "
          f"{sum(r['kept'] for r in rows)}/{len(rows)} | {sum(r['right'] for r in rows)}/{len(rows)} |")
    system = len(llama.tokenize(structured.SYSTEM.encode()))
    cold = []
    for q in QUESTIONS[:3]:
        llama.reset()  # forget the evaluated prompt: the system prompt is read again
        t0 = time.perf_counter()
        next(item for item in index.ask_stream(q, mode="llm") if not isinstance(item, Answer))
        cold.append(time.perf_counter() - t0)
    print(f"\nSystem prompt: {system} tokens; first token with it cold, median of 3: {statistics.median(cold):.1f} s "
          f"(warm: {med['first']:.1f} s)")
    grammar_cost(llama)


def grammar_cost(llama, rounds: int = 4) -> None:  # noqa: ANN001
    """ms a written token with the JSON grammar and without, on one fixed prompt (evaluated once: only the
    writing is timed), alternating so that a noisy neighbour weighs on both."""
    from llama_cpp import LlamaGrammar

    from veille.claims import schema

    grammar = LlamaGrammar.from_json_schema(json.dumps(schema(3)), verbose=False)
    passages = "\n\n".join(f"[{n}] {p}" for n, p in enumerate((
        "Les guerriers zoulous, qui portent des amulettes autour du cou, respectent celles du prince.",
        "Le prince est tué le 1er juin 1879.", "Sa mère reçoit ses effets."), 1))
    system, human = structured.PROMPT.format_messages(question="Que portent les guerriers zoulous ?", passages=passages)
    messages = [{"role": "system", "content": system.content}, {"role": "user", "content": human.content}]
    ms: dict[str, list[float]] = {"grammar": [], "none": []}
    for _ in range(rounds):
        for kind in ms:
            first, n = 0.0, 0
            for chunk in llama.create_chat_completion(messages, temperature=0, max_tokens=60, stream=True, seed=0,
                                                      grammar=grammar if kind == "grammar" else None):
                if chunk["choices"][0]["delta"].get("content"):
                    n += 1
                    first = first or time.perf_counter()
            ms[kind].append(1000 * (time.perf_counter() - first) / max(1, n - 1))
    print(f"\nWriting, ms a token, median of {rounds}: with the JSON grammar {statistics.median(ms['grammar']):.0f}, "
          f"without {statistics.median(ms['none']):.0f}")


if __name__ == "__main__":
    main()
