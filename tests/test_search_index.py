"""core.search's index tokens (issue 17.6): the faster `index_folded` gives exactly the tokens of
the implementation it replaced, and `index_post` with the analyser's folded post text gives
exactly `index_text` of the title and of the body (the stored index, and the values retention
deletes it with, must not change)."""

from __future__ import annotations

import random
import re

import pytest

from core.search import _CJK, index_folded, index_post, index_text
from core.text import fold
from tests.conftest import inews_posts as _inews

EDGES = [
    "",
    " ",
    "\n",
    "a b\r\n c",
    "张建国际贸易 G15高速 3.5% a-b_c #tag &x",
    "\u3000中文\t\tabc  def……！？",
    "市交通运输局局长李明回应网友质疑",
    "车",
    "一一一一一一一一",
    "𠀀𠀁 中𠀂文",
    "ｆｕｌｌ ｗｉｄｔｈ １２３",
    "事業單位招聘 張\u200b建國",
    "Straße ÉCOLE café_au_lait naïve Ωμέγα Москва",
    "ＡＢＣ①②③ ℃ ㈱ ﾊﾝｶｸ カタカナ 한국어",
    "张 建 国\u3000国庆期间\r\n\r\n  第二行\u2028第三行",
    "\u200b\u200d\ufeff",
]

# the implementation before issue 17.6's speed-up, as the reference
_OLD_RUN = re.compile(f"([{_CJK}]+)|((?:(?![{_CJK}])[^\\W_])+)")


def _old_index_text(text: str) -> str:
    out: list[str] = []
    for m in _OLD_RUN.finditer(fold(text).lower()):
        run = m.group(0)
        if m.group(1):
            out.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]])
        else:
            out.append(run)
    return " ".join(out)


def _random_texts(n: int) -> list[str]:
    rng = random.Random(17)
    pool = "张建国市交通局长車書記ａＢ１é_- \u3000\t\n\r\u200b，。！？、℃①ﾊカ한𠀀" + "".join(
        chr(c) for c in range(0x20, 0x3000, 7)
    )
    return ["".join(rng.choice(pool) for _ in range(rng.randint(0, 40))) for _ in range(n)]


def test_index_tokens_unchanged_on_edges_and_random_text():
    for t in [*EDGES, *_random_texts(3000)]:
        assert index_text(t) == _old_index_text(t), repr(t)
        assert index_folded(fold(t)) == _old_index_text(t), repr(t)


def test_index_tokens_unchanged_on_inews():
    for title, content in _inews(1500):
        assert index_text(title) == _old_index_text(title)
        assert index_text(content) == _old_index_text(content), content[:40]


def _post_pairs() -> list[tuple[str, str]]:
    texts = [*EDGES, *_random_texts(400)]
    return [(a, b) for a in texts[:40] for b in texts[:40]] + list(zip(texts, reversed(texts), strict=True))


def test_index_post_from_the_folded_post_is_title_and_body_indexed_apart():
    for title, text in [*_post_pairs(), *_inews(1500)]:
        want = (index_text(title), index_text(text))
        assert index_post(title, text) == want
        assert index_post(title, text, fold(f"{title}\n{text}")) == want, (title[:20], text[:20])


RUN = [
    ("云川哪家羊肉汤最好喝？求推荐", "老城区那家汤底浓郁"),
    ("事業單位招聘面試成績公佈", "考生質疑"),  # traditional: found by simplified words
    ("网友实名举报市交通运输局局长张建国公车私用", "有网友曝光张建国周末开公车去青石镇钓鱼，网友愤怒质疑。"),
    ("", "没有标题的帖子：青石镇老街修路"),
    ("G15高速 封路通知", ""),
]


@pytest.mark.both_engines
async def test_a_run_indexes_its_posts_once_and_searches_find_them(make_app):
    from core.models import Post
    from core.search import parse_query
    from storage import posts as post_store
    from storage import write_tx

    h = make_app()
    source = h.app.config.source("forum")
    posts = [Post(source.id, f"run:{i}", t, x, url=f"https://bbs.example/r{i}") for i, (t, x) in enumerate(RUN)]
    outs = h.app.pipeline.ingest_many(posts, source)
    assert all(o.post_id for o in outs) and any(o.incident_id for o in outs)
    assert h.count("posts", "indexed = 0") == 0  # nothing left for the background indexer
    for words, title in [
        ("羊肉汤", "云川哪家羊肉汤最好喝？求推荐"),
        ("招聘 成绩", "事業單位招聘面試成績公佈"),
        ("交通运输局", "网友实名举报市交通运输局局长张建国公车私用"),
        ("老街修路", ""),
        ("g15", "G15高速 封路通知"),
    ]:
        rows = post_store.search_posts(h.app.db, parse_query(words))
        assert [r["title"] for r in rows] == [title], words
    # a second indexer that prepared the same posts (the background one, racing the run's own)
    # adds nothing: a post is in the index once
    rows = [post_store.index_now(o.post_id, p.title, p.text) for o, p in zip(outs, posts, strict=True)]
    with write_tx(h.app.db):
        assert post_store.set_indexed(h.app.db, rows) == 0
    assert len(post_store.search_posts(h.app.db, parse_query("羊肉汤"))) == 1
