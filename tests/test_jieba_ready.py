"""core.text.ready: jieba's default dictionary from jieba's own cache file, read whole (jieba's
`marshal.load` on the open file costs ~1 s more at every start), the same (FREQ, total) as
jieba's own initialisation, and jieba's way whenever the cache is missing or damaged."""

from __future__ import annotations

import marshal

import jieba

from core.text import ready


def _tokenizer(tmp_path) -> jieba.Tokenizer:
    tk = jieba.Tokenizer()
    tk.tmp_dir = str(tmp_path)
    return tk


def test_the_cache_is_read_whole_and_gives_what_jieba_gives(tmp_path, monkeypatch):
    first = _tokenizer(tmp_path)
    ready(first)  # no cache in tmp_path yet: jieba builds the dictionary and writes its cache
    assert (tmp_path / "jieba.cache").is_file() and first.initialized

    def no_file_reads(_f):  # jieba's own way; ready must not take it when the cache is there
        raise AssertionError("marshal.load on the open file")

    monkeypatch.setattr(marshal, "load", no_file_reads)
    second = _tokenizer(tmp_path)
    ready(second)
    assert second.initialized and second.total == first.total and second.FREQ == first.FREQ
    assert second.lcut("南丰县白舍镇干部吃拿卡要") == first.lcut("南丰县白舍镇干部吃拿卡要")


def test_a_damaged_cache_is_built_again_the_way_jieba_does(tmp_path):
    want = _tokenizer(tmp_path)
    ready(want)
    (tmp_path / "jieba.cache").write_bytes(b"\x00not marshal")
    tk = _tokenizer(tmp_path)
    ready(tk)
    assert tk.initialized and tk.FREQ == want.FREQ and tk.total == want.total


def test_another_dictionary_is_left_to_jieba(tmp_path):
    small = tmp_path / "small.txt"
    small.write_text("青石镇 10 ns\n干部 20 n\n", encoding="utf-8")
    (tmp_path / "jieba.cache").write_bytes(marshal.dumps(({"不是": 1}, 1)))  # the default's name
    tk = jieba.Tokenizer(str(small))
    tk.tmp_dir = str(tmp_path)
    ready(tk)
    assert "青石镇" in tk.FREQ and "不是" not in tk.FREQ


def test_the_cache_the_bot_configures_is_read_whole(tmp_path, monkeypatch):
    # configure_jieba names the cache file (data/…/jieba.cache): the same fast read
    first = _tokenizer(tmp_path)
    first.cache_file = "jieba.cache"
    ready(first)
    monkeypatch.setattr(marshal, "load", lambda _f: (_ for _ in ()).throw(AssertionError("read in pieces")))
    second = _tokenizer(tmp_path)
    second.cache_file = "jieba.cache"
    ready(second)
    assert second.FREQ == first.FREQ and second.total == first.total


def test_the_bot_keeps_the_cache_in_the_cache_directory_not_in_each_data_folder(tmp_path, monkeypatch):
    """One cache file for every data folder of the user ($YUQING_CACHE_DIR or
    ~/.cache/yuqing-bot, beside the gazetteer's): a new data folder (a test's, a second team's)
    reads it instead of building it again (1.3 s); the data folder only when that directory
    cannot be made."""
    from core.text import configure_jieba

    monkeypatch.setattr(jieba.dt, "tmp_dir", jieba.dt.tmp_dir)  # (restored after the test)
    monkeypatch.setattr(jieba.dt, "cache_file", jieba.dt.cache_file)
    monkeypatch.setenv("YUQING_CACHE_DIR", str(tmp_path / "cache"))
    assert configure_jieba(tmp_path / "data1") == tmp_path / "cache"
    assert configure_jieba(tmp_path / "data2") == tmp_path / "cache"
    assert jieba.dt.tmp_dir == str(tmp_path / "cache") and jieba.dt.cache_file == "jieba.cache"
    assert not (tmp_path / "data1").exists() and not (tmp_path / "data2").exists()

    (tmp_path / "file").write_text("")  # a cache "directory" that cannot be made
    monkeypatch.setenv("YUQING_CACHE_DIR", str(tmp_path / "file" / "cache"))
    assert configure_jieba(tmp_path / "data") == tmp_path / "data"
    assert jieba.dt.tmp_dir == str(tmp_path / "data") and (tmp_path / "data").is_dir()
