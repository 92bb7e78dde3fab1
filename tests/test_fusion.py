"""Fusing the dense and keyword candidate lists: pure functions, no model."""

from __future__ import annotations

from dataclasses import replace

import pytest

from veille.errors import InputError
from veille.retrieve import fuse, rrf, zscore_fusion
from veille.settings import Settings

ZSCORE = Settings()
RRF = replace(Settings(), fusion="rrf")


def test_a_clear_lead_in_one_list_beats_a_near_tie_in_the_other() -> None:
    # Dense barely prefers 2 over 1; BM25 puts 1 far ahead of 2. Ranks alone call it a draw.
    dense = [(2, 0.86), (1, 0.85), (3, 0.70), (4, 0.69)]
    keyword = [(1, 20.0), (2, 8.0), (3, 7.5), (4, 7.0)]
    assert [i for i, _ in fuse(dense, keyword, ZSCORE)][0] == 1
    assert rrf([dense, keyword], 60)[0][1] == rrf([dense, keyword], 60)[1][1]


def test_a_chunk_only_one_list_found_still_ranks_and_the_scores_stay_between_0_and_1() -> None:
    fused = fuse([(1, 0.9), (2, 0.5)], [(3, 12.0), (2, 2.0)], ZSCORE)
    assert {i for i, _ in fused} == {1, 2, 3}
    assert all(0 < s < 1 for _, s in fused)
    assert [s for _, s in fused] == sorted((s for _, s in fused), reverse=True)


@pytest.mark.parametrize("keyword", [[], [(7, 3.0)]])
def test_no_keyword_match_or_a_single_one_leaves_the_dense_order(keyword: list[tuple[int, float]]) -> None:
    dense = [(7, 0.8), (5, 0.7), (6, 0.6)]
    assert [i for i, _ in fuse(dense, keyword, ZSCORE)] == [7, 5, 6]


def test_equal_scores_give_no_division_by_zero() -> None:
    assert zscore_fusion([[(1, 0.5), (2, 0.5)], [(2, 1.0)]], [0.5, 0.5]) == [(1, 0.0), (2, 0.0)]
    assert fuse([], [], ZSCORE) == []


def test_rrf_is_still_a_setting_and_an_unknown_fusion_is_refused() -> None:
    dense, keyword = [(1, 0.9), (2, 0.8)], [(2, 5.0)]
    assert fuse(dense, keyword, RRF) == rrf([dense, keyword], 60)
    with pytest.raises(InputError):
        fuse(dense, keyword, replace(Settings(), fusion="borda"))
