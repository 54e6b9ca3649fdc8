"""The story key (core.cluster.story_key) leaves out a title's trailing site names when the
headline left is long enough to name one story, and m025 gives stored incidents that key: a
title-only copy under another site's suffix (…的举报 / …的举报-中商财经) is the same incident, while
a short notice title under two sites' names (协查通告，奖励3000元！) stays apart."""

from __future__ import annotations

import hashlib
import re
import unicodedata

import pytest

from core.cluster import story_key
from tests.conftest import seed

pytestmark = pytest.mark.both_engines


@pytest.mark.parametrize(
    "a, b",
    [
        ("关于对宋兆儒滥用职权侵吞集体财产等问题的举报", "关于对宋兆儒滥用职权侵吞集体财产等问题的举报-中商财经"),
        (
            "南京一社区偏僻处突现私家园林 或为骗拆迁补偿",
            "南京一社区偏僻处突现私家园林 或为骗拆迁补偿-桂平新闻网_桂平...",
        ),
        ("中国房地产1996年（中）：许家印升级当老板", "中国房地产1996年(中):许家印升级当老板 - 业界 -江门乐居网"),
        ("转：北京同仁堂旗下企业频频被曝质量不过关", "北京同仁堂旗下企业频频被曝质量不过关_猎豹网"),
    ],
)
def test_a_long_headline_under_a_site_suffix_keeps_its_key(a, b):
    assert story_key(a) == story_key(b)


@pytest.mark.parametrize(
    "a, b",
    [
        ("协查通告，奖励3000元！", "协查通告，奖励3000元！_交警二大队"),  # 4 CJK characters: any site's notice
        ("工作动态_青石镇人民政府", "工作动态_白沙镇人民政府"),
        ("关于对宋兆儒滥用职权侵吞集体财产等问题的举报", "关于对宋兆儒滥用职权侵吞集体财产等问题的回复"),
    ],
)
def test_a_short_title_or_another_headline_does_not(a, b):
    assert story_key(a) != story_key(b)


def _old_key(title: str) -> str:
    """The key stored before m025: the whole title (site suffix included)."""
    t = unicodedata.normalize("NFKC", title).lower()
    t = re.sub(r"^(转[:：]|转发[:：]|【[^】]{0,8}】|\[[^\]]{0,8}\])\s*", "", t)
    t = re.sub(r"[\W_]+", "", t)
    return hashlib.sha1(t.encode("utf-8")).hexdigest()[:16]


HEAD = "网友实名举报市交通运输局局长张建国公车私用问题"


def test_a_title_only_copy_under_a_site_suffix_joins_the_story(make_app):
    h = make_app()
    first = seed(h, HEAD, "有网友曝光张建国周末开公车去青石镇钓鱼。")
    copy = seed(h, HEAD + "-中商财经", "[2018-11-21 10:24] 来源：财经网 编辑：财经网 点击量：")
    assert first.incident_id is not None and copy.incident_id == first.incident_id


def test_m025_gives_stored_incidents_the_new_key(make_app):
    """An incident stored under the old key (its title's site suffix in it) is found by a copy
    without the suffix after m025, as after a restart."""
    from storage import write_tx
    from storage.db import m025_story_key_headline

    h = make_app()
    db, svc = h.app.db, h.app.service
    stored = seed(h, HEAD + "_投诉直通车_华声在线", "有网友曝光张建国周末开公车去青石镇钓鱼。")
    with write_tx(db):  # as stored before the key left the suffix out
        db.execute(
            "UPDATE incidents SET story_key = ? WHERE id = ?",
            [_old_key(HEAD + "_投诉直通车_华声在线"), stored.incident_id],
        )
        m025_story_key_headline(db)
    key = db.execute("SELECT story_key FROM incidents WHERE id = ?", [stored.incident_id]).fetchone()[0]
    assert key == story_key(HEAD) != _old_key(HEAD + "_投诉直通车_华声在线")
    svc._stories.clear()  # a restart: the window is read again from the database
    svc._stories_since = ""
    copy = seed(h, HEAD, "网友转帖：这是什么作风？")
    assert copy.incident_id == stored.incident_id
