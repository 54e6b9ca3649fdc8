"""Officials recognised without a watch-list: title + name, surname + title, unit + title;
their rank; and relevance with the province profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from core.models import Post
from core.officials import OfficialFinder
from core.text import fold
from jobs.analyse import Analyzer
from tests.private_jieba import private_analyzer

PROVINCE = Path(__file__).resolve().parent.parent / "config" / "province.toml"


@pytest.fixture(scope="module")
def finder():
    return OfficialFinder()


@pytest.fixture(scope="module")
def province():
    return private_analyzer(load_config(PROVINCE))


def one(finder, text):
    officials, _ = finder.find(fold(text))
    assert officials, text
    return officials[0]


@pytest.mark.parametrize(
    "text,name,rank",
    [
        ("曲靖市副市长黄太文强调要抓好安全生产", "黄太文", "厅局"),
        ("内蒙呼和浩特市庄村村支书郑高贵长期把持基层政权乱作为", "郑高贵", "村"),
        ("抚州市临川区纪委书记吴小明接受审查", "吴小明", "县处"),
        ("原副县长王某某受贿案一审宣判", "王某某", "县处"),
        ("市委书记李强调研基层党建", "李强", "厅局"),
        ("环境保护部原副部长、党组成员张力军涉嫌严重违纪违法接受调查", "张力军", None),
    ],
)
def test_title_next_to_a_name(finder, text, name, rank):
    o = one(finder, text)
    assert o.name == name
    if rank:
        assert o.rank == rank


def test_surname_and_title(finder):
    o = one(finder, "张局长收了钱还不办事")
    assert (o.name, o.title) == ("张", "局长")


def test_unit_and_title(finder):
    o = one(finder, "某县教育局局长被查")
    assert o.unit == "某县教育局" and o.rank == "乡镇"
    assert one(finder, "湖南一厅长为当上副省级竟开价两亿").unit == "湖南"


def test_a_title_alone_or_inside_a_word_is_nobody(finder):
    for text in ("主任医师张三说要多喝水", "班主任李老师很负责", "该局局长表示", "公司销售部部长吴岩受贿"):
        officials, _ = finder.find(fold(text))
        assert not officials, text


def test_bare_cues_and_bodies(finder):
    _, cues = finder.find(fold("村干部和其父亲一手遮天"))
    assert "村干部" in cues
    _, cues = finder.find(fold("投诉主题：新宁一渡水镇政府不作为"))
    assert "镇政府" in cues


def test_a_post_without_a_title_word_is_not_tagged(finder, monkeypatch):
    import jieba.posseg

    monkeypatch.setattr(jieba.posseg, "cut", lambda *a, **k: pytest.fail("tagged"))
    assert finder.find(fold("今天天气不错，适合出游")) == ([], [])


def run(a, title, text=""):
    return a.analyse(Post("forum", "k", title, text), a.config.source("forum")).finding


@pytest.mark.parametrize(
    "title",
    [
        "曲靖市副市长黄太文强调要抓好安全生产",
        "内蒙呼和浩特市庄村村支书郑高贵长期把持基层政权乱作为",
        "投诉主题：新宁一渡水镇政府不作为",
    ],
)
def test_issue_examples_are_relevant_without_a_watch_list(province, title):
    f = run(province, title)
    assert f.relevant, title


def test_officials_are_shown_with_the_finding(province):
    f = run(province, "曲靖市副市长黄太文强调要抓好安全生产")
    assert f.matched["officials"] == ["曲靖市副市长黄太文"]


def test_sector_news_with_an_official_inside_is_not_relevant(province):
    f = run(province, "全省冬小麦播种基本结束", "省农业农村厅副厅长李某介绍，今年播种面积稳定。")
    assert not f.relevant


def test_watched_cadres_stay_on_top():
    from tests.conftest import EXAMPLE

    a = Analyzer(load_config(EXAMPLE))
    watched = a.analyse(Post("forum", "k", "张建国公车私用", ""), a.config.source("forum"))
    found = a.analyse(Post("forum", "k", "临川区交通运输局局长李某公车私用", ""), a.config.source("forum"))
    assert watched.finding.relevant and found.finding.relevant
    assert watched.sensitivity > found.sensitivity
