"""/search finds what people type (issue 13.5, 17.6): words inside longer words, two-character
words, traditional posts for simplified queries, Latin and digits; ranked, highlighted, safe."""

from __future__ import annotations

import pytest

from core.models import Role
from core.search import parse_query
from storage.db import SCHEMA_MIGRATIONS, open_db
from storage.posts import search_posts
from tests.conftest import seed

STAFF = "liqiang"

pytestmark = pytest.mark.both_engines


def plain(reply: str) -> str:
    return reply.replace("【", "").replace("】", "")


def titles(reply: str) -> list[str]:
    return [line[2:] for line in plain(reply).splitlines() if line.startswith("· ")]


@pytest.fixture
def h(make_app):
    return make_app()


async def search(h, words: str) -> str:
    return await h.say(STAFF, f"/search {words}")


@pytest.mark.parametrize(
    "title, query",
    [
        ("某区事业单位招聘考试成绩引发质疑", "招聘"),  # 2-char word inside a longer jieba token
        ("网友反映市交通运输局办事效率低", "交通运输局"),  # the unit without its 市 prefix
        ("网友反映市交通运输局办事效率低", "运输"),
        ("市自来水公司停水通知引不满", "自来水"),  # 3-char word inside a longer token
        ("市自来水公司停水通知引不满", "水公司"),  # across jieba tokens
        ("青石镇卫生院医保报销难", "卫生院"),
        ("青石镇卫生院医保报销难", "医保"),
    ],
)
async def test_a_word_is_found_inside_longer_words(h, title, query):
    seed(h, title, "有网友发帖反映。")
    reply = await search(h, query)
    assert any(title in t for t in titles(reply)), (query, reply)


async def test_a_shorter_word_finds_at_least_what_the_longer_one_finds(h):
    seed(h, "网友举报某局长公车私用", "")
    seed(h, "公车私用问题再引关注", "")
    seed(h, "又见公车私用：周末开车钓鱼", "")
    seed(h, "公车改革后的新问题", "")
    long = titles(await search(h, "公车私用"))
    short = titles(await search(h, "公车"))
    assert len(long) == 3
    assert set(long) <= set(short) and len(short) == 4


@pytest.mark.parametrize(
    "title, query",
    [
        ("網友舉報事業單位招聘黑幕", "招聘"),
        ("市交通運輸局回應網友質疑", "交通运输局"),
        ("青石鎮衛生院醫保報銷難", "医保报销"),
        ("張\u200b建國公車私用", "张建国"),
    ],
)
async def test_traditional_posts_are_found_by_simplified_words(h, title, query):
    seed(h, title, "")
    reply = await search(h, query)
    assert title in plain(reply), (query, reply)  # shown as written


@pytest.mark.parametrize(
    "title, query",
    [
        ("G15沈海高速青石段发生多车追尾", "G15"),
        ("G15沈海高速青石段发生多车追尾", "g15沈海"),
        ("2026年度公务员招录笔试成绩公布", "2026年"),
        ("2026年度公务员招录笔试成绩公布", "2026"),
        ("市一中iPhone抽奖活动被指违规", "iphone"),
        ("５Ｇ基站建设遇阻", "5G"),  # full-width in the post
    ],
)
async def test_latin_letters_and_digits(h, title, query):
    seed(h, title, "")
    reply = await search(h, query)
    assert title in plain(reply), (query, reply)


async def test_a_word_only_in_the_body_is_found_and_shown_in_a_snippet(h):
    seed(h, "关于近期网友关注问题的说明", "经核查，网友反映的事业单位招聘加分问题属实，已责令整改。")
    reply = await search(h, "招聘")
    assert "关于近期网友关注问题的说明" in reply
    assert "【招聘】" in reply


async def test_several_words_all_must_occur(h):
    seed(h, "市交通运输局局长公车私用", "")
    seed(h, "市交通运输局发布春运安排", "")
    reply = await search(h, "交通运输局 公车")
    assert titles(reply) and all("公车" in t for t in titles(reply)), reply


async def test_matched_words_are_highlighted(h):
    seed(h, "某区事业单位招聘考试成绩引发质疑", "")
    reply = await search(h, "招聘 成绩")
    assert "事业单位【招聘】考试【成绩】引发质疑" in reply
    seed(h, "市交通運輸局回應", "")
    assert "市【交通運輸局】回應" in await search(h, "交通运输局")


async def test_best_match_first_newest_first_among_equals(h, clock):
    seed(h, "青石镇停水", "")
    clock.advance(hours=1)
    seed(h, "青石镇停水。", "")  # same words, newer
    clock.advance(hours=1)
    seed(h, "青石镇停水！", "")  # same words, newest
    reply = await search(h, "停水")
    assert titles(reply)[:3] == [
        "青石镇停水！（云川论坛（样例））",
        "青石镇停水。（云川论坛（样例））",
        "青石镇停水（云川论坛（样例））",
    ], reply


async def test_a_title_hit_ranks_above_a_body_hit(h, clock):
    seed(h, "青石镇停水", "")
    clock.advance(hours=1)
    seed(h, "关于近期情况的说明", "青石镇部分地区停水两天，请居民做好准备。")  # newer, body only
    reply = await search(h, "停水")
    assert titles(reply)[0].startswith("青石镇停水"), reply


@pytest.mark.parametrize("words", ['"招聘', '招聘*', '-招聘', '^招聘', '招聘"))(', '{招聘}', '招聘"考试'])
async def test_fts_syntax_characters_in_queries_are_harmless(h, words):
    seed(h, "某区事业单位招聘考试成绩引发质疑", "")
    reply = await search(h, words)
    assert "事业单位" in reply, (words, reply)


@pytest.mark.parametrize(
    "words", ['招聘 NEAR 考试', 'NEAR(招聘', '招聘 OR 考试', 'title:招聘', '招聘 AND', '招聘 NOT 考试']
)
async def test_fts_operators_are_searched_as_words(h, words):
    seed(h, "某区事业单位招聘考试成绩引发质疑", "")
    seed(h, "招聘 NEAR OR AND NOT title 考试", "")
    reply = await search(h, words)
    assert titles(reply) == ["招聘 NEAR OR AND NOT title 考试（云川论坛（样例））"], (words, reply)


@pytest.mark.parametrize("words", ['"', '*', '-', '^', '()', '"*"'])
async def test_a_query_of_syntax_only_gets_a_clear_reply(h, words):
    reply = await search(h, words)
    assert "没有可搜索的文字" in reply, reply


async def test_a_very_long_query_is_refused_with_a_clear_reply(h):
    seed(h, "某区事业单位招聘考试成绩引发质疑", "")
    reply = await search(h, "招聘" * 500)
    assert "搜索词太长（1000 字）" in reply and "以内" in reply


async def test_search_still_filters_rows_by_visibility(two, monkeypatch):
    from handlers import permissions

    # /search is for the team; should it ever be opened to another role, that role still sees
    # only the posts of incidents it may see
    assert "无权使用 /search" in await two.say("xuanchuan", "/search 张建国")
    monkeypatch.setitem(permissions.ALLOWED, "search", {Role.ADMIN, Role.STAFF, Role.LEADER, Role.OFFICER})
    staff = await two.say(STAFF, "/search 公示")
    assert "干部任前公示" in plain(staff)
    officer = await two.say("hexiaoyu", "/search 公示")
    assert "干部任前公示" not in plain(officer)
    assert "没有找到" in officer


def test_migration_rebuilds_the_index_of_existing_posts(tmp_path):
    path = tmp_path / "old.db"
    db = open_db(path, migrate=False)
    SCHEMA_MIGRATIONS.apply(db, stop_before="m013_search_bigrams")
    rows = [
        (
            "forum",
            f"k{i}",
            f"事業單位招聘第{i}批",
            "正文",
            f"2026-11-{i + 1:02d}T00:00:00+00:00",
            "事業 單位招聘",
            i % 2,
        )
        for i in range(5)
    ]
    db.conn.executemany(
        "INSERT INTO posts (source_id, item_key, title, text, fetched_at, seg, indexed) VALUES (?,?,?,?,?,?,?)", rows
    )
    db.close()
    db = open_db(path)
    assert "seg" not in db["posts"].columns_dict and "posts_fts" not in db.table_names()
    found = search_posts(db, parse_query("招聘"))
    assert [r["title"] for r in found] == [f"事業單位招聘第{i}批" for i in reversed(range(5))]
    assert db.execute("SELECT COUNT(*) FROM posts WHERE indexed = 0").fetchone()[0] == 0


async def test_migration_queues_older_posts_for_the_background_indexer(tmp_path, monkeypatch):
    from jobs.pipeline import index_off_loop
    from storage import db as db_module

    monkeypatch.setattr(db_module, "M013_INLINE", 3)
    monkeypatch.setattr(db_module, "M013_BATCH", 2)
    path = tmp_path / "old.db"
    db = open_db(path, migrate=False)
    SCHEMA_MIGRATIONS.apply(db, stop_before="m013_search_bigrams")
    db.conn.executemany(
        "INSERT INTO posts (source_id, item_key, title, text, fetched_at, seg) VALUES (?,?,?,?,?,?)",
        [("forum", f"k{i}", f"招聘公告{i}", "", f"2026-11-{i + 1:02d}T00:00:00+00:00", "") for i in range(7)],
    )
    db.close()
    db = open_db(path)
    assert len(search_posts(db, parse_query("招聘"))) == 3  # the newest, at once
    assert db.execute("SELECT COUNT(*) FROM posts WHERE indexed = 0").fetchone()[0] == 4
    assert await index_off_loop(db) == 0
    assert [r["title"] for r in search_posts(db, parse_query("招聘"))] == [f"招聘公告{i}" for i in reversed(range(7))]
