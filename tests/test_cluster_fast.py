"""The event's quick string tests (`core.cluster._raw_terms`, `_place_of_body`) give what the
patterns alone give, on varied terms and tokens."""

from __future__ import annotations

import random

from core import cluster
from core.cluster import _NUMBER, _PLACE_BODY, _UNITS, EVENT_CHARS, _place_of_body, _raw_terms


def _plain_place_of_body(term: str, places) -> frozenset[str] | None:
    for k in (3, 2):
        rest = term[k:]
        if 1 <= len(rest) <= 4 and term[:k] in places and _PLACE_BODY.search(rest):
            return places[term[:k]]
    return None


def _plain_raw_terms(tokens) -> list[str]:
    out: list[str] = []
    used = 0
    toks = list(tokens)
    for i, t in enumerate(toks):
        if used >= EVENT_CHARS:
            break
        used += len(t)
        if _NUMBER.match(t):
            nxt = toks[i + 1][:1] if i + 1 < len(toks) else ""
            if nxt in _UNITS and (len(t) >= 2 or nxt in "万亿"):
                out.append(t + nxt)
        elif len(t) >= 2 and cluster._CJK.search(t):
            out.append(t)
    return list(dict.fromkeys(out))


def test_place_of_body_matches_the_pattern():
    rng = random.Random(3)
    places = {"武汉": frozenset({"42"}), "常熟市": frozenset({"32", "3205"}), "长沙": frozenset({"43"})}
    heads = ["武汉", "常熟市", "长沙", "北京", "武", ""]
    tails = ["中院", "警方", "市纪委", "政府", "局", "委", "办", "厅", "公安", "交警", "大学", "人", "局长", "院", "\n"]
    terms = ["", "局", "\n"] + [
        rng.choice(heads) + "".join(rng.choice(tails) for _ in range(rng.randint(0, 3))) for _ in range(3000)
    ]
    found = 0
    for t in terms:
        assert _place_of_body(t, places) == _plain_place_of_body(t, places), t
        found += _place_of_body(t, places) is not None
    assert found > 100


def test_raw_terms_match_the_patterns():
    rng = random.Random(4)
    pool = [
        "150",
        "3.5",
        "1",
        "١٢",
        "²",
        "３",
        "12a",
        "次",
        "万",
        "人",
        "亿",
        "县长",
        "张建国",
        "g15",
        "ab",
        "县",
        "，",
        "3D",
    ]
    for _ in range(500):
        toks = [rng.choice(pool) for _ in range(rng.randint(0, 160))]
        assert _raw_terms(toks) == _plain_raw_terms(toks), toks
