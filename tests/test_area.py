"""The team's area from the gazetteer: resolving `area`, places of ours and elsewhere, short
forms without false hits, and relevance by area with the example city config."""

from __future__ import annotations

import pytest

from bot.config import load_config
from core.errors import ConfigError
from core.gazetteer import AreaError, AreaMatcher, gazetteer, short_forms
from core.models import Post
from core.text import Segmenter, fold
from jobs.analyse import Analyzer, _boundaries
from tests.conftest import EXAMPLE


@pytest.fixture(scope="module")
def gz():
    return gazetteer()


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer(load_config(EXAMPLE))


def run(analyzer, title, text="", source="forum"):
    return analyzer.analyse(Post(source, "k", title, text), analyzer.config.source(source)).finding


def places(matcher, text):
    t = fold(text)
    return matcher.find(t, _boundaries(t, Segmenter().tokens(t)))


def test_area_resolves_by_name_path_and_code(gz):
    assert gz.area("抚州市").code == "361000"
    assert gz.area("361000").name == "抚州市"
    assert gz.area("江西省").level == 1
    assert gz.area("江西省抚州市").code == "361000"
    assert gz.area("北京市朝阳区").code == "110105"
    assert gz.area("全国") is None
    assert gz.area("抚州").code == "361000"  # a short form, when it is unique


def test_ambiguous_or_unknown_area_says_which(gz):
    with pytest.raises(AreaError, match=r"北京市朝阳区.*长春市朝阳区"):
        gz.area("朝阳区")
    with pytest.raises(AreaError, match="火星市"):
        gz.area("火星市")
    with pytest.raises(AreaError, match="999999"):
        gz.area("999999")


def test_a_bad_area_stops_the_config_naming_the_field(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8").replace('area = "361000"', 'area = "朝阳区"')
    p = EXAMPLE.parent / "_bad_area.toml"
    try:
        p.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as e:
            load_config(p)
        assert "organization.area" in str(e.value) and "朝阳区" in str(e.value)
    finally:
        p.unlink(missing_ok=True)


def test_short_forms():
    assert short_forms("临川区", 3) == ["临川"]
    assert short_forms("恩施土家族苗族自治州", 2) == ["恩施"]
    assert short_forms("内蒙古自治区", 1) == ["内蒙古", "内蒙"]
    assert short_forms("东乡族自治县", 3) == ["东乡"]
    assert short_forms("詹圩镇", 4) == ["詹圩"]
    assert short_forms("南城县", 3) == ["南城"]


def test_every_level_of_the_area_is_ours(gz):
    m = AreaMatcher(gz, gz.area("抚州市"))
    assert places(m, "临川区召开会议").ours == ["临川区"]
    assert places(m, "抚州市委书记调研").ours == ["抚州市"]
    assert places(m, "詹圩镇政府不作为").ours == ["詹圩镇"]  # a township, 镇政府 one token
    assert places(m, "曲靖市副市长黄太文").elsewhere == ["曲靖市"]
    assert places(m, "内蒙呼和浩特市庄村村支书").elsewhere == ["内蒙古自治区", "呼和浩特市"]
    assert places(m, "江西省召开会议").elsewhere == []  # the province of a city team: neither


def test_short_forms_need_a_boundary_or_an_official_term(gz):
    m = AreaMatcher(gz, gz.area("抚州市"))
    assert places(m, "临川县委书记").ours == ["临川区"] or places(m, "临川区委书记").ours == ["临川区"]
    assert places(m, "南城县委通报").ours == ["南城县"]
    assert places(m, "南城纪委通报一起案件").ours == ["南城县"]  # short form + an official term
    assert places(m, "抚州临川一男子").ours[-1] == "临川区"  # after its parent
    # common words and other names are not our places
    for text in ("广东乡村振兴", "城南城北都有新楼盘", "东乡风味小吃", "南城有家好吃的店", "金溪流水潺潺"):
        assert not places(m, text).ours, text


def test_another_citys_official_is_not_relevant(analyzer):
    f = run(analyzer, "曲靖市副市长黄太文涉嫌受贿被查")
    assert not f.relevant
    assert not run(analyzer, "昆明市教育局局长收受贿赂被双开").relevant


def test_a_township_of_the_area_is_relevant(analyzer):
    f = run(analyzer, "詹圩镇干部公车私用被曝光")
    assert f.relevant and f.matched["places"] == ["詹圩镇"]
    assert run(analyzer, "孝岗镇政府不作为，群众办事难").relevant


def test_our_place_wins_over_a_place_elsewhere(analyzer):
    assert run(analyzer, "临川区副区长赴曲靖市考察").relevant


def test_hand_listed_places_still_count(analyzer):
    assert run(analyzer, "青石镇干部公车私用被曝光").relevant  # fictional, hand-listed


def test_a_team_may_keep_posts_about_elsewhere(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8").replace('area = "361000"', 'area = "361000"\nout_of_area = "keep"')
    p = EXAMPLE.parent / "_keep.toml"
    try:
        p.write_text(text, encoding="utf-8")
        a = Analyzer(load_config(p))
    finally:
        p.unlink(missing_ok=True)
    assert run(a, "曲靖市副市长黄太文涉嫌受贿被查").relevant


def test_a_district_team_has_its_own_area(config_dir):
    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8").replace(
        'name = "市委组织部舆情监测组"', 'name = "市委组织部舆情监测组"\narea = "临川区"', 1
    )
    p.write_text(text, encoding="utf-8")
    a = Analyzer(load_config(p))
    # the team's sources see the district; 东乡区 is the same city but not this team's area
    assert run(a, "临川区纪委通报：某局干部公车私用").relevant
    assert not run(a, "东乡区纪委通报：某局干部公车私用").relevant
