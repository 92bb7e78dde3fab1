"""The answerer's weights in the package are the ones bench/fit_answer.py fits on PIAF dev."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from veille.evidence import load_model

ROOT = Path(__file__).resolve().parents[1]
PIAF = ROOT.parent / "shared" / "data" / "piaf" / "piaf-v1.1.json"


def test_the_weights_are_the_ones_the_fit_script_writes() -> None:
    assert PIAF.is_file(), f"{PIAF} is missing: CI and the developers' machines have ../shared beside the repo"
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "fit_answer.py"), "--check"], cwd=ROOT,
                         capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "the package's weights are the ones this fit writes" in out.stdout


def test_the_weights_are_plain_json_with_named_features() -> None:
    for name in ("evidence", "abstain", "short"):
        raw = json.loads((ROOT / "src" / "veille" / "weights" / f"{name}.json").read_text(encoding="utf-8"))
        assert raw["version"] == 1 and len(raw["features"]) == len(raw["coef"]) == len(raw["mean"])
        model = load_model(name)
        assert model.names == tuple(raw["features"])
    assert 0 < load_model("abstain").extra["min_probability"] < 1
