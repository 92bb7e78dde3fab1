"""Print the answerer's features for each golden question: the data behind the abstention thresholds."""

import json
import sys
import time
from pathlib import Path

from veille import open_index
from veille.answer import score_candidates

golden = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/golden.jsonl")
idx = open_index()
idx.search("warm up", 1)
for line in golden.read_text().splitlines():
    row = json.loads(line)
    t = time.perf_counter()
    hits = idx.search(row["question"], 6)
    cands = score_candidates(idx, row["question"], hits)
    ms = (time.perf_counter() - t) * 1000
    b = cands[0]
    tag = "ANS" if row["sources"] else "NO "
    print(f"{tag} lex={b.lexical:.2f} sup={b.support:.2f} dense={b.dense:.3f} kind={int(b.kind_ok)} "
          f"{ms:4.0f}ms {row['question'][:60]!r} -> {b.hit.chunk.source[:3]} {b.text[:60]!r}")
