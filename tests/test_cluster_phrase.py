"""Same story by a headline phrase (issue 13): a forum's copy keeps the news headline's telling
phrase while its body is readers' replies; template headlines of different places, weeks or
people share wording but not the story. And follow-ups: a post the rules judge not relevant
that is clearly the same story as an incident in the window joins it."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from core.cluster import (
    PHRASE_COMMON_IN_WINDOW,
    Candidate,
    Event,
    StoryIndex,
    choose,
    event_of,
    headline,
    headline_conflict,
    headline_phrase,
    story_key,
)
from tests.test_cluster_events import (
    inews,  # noqa: F401 - the module fixture
    text_fp,
)
from tests.test_cluster_events import tokens as _tokens

GROUPS = Path(__file__).resolve().parent.parent / "config" / "labels" / "inews_groups.json"
WHEN = "2026-11-24T00:00:00+00:00"


def ev(*terms: str, people=(), places=(), regions=()) -> Event:
    return Event(frozenset(terms) | set(people) | set(places), frozenset(people), frozenset(places), frozenset(regions))


def both(title: str, event: Event, cands: list[Candidate]) -> tuple[int | None, int | None]:
    """(the plain rule's answer, the index's answer) for a post with this title and event."""
    index = StoryIndex()
    for c in sorted(cands, key=lambda c: c.id):
        index.add(c, WHEN)
    head = headline(title)
    return (
        choose("post", None, [], cands[::-1], event=event, headline=head),
        index.choose("post", None, [], event=event, headline=head),
    )


def test_the_headline_drops_prefixes_and_site_suffixes():
    assert headline("zt 头顶光环的“人民警察”落马:家里除了盐什么都要人送 - 第6页 ...") == (
        "zt 头顶光环的“人民警察”落马:家里除了盐什么都要人送"
    )
    assert (
        headline("经侦支队长除了盐什么都要人送 上世纪就索贿房-ag8|home")
        == "经侦支队长除了盐什么都要人送上世纪就索贿房"  # fold joins CJK across a space
    )
    assert headline("转：【快讯】舉報過期食品獎2毛錢") == "举报过期食品奖2毛钱"
    assert headline_phrase("举报过期食品奖2毛钱，这是在寒碜谁", "举报过期食品奖2毛有失公允") == "举报过期食品奖#毛"


def test_copies_with_a_shared_headline_phrase_join():
    story = Candidate(
        1,
        "k1",
        None,
        frozenset(),
        event=ev("光环", "支队长", "索贿", people=["胡志国"]),
        headline=headline("经侦支队长除了盐什么都要人送 上世纪就索贿房"),
    )
    other = Candidate(2, "k2", None, frozenset(), event=ev("环卫工", "醉驾"), headline=headline("干部醉驾撞死环卫工"))
    post = ev("光环", "人民警察", "头顶")  # a forum page: the readers' replies name nobody
    title = "zt 头顶光环的“人民警察”落马:家里除了盐什么都要人送 - 第6页 ..."
    assert both(title, post, [story, other]) == (1, 1)
    # the phrase alone is not enough: an event term beyond it, and no conflict of who or where
    assert both(title, ev("人民警察", "头顶"), [story]) == (None, None)
    assert both(title, ev("光环", people=["张三"]), [story]) == (None, None)
    assert both("除了盐什么都要", post, [story]) == (None, None)  # seven characters are not a phrase


@pytest.mark.parametrize(
    ("a", "b", "why"),
    [
        # the same court's notice for two weeks
        (
            "泰州市中级人民法院案件公开开庭告示(2015年7月20日至7月24日)",
            "泰州市中级人民法院案件公开开庭告示(2015年6月28日至7月3日)",
            "numbers",
        ),
        ("重庆通报6起扶贫领域腐败和作风问题典型案例", "抚州:通报5起扶贫领域腐败和作风问题典型案例", "numbers"),
        ("苏先生投诉联联周边游科技公司", "周先生投诉联联周边游科技公司", "people"),
        # one county's weekly bulletin
        (
            "某县纪委监委通报三起违反中央八项规定精神典型问题",
            "某县纪委监委通报四起违反中央八项规定精神典型问题",
            "numbers",
        ),
        ("2018年公务员考试常识:科技常识(57)", "2018年公务员考试常识:法律常识(52)", "numbers"),
    ],
)
def test_template_headlines_disagree(a, b, why):
    assert headline_conflict(headline(a), headline(b)) == why
    shared = ev("告示", "案号", "主审", "典型案例", "联联", "常识")
    cands = [Candidate(1, "k1", None, frozenset(), event=shared, headline=headline(a))]
    assert both(b, shared, cands) == (None, None)


def test_template_headlines_of_different_places_stay_apart():
    """Two cities' recruitment notices: the same wording, the regions disagree."""
    a = Candidate(
        1,
        "k1",
        None,
        frozenset(),
        event=ev("事业单位", "招聘公告", "岗位表", places=["抚州市"], regions=["36", "3610"]),
        headline=headline("抚州市2018年事业单位公开招聘工作人员公告"),
    )
    post = ev("事业单位", "招聘公告", "岗位表", places=["赣州市"], regions=["36", "3607"])
    assert both("赣州市2018年事业单位公开招聘工作人员公告", post, [a]) == (None, None)
    # the same city's notice, republished by another site: one story
    same = ev("事业单位", "招聘公告", "岗位表", places=["抚州市"], regions=["36", "3610"])
    assert both("抚州市2018年事业单位公开招聘工作人员公告(附岗位表)_抚州人事网", same, [a]) == (1, 1)


def test_institutional_wording_alone_joins_nothing():
    """开展交通安全宣传: eight characters two unrelated police stories share, and no event term."""
    a = Candidate(
        1,
        "k1",
        None,
        frozenset(),
        event=ev("蓬安", "辖区", "学校"),
        headline=headline("蓬安交警深入辖区学校开展交通安全宣传教育"),
    )
    assert both("交警大队进企业开展交通安全宣传", ev("企业", "货车司机"), [a]) == (None, None)


def test_a_phrase_many_open_incidents_hold_is_the_weeks_template():
    title = "某地纪委监委通报三起违反中央八项规定精神问题"
    crowd = [
        Candidate(
            i, f"k{i}", None, frozenset(), event=ev("通报", f"别的{i}", "典型"), headline=headline(f"第{i}地{title}")
        )
        for i in range(1, PHRASE_COMMON_IN_WINDOW + 3)
    ]
    post = ev("通报", "典型")
    assert both(title, post, crowd[:1]) == (1, 1)
    assert both(title, post, crowd) == (None, None)


def test_index_gives_the_same_phrase_answers_as_the_rule():
    rnd = random.Random(17)
    pieces = ["除了盐什么都要人送", "举报过期食品奖两毛", "开展交通安全宣传", "上世纪就索贿房", "村支书把持村务"]
    fill = "甲乙丙丁戊己庚辛壬癸"

    def random_title() -> str:
        return "".join(rnd.choice(fill) for _ in range(rnd.randint(0, 4))) + rnd.choice(pieces) + str(rnd.randint(1, 3))

    def random_event() -> Event:
        return ev(
            *rnd.sample(["光环", "索贿", "两毛", "宣传", "村霸", "某地"], 2),
            regions=rnd.choice([[], ["37", "3708"], ["44", "4401"]]),
        )

    index, pool = StoryIndex(), []
    for i in range(1, 400):
        c = Candidate(i, f"k{i}", None, frozenset(), event=random_event(), headline=headline(random_title()))
        index.add(c, WHEN)
        pool.append(c)
        if i % 3 == 0:
            head, q = headline(random_title()), random_event()
            assert index.choose("x", None, [], event=q, headline=head) == choose(
                "x", None, [], pool[::-1], event=q, headline=head
            ), i


# ------------------------------------------------------------------------------ real posts


def _candidate(inews, i: int) -> Candidate:
    toks = _tokens(inews, i)
    return Candidate(i, f"k{i}", text_fp(toks), frozenset(), event=event_of(toks), headline=headline(inews[0][i]))


def _join(inews, a: int, b: int) -> int | None:
    toks = _tokens(inews, b)
    return choose(
        f"k{b}", text_fp(toks), [], [_candidate(inews, a)], event=event_of(toks), headline=headline(inews[0][b])
    )


def test_the_forum_copy_joins_its_story(inews):
    """inews 4404 (a forum page: 头顶光环的“人民警察”落马:家里除了盐什么都要人送) and 718 (经侦支队长
    除了盐什么都要人送 上世纪就索贿房): neither text nor lead terms join them; the headline does."""
    assert (
        choose(
            "k4404", text_fp(_tokens(inews, 4404)), [], [_candidate(inews, 718)], event=event_of(_tokens(inews, 4404))
        )
        is None
    )
    assert _join(inews, 718, 4404) == 718


def test_look_alikes_stay_apart_with_the_phrase_rule(inews):
    """Every look-alike pair of two relevant posts stays two incidents with headlines compared too."""
    labels = {
        json.loads(line)["idx"]: json.loads(line)["relevant"] for line in GROUPS.with_name("inews_train.jsonl").open()
    }
    pairs = [(a, b) for a, b in json.loads(GROUPS.read_text())["different_pairs"] if labels[a] and labels[b]]
    merged = [(a, b) for a, b in pairs if _join(inews, a, b) is not None or _join(inews, b, a) is not None]
    assert merged == []


# ------------------------------------------------------------------------------ follow-ups


class _Analysis:
    """What the analyser returns for a post it judged not relevant after full analysis."""

    def __init__(self, title: str, segmented: bool = True):
        from core.models import Finding

        self.finding = Finding(relevant=False, story_key=story_key(title))
        self.sensitivity = 0.0
        self.sensitivity_reasons = ()
        self.segmented = segmented


def _open(svc, inews, i: int):
    from core.grades import Grade
    from core.models import Finding, Post
    from jobs.analyse import Analysis

    toks = _tokens(inews, i)
    f = Finding(
        relevant=True,
        category="政府回应",
        grade=Grade.III,
        tokens=tuple(toks),
        story_key=story_key(inews[0][i]),
        fingerprint=text_fp(toks),
    )
    post = Post(source_id="ycnews", item_key=f"inews-{i}", title=inews[0][i], text=inews[1][i])
    out = svc.ingest(post, Analysis(f, 3.0, ()), None, "")
    assert out.created
    return out.incident_id


def _later(svc, inews, i: int, *, segmented: bool = True, source: str = "forum"):
    from core.models import Post

    post = Post(source_id=source, item_key=f"inews-{i}", title=inews[0][i], text=inews[1][i])
    return svc.ingest(post, _Analysis(inews[0][i], segmented), None, "")


def test_a_non_relevant_near_copy_of_an_open_incident_joins_as_a_follow_up(make_app, inews):
    """inews 3269 (武汉中院:未受理过充电电瓶车被盗触电身亡赔偿案), which the rules may judge not
    relevant, is a near copy of 1830 (武汉中院通报澄清…纯属假新闻): it joins 1830's incident, the
    timeline says why, and the incident counts the new site."""
    h = make_app()
    svc = h.app.service
    iid = _open(svc, inews, 1830)
    out = _later(svc, inews, 3269)
    assert (out.incident_id, out.follow_up, out.created) == (iid, "copy", False)
    assert svc.get(iid).post_count == 2
    from core.render import TimelineOptions, timeline_text

    lines = timeline_text(svc.store.events_for(svc.db, iid), svc.name_of, svc.tz, TimelineOptions(skip=frozenset()))
    assert any("来源 forum（同一事件后续报道：转载）" in line for line in lines), lines


def test_a_follow_up_by_headline_phrase_and_place(make_app, inews):
    """inews 2127 (城固一村换新电表每户收50元) after 45 (城固董家营镇某村更换新电表每户收50元，违规！)."""
    h = make_app()
    svc = h.app.service
    iid = _open(svc, inews, 45)
    out = _later(svc, inews, 2127)
    assert out.incident_id == iid and out.follow_up in ("phrase", "copy")


def test_a_post_merely_on_the_same_topic_does_not_follow_up(make_app, inews):
    """Another food-reward commentary, a post that did not pass the prefilter, and a post of
    another story stay out of the incident."""
    h = make_app()
    svc = h.app.service
    _open(svc, inews, 534)  # 举报过期食品只奖两毛钱 更像“逗你玩”
    assert _later(svc, inews, 1626).incident_id is None  # 举报过期食品被奖2毛: a commentary, own words
    _open(svc, inews, 1830)
    assert _later(svc, inews, 3269, segmented=False).incident_id is None  # not analysed: never a follow-up
    assert _later(svc, inews, 277).incident_id is None  # another story altogether


@pytest.mark.timeout(300)  # the 10,000 synthetic incidents of test_cluster_scale (cached between runs)
def test_half_a_story_headline_in_ten_thousand_other_incidents_joins_nothing():
    """At a large N the phrase rule meets its worst case: 10,000 open incidents (other real
    texts and their mixtures) whose headlines are half of one of 300 distinct stories' headline
    and half of another post's. No story joins one of them by its headline (what the event
    alone joins is test_cluster_scale's), and a copy of a story (its headline phrase and its
    event) still finds its incident among them."""
    from tests.test_cluster_scale import N, _texts, synth_events

    titles, story_tokens, _, pool_titles = _texts()
    rnd = random.Random(5)
    items = []
    for i, event in enumerate(synth_events(N)):
        s, p = titles[rnd.randrange(len(titles))], rnd.choice(pool_titles)
        title = s[: len(s) // 2] + p[len(p) // 2 :] if rnd.random() < 0.5 else p[: len(p) // 2] + s[len(s) // 2 :]
        items.append((Candidate(i + 1, f"x{i}", None, frozenset(), event=event, headline=headline(title)), WHEN))
    index = StoryIndex()
    index.extend(items)
    by_phrase, opened = [], {}
    for j, (title, toks) in enumerate(zip(titles, story_tokens)):
        event, head = event_of(toks), headline(title)
        hit = index.choose(f"s{j}", None, [], event=event, headline=head)
        if hit is not None and index.choose(f"s{j}", None, [], event=event) is None:
            by_phrase.append((title, items[hit - 1][0].headline if hit <= N else hit))
        if hit is None:
            opened[j] = N + j + 1
            index.add(Candidate(N + j + 1, f"s{j}", None, frozenset(), event=event, headline=head), WHEN)
    assert by_phrase == []
    found = 0
    for j, n in list(opened.items())[:60]:
        copy = f"转：{titles[j]}_论坛 - 第2页"  # a forum's copy: the headline, the story's event
        found += index.choose("copy", None, [], event=event_of(story_tokens[j]), headline=headline(copy)) == n
    assert found >= 50, found


def test_index_gives_the_same_phrase_answers_with_incidents_leaving_the_window():
    """Pieces held by incidents that left the window (still in the index until it is compacted)
    and by more than PHRASE_COMMON_IN_WINDOW live ones: the index reads the live holders only
    as far as it must, with the rule's answers."""
    rnd = random.Random(18)
    pieces = ["除了盐什么都要人送", "举报过期食品奖两毛", "开展交通安全宣传", "上世纪就索贿房"]
    fill = "甲乙丙丁戊己庚辛壬癸子丑寅卯"

    def random_title() -> str:
        return "".join(rnd.choice(fill) for _ in range(rnd.randint(0, 6))) + rnd.choice(pieces)

    def random_event() -> Event:
        return ev(*rnd.sample(["光环", "索贿", "两毛", "宣传", "村霸", "某地"], 2))

    index, pool = StoryIndex(), []
    for i in range(1, 300):
        at = f"2026-01-01T{i // 60:02d}:{i % 60:02d}:00+00:00"
        c = Candidate(i, f"k{i}", None, frozenset(), event=random_event(), headline=headline(random_title()))
        index.add(c, at)
        pool.append((c, at))
        if i % 25 == 0:  # the oldest leave the window, a random share of the pool's age
            since = pool[rnd.randrange(len(pool))][1]
            index.expire(since)
            pool = [(c, a) for c, a in pool if a >= since]
        head, q = headline(random_title()), random_event()
        live = [c for c, _ in pool][::-1]
        assert index.choose("x", None, [], event=q, headline=head) == choose(
            "x", None, [], live, event=q, headline=head
        ), i
