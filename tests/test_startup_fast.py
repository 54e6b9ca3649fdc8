"""Fast start-up (issue 17.2): the gazetteer's index is read from a cache file that is rebuilt
when stale or damaged, and the bot answers commands while the analyser is still being built."""

from __future__ import annotations

import asyncio
import threading

import pytest

import bot.app
import core.gazetteer as gazetteer_module
from core.gazetteer import Gazetteer, load_gazetteer
from tests.conftest import seed

RECORDS = [
    (1, "360000", "", "江西省"),
    (2, "361000", "360000", "抚州市"),
    (3, "361002", "361000", "临川区"),
    (4, "361002001", "361002", "荣山镇"),
]


@pytest.fixture
def builds(monkeypatch):
    """Builds from a small record set, counted; the data can be changed between loads."""
    made = {"n": 0, "records": list(RECORDS)}

    def build():
        made["n"] += 1
        gz = Gazetteer(made["records"], as_of="test")
        gz.tags = {"抚州": "ns"}
        return gz

    monkeypatch.setattr(gazetteer_module, "_build", build)
    return made


def cache_file(tmp_path):
    return tmp_path / "gazetteer.marshal"


def same(a: Gazetteer, b: Gazetteer) -> bool:
    return a.state() == b.state() and a.by_code == b.by_code and a.by_name == b.by_name


def test_the_index_is_built_once_and_then_read_from_the_cache(tmp_path, builds):
    first = load_gazetteer(tmp_path)
    assert cache_file(tmp_path).exists() and builds["n"] == 1
    again = load_gazetteer(tmp_path)
    assert builds["n"] == 1, "read from the cache, not built again"
    assert same(first, again)
    assert again.area("临川区").path == ("江西省", "抚州市", "临川区")
    assert again.area("江西省抚州市").code == "361000"
    assert again.area("361000").name == "抚州市"
    assert again.tags == {"抚州": "ns"}


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]),  # one bit of the data
        lambda raw: raw[: len(raw) // 2],  # cut short
        lambda raw: b"",  # empty
        lambda raw: b"something else entirely",
    ],
)
def test_a_damaged_cache_is_rebuilt_never_used(tmp_path, builds, damage):
    good = load_gazetteer(tmp_path)
    p = cache_file(tmp_path)
    p.write_bytes(damage(p.read_bytes()))
    again = load_gazetteer(tmp_path)
    assert builds["n"] == 2
    assert same(good, again)
    assert same(load_gazetteer(tmp_path), good) and builds["n"] == 2, "the rebuilt file is good again"


def test_a_cache_for_other_versions_is_rebuilt(tmp_path, builds, monkeypatch):
    load_gazetteer(tmp_path)
    # the data package (or jieba, or this code) changed: the same file is stale
    builds["records"] = [*RECORDS, (3, "361003", "361000", "东乡区")]
    monkeypatch.setattr(gazetteer_module, "_cache_key", lambda: "cag=9.9;jieba=0.42.1;code=new")
    gz = load_gazetteer(tmp_path)
    assert builds["n"] == 2
    assert gz.area("东乡区").code == "361003"


def test_the_key_follows_the_code_of_the_module():
    key = gazetteer_module._cache_key()
    assert "cag=" in key and "jieba=" in key and "code=" in key


def test_an_unwritable_cache_folder_still_gives_the_gazetteer(tmp_path, builds):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    gz = load_gazetteer(blocked / "sub")
    assert gz.area("抚州市").code == "361000"


def test_the_real_gazetteer_survives_the_cache_format():
    """The state written to the file gives back the same divisions and names."""
    import marshal

    gz = gazetteer_module.gazetteer()
    back = Gazetteer.from_state(marshal.loads(marshal.dumps(gz.state())))
    assert back.area("抚州市") == gz.area("抚州市")
    assert back.by_name["临川"] == gz.by_name["临川"]
    assert len(back.by_code) == len(gz.by_code) > 40_000


async def test_commands_are_answered_while_the_analyser_is_being_built(make_app, monkeypatch):
    release = threading.Event()
    building = threading.Event()
    real = bot.app.Analyzer

    def held(config):
        building.set()
        release.wait(60)
        return real(config)

    monkeypatch.setattr(bot.app, "Analyzer", held)
    h = make_app()
    try:
        h.app.start_analyser()  # as `App.start` does, last
        assert await asyncio.to_thread(building.wait, 30)
        reply = await h.say("liqiang", "/help")
        assert reply and "/list" in reply
        assert not h.app.analyzer_ready.is_set(), "answered before the analyser was built"
        # collection waits for the analyser instead of failing or blocking the loop
        collecting = asyncio.create_task(h.app.collect_once())
        await asyncio.sleep(0)
        assert not collecting.done()
        assert await h.say("liqiang", "/list") is not None
        release.set()
        runs = await asyncio.wait_for(collecting, 60)
        assert runs and h.app.analyzer_ready.is_set()
        assert seed(h, "网友实名举报刘海燕副区长违规干预工程招标").created
    finally:
        release.set()


def test_an_analyser_that_cannot_be_built_is_reported_to_who_needs_it(make_app, monkeypatch):
    def broken(config):
        raise RuntimeError("no dictionary")

    monkeypatch.setattr(bot.app, "Analyzer", broken)
    h = make_app()
    with pytest.raises(RuntimeError, match="analyser"):
        h.app.analyzer  # noqa: B018


def test_the_kept_format_character_ranges_are_this_pythons():
    """The table that spares the walk over every code point says what the walk would."""
    import unicodedata

    from core import text

    kept = text._CF_RANGES.get(unicodedata.unidata_version)
    if kept is not None:
        assert list(kept) == text._format_ranges()
