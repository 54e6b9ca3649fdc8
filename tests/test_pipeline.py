"""The minimal pipeline, end to end: bundled feeds -> graded incidents -> cards in the group;
one incident per story; restarts do not re-alert; a broken source does not stop the others."""

from __future__ import annotations

import pytest

from bot.config import load_config
from core.models import Post
from jobs.collect import canonical_url, parse_feed


async def test_bundled_samples_give_graded_alerts(make_app):
    h = make_app()
    runs = await h.app.collect_once()
    assert [r.error for r in runs] == [None, None, None]
    out = await h.deliver()
    grades = {r["title"]: r["grade"] for r in h.app.db.query("SELECT title, grade FROM incidents")}
    assert grades["网友实名举报市交通运输局局长张建国公车私用"] == "I"
    assert grades["事业单位招聘面试成绩有猫腻？考生质疑有内定"] == "III"
    assert grades["市委组织部发布干部任前公示"] == "IV"
    # irrelevant posts are stored (searchable) but raise no incident
    assert "云川哪家羊肉汤最好喝？求推荐" not in grades
    assert h.count("posts") == 17
    # one card per incident, each with its grade badge, reasons and actions
    assert out.count("────\n🔴 I 特别重大") == 1
    assert out.count("操作：") == len(grades)
    assert "定级理由：" in out


async def test_same_story_from_two_sites_is_one_incident_and_grade_rises(make_app):
    h = make_app()
    await h.app.collect_once()
    rows = list(h.app.db.query("SELECT id, source_count, post_count FROM incidents WHERE title LIKE '%张建国%'"))
    assert len(rows) == 1
    assert rows[0]["source_count"] == 2 and rows[0]["post_count"] == 3  # provincial paper, forum, forum repost
    events = [r["action"] for r in h.app.db.query("SELECT action FROM events WHERE incident_id=?", [rows[0]["id"]])]
    assert events.count("opened") == 1 and "regraded" in events
    out = await h.deliver()
    assert out.count(f"特别重大 · #{rows[0]['id']}") == 2  # the card, then its in-place update line
    assert f"⬆️ #{rows[0]['id']} 等级上调" in out


async def test_restart_does_not_realert(make_app, tmp_path):
    first = make_app()
    await first.app.collect_once()
    await first.deliver()
    n_outbox = first.count("outbox")
    first.app.close()
    second = make_app()  # same database file
    runs = await second.app.collect_once()
    assert sum(r.new_posts for r in runs) == 0
    assert await second.deliver() == ""
    assert second.count("outbox") == n_outbox


async def test_http_source_on_loopback(make_app, config_dir, http_server):
    feed = (config_dir / "samples" / "forum.atom").read_bytes()
    http_server.routes["/feed.atom"] = (200, {"Content-Type": "application/atom+xml; charset=utf-8"}, feed)
    p = config_dir / "example.toml"
    p.write_text(
        p.read_text(encoding="utf-8").replace('url = "samples/forum.atom"', f'url = "{http_server.url}/feed.atom"'),
        encoding="utf-8",
    )
    h = make_app(load_config(p))
    h.app.attach_http(__import__("httpx").AsyncClient(timeout=5))
    run = await h.app.pipeline.run_source("forum")
    await h.app.client.aclose()
    assert run.error is None and run.fetched == 7 and run.new_posts == 7
    assert http_server.hits == ["/robots.txt", "/feed.atom"]
    titles = [r["title"] for r in h.app.db.query("SELECT title FROM posts")]
    assert "白沙乡村两委换届后办事难，找谁都推诿" in titles


@pytest.mark.parametrize("body,status", [(b"{not a feed at all", 200), (b"oops", 500)])
async def test_broken_source_records_error_and_others_continue(make_app, config_dir, http_server, body, status):
    http_server.routes["/bad"] = (status, {"Content-Type": "application/rss+xml"}, body)
    p = config_dir / "example.toml"
    p.write_text(
        p.read_text(encoding="utf-8").replace('url = "samples/provnews.xml"', f'url = "{http_server.url}/bad"'),
        encoding="utf-8",
    )
    h = make_app(load_config(p))
    h.app.attach_http(__import__("httpx").AsyncClient(timeout=5))
    runs = {r.source_id: r for r in await h.app.collect_once()}
    await h.app.client.aclose()
    assert runs["provnews"].error
    assert runs["ycnews"].error is None and runs["forum"].error is None
    row = next(h.app.db.query("SELECT last_error, consecutive_failures FROM sources WHERE id='provnews'"))
    assert row["consecutive_failures"] == 1 and row["last_error"]
    assert h.count("incidents") >= 5


def test_canonical_url_drops_tracking_and_fragment():
    assert (
        canonical_url("HTTPS://BBS.Example.com:443/t-1.html?utm_source=app&id=3#reply")
        == "https://bbs.example.com/t-1.html?id=3"
    )


def test_repost_with_tracking_parameters_is_the_same_post():
    a = parse_feed(
        "a",
        '<rss><channel><item><title>x</title><link>https://a.example/1?utm_medium=share</link></item></channel></rss>',
    )
    b = parse_feed("b", '<rss><channel><item><title>y</title><link>https://a.example/1</link></item></channel></rss>')
    assert a[0].item_key == b[0].item_key


def test_entities_and_tags_are_cleaned_but_punctuation_kept():
    posts = parse_feed(
        "a",
        "<rss><channel><item><title>考生质疑：成绩&amp;排名？</title>"
        "<description>&lt;p&gt;第一段，&lt;b&gt;重点&lt;/b&gt;&lt;/p&gt;</description></item></channel></rss>",
    )
    assert posts[0].title == "考生质疑：成绩&排名？"
    assert posts[0].text == "第一段，重点"  # an inline tag (<b>) leaves no space, as a browser shows it


async def test_a_runs_posts_are_searchable_and_queued_posts_after_background_indexing(make_app):
    h = make_app()
    await h.app.collect_once()
    # a source run indexes all its posts itself, once its alerts are stored (issue 17.6)
    assert h.count("posts", "indexed = 0") == 0
    reply = (await h.say("liqiang", "/search 羊肉汤")).replace("【", "").replace("】", "")  # highlights
    assert "云川哪家羊肉汤最好喝" in reply
    # a post stored on its own without a watch-list hit waits for the background indexer, off
    # the alert path; /search indexes whatever is pending first, so nothing is missing
    source = h.app.config.sources[0]
    h.app.pipeline.ingest(Post(source.id, "solo", "老街牛肉面馆开张", "汤底浓郁", url="https://a.example/solo"), source)
    assert h.count("posts", "indexed = 0") == 1
    reply = (await h.say("liqiang", "/search 牛肉面")).replace("【", "").replace("】", "")
    assert "老街牛肉面馆开张" in reply
    assert h.count("posts", "indexed = 0") == 0
