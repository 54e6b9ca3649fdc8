"""Officials recognised without a watch-list: a title next to a name, a surname or a unit.

"曲靖市副市长黄太文", "村支书郑高贵", "张局长", "某县教育局局长", "原副县长王某某" each name an
identifiable official; "村干部", "官员" are cadre cues without one. Only posts whose text
contains a title word (one Aho-Corasick pass) are tagged, and only their title and first
few sentences, with jieba's part-of-speech tagger (names are ``nr``).

Rank (村 / 乡镇 / 县处 / 厅局 / 省部) comes from the title (县长 is 县处, 副市长 厅局) and,
for titles that exist at every level (书记, 局长, 主任), from the place or unit in front of it
(市教育局局长 -> 县处, 镇党委书记 -> 乡镇).
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

from core.text import is_boilerplate_line, ready

log = logging.getLogger(__name__)

__all__ = [
    "BODIES",
    "CUES",
    "ENFORCERS",
    "EXECUTIVES",
    "LEADING_RANKS",
    "RANKS",
    "TITLES",
    "Official",
    "OfficialFinder",
    "is_body",
    "tag",
]

RANKS = ("村", "乡镇", "县处", "厅局", "省部")
LEADING_RANKS = frozenset({"县处", "厅局", "省部"})  # 领导干部: county/division level and above
# the rubric's "leading cadres" whose case reaches I when it spreads nationally: provincial and
# ministerial rank (中管干部) — two analysts' batteries grade a 副县长's or a prefecture's vice
# chairman's investigation on three sites II, a 省政协副主席's 双开 I
SENIOR_RANKS = frozenset({"省部"})

# title -> rank, or None when the rank depends on the level in front of it
TITLES: dict[str, str | None] = {}
for _rank, _words in {
    "村": "村支书 村党支部书记 村书记 村主任 村委会主任 村委主任 村长 村会计 村监委主任 社区书记 社区主任 村党总支书记",
    "乡镇": "镇长 副镇长 乡长 副乡长 镇党委书记 乡党委书记 镇委书记 乡镇长 街道办主任 街道党工委书记 党工委书记 科长 副科长 所长 站长",
    "县处": "县长 副县长 县委书记 县委副书记 区长 副区长 区委书记 区委副书记 处长 副处长 县委常委 区委常委 旗长 副旗长 调研员",
    "厅局": "市长 副市长 市委书记 市委副书记 厅长 副厅长 州长 副州长 州委书记 市委常委 司长 副司长 巡视员 盟长",
    "省部": "省长 副省长 省委书记 省委副书记 省委常委 自治区主席 自治区政府主席",
}.items():
    for _w in _words.split():
        TITLES[_w] = _rank
for _w in [
    "书记",
    "副书记",
    "局长",
    "副局长",
    "主任",
    "副主任",
    "纪委书记",
    "纪工委书记",
    "监委主任",
    "组织部长",
    "组织部部长",
    "宣传部长",
    "宣传部部长",
    "统战部长",
    "政法委书记",
    "常委",
    "院长",
    "副院长",
    "检察长",
    "副检察长",
    "政委",
    "党组书记",
    "党组副书记",
    "主席",
    "副主席",
    "党组成员",
    "同志",
    "警察",
    "民警",
    "辅警",
    "城管",
    "法官",
    "检察官",
    "干警",
    "审判长",
    "庭长",
    "副庭长",
    # a public school's head (隆回县第七中学原校长): a state functionary the supervision law covers
    # (a private school's, 民办学校, 培训学校, is a company's: see _COMPANY)
    "校长",
    "副校长",
]:
    TITLES.setdefault(_w, None)
# Ordinary enforcers: in a headline alone (民警提醒…) they are not the cadre story; named
# with misconduct they are officials like any other (the finder still finds them).
# A presiding judge or a court division's head (审判长, 庭长) is a judge too.
ENFORCERS = frozenset({"警察", "民警", "辅警", "城管", "法官", "检察官", "干警", "同志", "审判长", "庭长", "副庭长"})
# the bodies whose heads enforce like them (茶陵法院院长公开审理…)
ENFORCER_UNITS = ("法院", "检察院", "派出所", "公安局", "公安分局", "交警大队", "交警支队", "城管局", "城管执法局")
for _w in ("部长", "副部长"):
    TITLES[_w] = None  # 司法部部长 is 省部, 销售部部长 is nobody: the unit in front decides
# A company's executives: officials when the company is a state one (the rubric: SOE executives
# count for discipline; a private company's chairman is nobody here), see `state_company`.
EXECUTIVES = frozenset({"董事长", "副董事长", "总经理", "副总经理", "总裁", "副总裁"})
for _w in EXECUTIVES:
    TITLES[_w] = None
# Officials for discipline only, as the rubric counts public-hospital heads: a public school's
# head (隆回县第七中学原校长阳光辉被立案审查调查) is found and graded like any official, but a
# headline naming one (职业技术学校校长张继军:“以产兴教”) is school news, not a leader's activity.
DISCIPLINE_ONLY = frozenset({"校长", "副校长"})
# State companies by name: the central state enterprises (国资委's list, by the names the news
# uses) and the words that say a company is state-owned (国有公司人员滥用职权罪, 某国企).
STATE_COMPANIES = (
    "中国石油",
    "中石油",
    "中国石化",
    "中石化",
    "中国海油",
    "中海油",
    "国家电网",
    "南方电网",
    "中国移动",
    "中国电信",
    "中国联通",
    "中国铁塔",
    "中国建筑",
    "中建",
    "中国中铁",
    "中国铁建",
    "中国交建",
    "中国电建",
    "中国能建",
    "中国中车",
    "中国一汽",
    "东风汽车",
    "中粮",
    "中化",
    "中国化工",
    "国投",
    "招商局",
    "华润",
    "保利集团",
    "中国兵器",
    "航天科技",
    "航天科工",
    "中国航发",
    "航空工业",
    "中航工业",
    "中国船舶",
    "中船",
    "中国电科",
    "中核",
    "中广核",
    "国家电投",
    "华能",
    "大唐集团",
    "华电集团",
    "国家能源集团",
    "三峡集团",
    "宝武",
    "鞍钢",
    "中铝",
    "中国铝业",
    "五矿",
    "中远海运",
    "中国航油",
    "中国国航",
    "东航集团",
    "南航集团",
    "通用技术集团",
    "国药集团",
    "中国医药",
    "中国建材",
    "中国有色",
    "中国节能",
    "中国诚通",
    "中国旅游集团",
    "中国商飞",
    "中国铁路",
    "国铁集团",
    "中国邮政",
    "中国中冶",
    "中国黄金",
    "中国盐业",
    "中储粮",
    "中国电子",
    "中国化学",
    "中煤",
    "东方电气",
    "中国通号",
    "中国国新",
    "华侨城",
)
STATE_WORDS = ("国有公司", "国有企业", "国企", "央企", "中央企业", "国有独资", "国有控股", "国资委", "国有资产")
# A unit of a company is not a public office (private-company bribery does not count).
# A student body's officers (学生会主席, 社团部长) hold no public office either.
_COMPANY = (
    "公司",
    "集团",
    "企业",
    "销售",
    "银行",
    "酒店",
    "医院科",
    "研究所",
    "学校",
    "工会",
    "团委",
    "学生会",
    "社团",
    "班委",
    # a private hospital's staff (民营医院药剂科主任) and a homeowners' committee (业委会主任)
    "民营",
    "私立",
    "民办",
    "培训",
    "驾校",
    "业委会",
    "业主委员会",
)
# One-character words that are also surnames but, before a title, are mostly grammar.
_NOT_SURNAME = frozenset("和与向于从将对为在把被给让及同跟由经万时文明成安全方高路应师商查能")

# Cadre cues: an official is involved, not identified.
CUES = (
    "村干部",
    "干部",
    "官员",
    "公职人员",
    "领导干部",
    "党员干部",
    "基层干部",
    "村官",
    "贪官",
    "巨贪",
    "镇干部",
    # a cadre's rank (科级主体班, 副处级待遇): officials, none identified
    "科级",
    "副科级",
    "正科级",
    "处级",
    "副处级",
    "正处级",
    "县处级",
    "厅级",
    "副厅级",
    "正厅级",
    "厅局级",
    "省部级",
    # a level's leaders (县领导调研, 村镇领导你们辛苦了): officials, none identified (not 区领导: 地区领导人)
    "省领导",
    "市领导",
    "县领导",
    "镇领导",
    "乡领导",
    "村领导",
    "局领导",
    "乡干部",
    # jieba's own words for cadres of a level or a kind (吉安一乡镇干部每天要在8个政务APP打卡): each
    # one token, so the bare 干部 above never sees them (not 班干部, 军队干部, 转业干部)
    "乡镇干部",
    "乡村干部",
    "农村干部",
    "机关干部",
    "党政干部",
    "中层干部",
    "年轻干部",
    "青年干部",
    "退休干部",
    "离休干部",
    "政法干部",
    "专职干部",
    "行政官员",
    "高级官员",
    "高级干部",
    "提拔干部",
    "选拔干部",
    "任用干部",
)
# A government body acting (or not) on its own: 镇政府不作为, 县纪委通报.
BODIES = (
    "政府",
    "党委",
    "纪委",
    "监委",
    "村委",
    "村委会",
    "居委会",
    "街道办",
    "管委会",
    "监察委",
    "监察委员会",
    "信访局",
    "信访办",
    "派出所",
    "党工委",
    "国资委",
    "发改委",
    "卫健委",
    "教育局",
    "公安局",
    "人社局",
    "住建局",
    "城管局",
    "市场监管局",
    "工商局",
    "环保局",
    "国土局",
    "民政局",
    "财政局",
    "司法局",
    "税务局",
    "交通局",
    "水利局",
    "农业局",
    "林业局",
    "教体局",
    "农机局",
    "公务员局",
    "交警大队",
    "城管执法局",
    "自然资源局",
    "生态环境局",
    # the bureaus of the 2018 reform and their short names (县卫健局拖欠…, 医保局, 应急管理局):
    # jieba does not know them as words, so only the tagger found them, and only when a title or
    # cue stood in the text too
    "卫健局",
    "卫生健康局",
    "医保局",
    "医疗保障局",
    "应急管理局",
    "应急局",
    "退役军人事务局",
    "行政审批局",
    "农业农村局",
    "文广新旅局",
    "文旅局",
    "交通运输局",
    "住房和城乡建设局",
    "人力资源和社会保障局",
    "商务局",
    "审计局",
    "统计局",
    "信访",
)

# The level a unit or place in front of a title shows, by its last character(s).
_LEVEL_CHARS = (
    ("村", "村"),
    ("社区", "村"),
    ("镇", "乡镇"),
    ("乡", "乡镇"),
    ("街道", "乡镇"),
    ("县", "县"),
    ("区", "县"),
    ("旗", "县"),
    ("市", "市"),
    ("州", "市"),
    ("盟", "市"),
    ("省", "省"),
    ("自治区", "省"),
)
_UNIT_END = (
    "局",
    "委",
    "办",
    "厅",
    "院",
    "政府",
    "部",
    "镇",
    "乡",
    "村",
    "县",
    "区",
    "市",
    "街道",
    "社区",
    "中心",
    "所",
    "站",
    "处",
    "科",
    "队",
    "会",
    "公司",
    "集团",
    "旗",
    "州",
    "省",
    "大学",
    "医院",
)
# Place level x title -> rank, for titles whose rank depends on it
_BY_LEVEL: dict[str, str | dict[str, str]] = {
    "村": "村",
    "乡镇": "乡镇",
    "县": {
        "书记": "县处",
        "副书记": "县处",
        "纪委书记": "县处",
        "组织部长": "县处",
        "组织部部长": "县处",
        "宣传部长": "县处",
        "宣传部部长": "县处",
        "统战部长": "县处",
        "政法委书记": "县处",
        "常委": "县处",
        "监委主任": "县处",
        "检察长": "县处",
        "院长": "县处",
        "主席": "县处",
        "政委": "县处",
        "_": "乡镇",
    },
    "市": {
        "书记": "厅局",
        "副书记": "厅局",
        "纪委书记": "县处",
        "组织部长": "县处",
        "常委": "县处",
        "监委主任": "县处",
        "主席": "厅局",
        "_": "县处",
    },
    "省": {
        "书记": "省部",
        "副书记": "省部",
        "纪委书记": "厅局",
        "组织部长": "厅局",
        "常委": "厅局",
        "主席": "省部",
        "_": "厅局",
    },
}
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟"
    "谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢"
    "安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游"
    "辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟"
    "应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
# Two-character surnames (欧阳敬芝, 司马光): the tagger often takes the surname for a place or a word.
COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "令狐",
        "慕容",
        "尉迟",
        "公孙",
        "夏侯",
        "长孙",
        "宇文",
        "司徒",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "澹台",
        "呼延",
    ]
)
_NAME_TAGS = ("nr", "nrfg", "nrt")
# Offences only a public official commits: a person named right before one at the start of a
# headline or a clause (杨成林贪污受贿6亿, 房烽辉贪污受贿多少钱) is an official accused, although
# no title says so (a company employee's bribery is 非国家工作人员受贿, vetoed by the rules).
_OFFICIAL_OFFENCES = ("贪污受贿", "贪污", "受贿", "索贿", "落马", "被双开", "被查", "挪用公款")
# Crimes only a state functionary commits (a private company's staff commit 职务侵占, 挪用资金):
# before them a name may follow its post (报账员徐卫东涉嫌挪用公款) or a report's 对 (关于对宋兆儒
# 滥用职权…的举报), with 涉嫌 between.
_STATE_CRIMES = ("挪用公款", "贪污", "滥用职权", "玩忽职守")
_ACCUSED = re.compile(
    r"(?:(?<![\u4e00-\u9fff])([\u4e00-\u9fff]{2,3}?)(?=" + "|".join(_OFFICIAL_OFFENCES) + ")"
    r"|(?<=[对员理])([\u4e00-\u9fff]{2,3}?)(?=(?:涉嫌|因涉嫌)?(?:" + "|".join(_STATE_CRIMES) + ")))"
)
_NOT_NAME = frozenset("某该其原前现此这那各本新老")
# cues naming a class of people, not one of them
_GENERIC_CUES = frozenset({"领导干部", "党员干部", "基层干部", "公职人员", "贪官"})
_GENERIC_CUES |= {"机关干部", "党政干部", "中层干部", "年轻干部", "青年干部", "高级干部"}  # jieba's words for a kind
# a count in front of a cue, with a few words between: 3名干部, 多名官员, 一批干部, 10名省厅级官员
_PLURAL_BEFORE = re.compile(
    r"(?:(?:\d+|[多几两三四五六七八九十百千万数余])[名位个批]|一批|一些|各级|部分|众多)[\u4e00-\u9fff]{0,4}$"
)
_SENTENCE = re.compile(r"[。！？!?\n]")
_CJK = re.compile(r"[\u4e00-\u9fff]+")


def _dictionary() -> dict[str, int]:
    """jieba's word frequencies, once it has loaded its dictionary (else nothing is excluded)."""
    import jieba

    return jieba.dt.FREQ if jieba.dt.initialized else {}


_NOT_AFTER_TITLE = ("会", "会议", "办公室")  # 常委会, 主任会议: a body or a meeting, not a person
_lock = threading.Lock()


def f_is_body(flag: str, word: str) -> bool:
    """镇政府, 县纪委, 村委会, 国资委, 教体局 — a whole token naming a government body."""
    if word in BODIES:
        return True
    if word.endswith(BODIES):
        return len(word) >= 2 and flag in ("nt", "n", "ns", "nz", "j")
    return len(word) >= 3 and word.endswith(("局", "委", "厅")) and flag in ("nt", "n", "j", "nz")


def state_company(unit: str, text: str = "") -> bool:
    """Whether a company is a state one: its name (`unit`) holds a central state enterprise's
    name, or `text` (the title and lead) says so (国有公司人员, 国企)."""
    return any(w in unit for w in STATE_COMPANIES) or any(w in text for w in STATE_WORDS)


def is_body(cue: str) -> bool:
    """A cue naming a government body (镇政府) rather than a person (村干部, or a bare title: 书记)."""
    return cue not in CUES and cue not in TITLES


# a form of address written after the name (蓝绍敏同志), not a post in front of it
_AFTER_NAME = frozenset({"同志"})


@dataclass(frozen=True)
class Official:
    title: str
    name: str = ""  # a person's name, a surname (张), or "" when a unit identifies them
    unit: str = ""  # the place or unit in front of the title
    rank: str | None = None

    @property
    def enforcer(self) -> bool:
        """Police, courts or city management (民警, 法官, the head of a court or police station: 法院院长,
        派出所所长): unnamed in a headline about their work they are not its cadre subject (茶陵法院院长
        公开审理…), see ENFORCERS; their misconduct (派出所所长充当保护伞被查) still makes a story."""
        return self.title in ENFORCERS or self.unit.endswith(ENFORCER_UNITS)

    @property
    def label(self) -> str:
        return (
            f"{self.unit}{self.title}{self.name}"
            if self.name and len(self.name) > 1 and self.title not in _AFTER_NAME
            else f"{self.unit}{self.name}{self.title}"
        )


# the verb the tagger takes into a name right after a title (副主席胡捷率政协…: leads)
_VERB_AFTER_NAME = frozenset("率")
# verbs that name a person for a post: 任命王芳为…镇长
_APPOINTING = frozenset({"任命", "提名", "选举", "推选", "决定任命", "提请任命", "拟任命"})


def one_per_person(officials: Iterable[Official]) -> list[Official]:
    """Each person once, in the order first found: the same name (two characters or more) under
    several titles (陕西省副省长冯新柱, 陕西省人民政府党组成员冯新柱, 副省长冯新柱) is one official,
    shown by the highest-ranking of their titles (the longest label among equals); the same
    label found twice is one too, and an unnamed post that a named official's label holds
    (管理处处长 beside 管理处处长姜继红) is that official."""
    order: list[str] = []
    best: dict[str, Official] = {}

    def weight(o: Official) -> tuple[int, int]:
        return (RANKS.index(o.rank) + 1 if o.rank in RANKS else 0, len(o.label))

    for o in officials:
        key = o.name if len(o.name) >= 2 else o.label
        if key not in best:
            order.append(key)
            best[key] = o
        elif weight(o) > weight(best[key]):
            best[key] = o
    people = [best[k] for k in order]
    named = [o.label for o in people if len(o.name) >= 2]
    # an unnamed post inside a named one's label (管理处处长 beside 管理处处长姜继红) is that person
    return [o for o in people if len(o.name) >= 2 or not any(o.label in n for n in named)]


class OfficialFinder:
    def __init__(self, lead_sentences: int = 4, lead_chars: int = 300):
        self.lead_sentences = lead_sentences
        self.lead_chars = lead_chars
        self._auto = ahocorasick.Automaton()
        for w in (*TITLES, *CUES, *BODIES):
            self._auto.add_word(w, w)
        self._auto.make_automaton()

    @staticmethod
    def accused_in(headline: str) -> list[str]:
        """Names standing alone right before an official's offence in `headline` (杨成林贪污受贿):
        a surname and one or two more characters, not a word of another kind (官员受贿, 村官落马)
        nor an anonymised one (王某)."""
        tags = pos_tables().word_tag_tab
        found = []
        for m in _ACCUSED.finditer(headline):
            name = m.group(1) or m.group(2)
            tag = tags.get(name)
            if (
                name[0] in SURNAMES
                and not set(name[1:]) & _NOT_NAME
                and name not in TITLES
                and name not in CUES
                and (tag is None or tag.startswith("nr"))
                and name not in found
            ):
                found.append(name)
        return found

    def described_in(self, headline: str) -> list[str]:
        """One official the headline describes without naming (村干部…骗取补助资金, 女干部索贿,
        71岁退休官员…, 女接待办主任…): a cadre cue or a title (not of police, courts or a company)
        that is not a class of people (领导干部, 党员干部, 贪官), counted as several (3名干部, 多名官员,
        10名省厅级官员, 干部们) or anonymised (某地官员)."""
        longest: dict[int, str] = {}
        for end, w in self._auto.iter(headline):
            if len(w) > len(longest.get(end, "")):
                longest[end] = w
        out = []
        for end, w in sorted(longest.items()):
            if w in _GENERIC_CUES or is_body(w) or w in ENFORCERS or w in EXECUTIVES:
                continue
            if headline.startswith(("们", "群众", "会", "会议", "办公室"), end + 1):
                continue
            start = end + 1 - len(w)
            if (
                _PLURAL_BEFORE.search(headline[max(0, start - 8) : start])
                or "某" in headline[max(0, start - 2) : start]
            ):
                continue  # several, or anonymised (某地官员, 某干部)
            if _department_head(w, headline[:start]):
                continue
            if w not in out:
                out.append(w)
        return out

    def has_title(self, text: str) -> bool:
        return next(self._auto.iter(text), None) is not None

    def has_official_title(self, text: str) -> bool:
        """An official in `text`, by title or as a cadre cue (镇党委书记, 局长, 地税局干部, 官员):
        a person, not a body; ordinary enforcers (民警) and a title inside a body's name
        (全国人大常委会, 主任会议) left out."""
        return any(
            (w in CUES or (w in TITLES and w not in ENFORCERS and w not in EXECUTIVES and w not in DISCIPLINE_ONLY))
            and not text.startswith(_NOT_AFTER_TITLE, end + 1)
            for end, w in self._auto.iter(text)
        )

    def word_offsets(self, text: str) -> list[int]:
        """Where an official's title, a cadre cue or a government body starts in `text` (for a
        rule's ``$officials``): 民警 and a title inside a body's name (人大常委会) left out."""
        return [
            end - len(w) + 1
            for end, w in self._auto.iter(text)
            if w not in ENFORCERS
            and w not in EXECUTIVES
            and w not in DISCIPLINE_ONLY
            and not (w in TITLES and text.startswith(_NOT_AFTER_TITLE, end + 1))
        ]

    def has_cadre_word(self, text: str) -> bool:
        """A title, cadre cue or government body in `text`, ordinary enforcers (民警) left out."""
        return any(
            w not in ENFORCERS
            and w not in EXECUTIVES
            and w not in DISCIPLINE_ONLY
            and not (w in TITLES and text.startswith(_NOT_AFTER_TITLE, end + 1))
            for end, w in self._auto.iter(text)
        )

    def named_in(self, head: str, lead: str) -> bool:
        """Whether a name written next to an official's title in `lead` (党组副书记章建华, 侯文书记)
        is in the headline `head` (章建华参加…调研): plain string tests, no tagging — it only
        lets a post on to `find`, which decides."""
        if len(head) < 2:
            return False
        words = _dictionary()
        for end, w in self._auto.iter(lead):
            if w not in TITLES:
                continue
            start = end - len(w) + 1
            for cand in (
                lead[end + 1 : end + 4],
                lead[end + 1 : end + 3],
                lead[max(0, start - 3) : start],
                lead[max(0, start - 2) : start],
            ):
                if (
                    len(cand) >= 2
                    and cand[0] in SURNAMES
                    and not words.get(cand)  # 高度, 安全: a word, not a name
                    and _CJK.fullmatch(cand)
                    and cand in head
                ):
                    return True
        return False

    def lead(self, title: str, body: str) -> str:
        parts = _SENTENCE.split(body or "")
        out, n = [], 0
        for p in parts:
            if not p.strip() or is_boilerplate_line(p):  # (来源：… 2025-02-27: no sentence of it)
                continue
            out.append(p)
            n += 1
            if n >= self.lead_sentences or sum(map(len, out)) >= self.lead_chars:
                break
        return f"{title}\n{'。'.join(out)}"[: self.lead_chars + len(title) + 1]

    def find(self, text: str, bodies_by_tag: bool = False) -> tuple[list[Official], list[str]]:
        """Identified officials and bare cadre cues in `text` (already folded). A text with no
        title, cue or body word is not tagged, unless `bodies_by_tag` asks for the bodies only
        the tagger knows (药监局, 住房和城乡建设局: a word ending in 局/委/厅)."""
        if not self.has_title(text) and not (bodies_by_tag and any(c in text for c in "局委厅")):
            return [], []
        with _lock:  # jieba's tagger is not safe to call from several threads at once
            pairs = _compound_titles(_head_titles(tag(text)))
        officials: list[Official] = []
        cues: list[str] = []
        i = 0
        while i < len(pairs):
            word, flag = pairs[i]
            title, used = self._title_at(pairs, i)
            if title is None:
                if (word in CUES or f_is_body(flag, word)) and word not in cues:
                    cues.append(word)
                i += 1
                continue
            nxt = i + used
            j = nxt
            while j + 1 < len(pairs) and pairs[j][0] in ("、", "兼") and self._title_at(pairs, j + 1)[0]:
                j += 1 + self._title_at(pairs, j + 1)[1]  # 副部长、党组成员张力军
            name = self._name_after(pairs, j) or self._name_before(pairs, i)
            unit = self._unit_before(pairs, i)
            if name and name == unit:  # one token read as both (免去李明白舍镇镇长: 舍镇 is no person)
                name = ""
            if not name:  # 任命王芳为白舍镇镇长: the one named before 为
                name = self._appointed(pairs, i, unit)
            company = title in EXECUTIVES or any(c in unit for c in _COMPANY) or _department_head(title, unit)
            if company and not (name and state_company(unit + "|" + pairs_text(pairs, i, 4), text)):
                i = nxt  # a company's executive or unit: an official only at a named state company's
                continue
            if title in ("部长", "副部长") and not unit.endswith(("部", "省", "市", "县", "区")):
                name = "" if not unit else name
            if name or unit:
                o = Official(title, name, unit, self._rank(title, unit))
                if o not in officials:
                    officials.append(o)
            elif title not in cues and (TITLES[title] or title in ("书记", "纪委书记", "局长", "镇长")):
                cues.append(title)
            i = nxt
        return officials, cues

    @staticmethod
    def _title_at(pairs, i) -> tuple[str | None, int]:
        """The longest title made of tokens i, i+1, i+2 (副 / 市长, 纪委 / 书记)."""
        best, used, acc = None, 0, ""
        for k in range(i, min(i + 3, len(pairs))):
            acc += pairs[k][0]
            if acc in TITLES:
                best, used = acc, k - i + 1
        return best, used

    @staticmethod
    def _name_after(pairs, j) -> str:
        if j >= len(pairs):
            return ""
        w, f = pairs[j]
        if w in COMPOUND_SURNAMES and j + 1 < len(pairs):  # 欧阳 / 敬芝: the tagger takes 欧阳 for a place
            nw = pairs[j + 1][0]
            if 1 <= len(nw) <= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", nw):
                return w + nw
        if f in _NAME_TAGS and 2 <= len(w) <= 4 and w[0] not in _NOT_NAME:
            # 副主席胡捷率政协…: the tagger takes the verb 率 (leads) into the name
            return w[:2] if len(w) == 3 and w[2] in _VERB_AFTER_NAME else w
        if len(w) == 1 and w in SURNAMES and w not in _NOT_SURNAME and j + 1 < len(pairs):  # 郑 / 高贵, 王 / 某某
            nw = pairs[j + 1][0]
            if 1 <= len(nw) <= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", nw):
                return w + nw
        if 2 <= len(w) <= 3 and w[0] in SURNAMES and w[1:] in ("某", "某某"):
            return w
        return ""

    @staticmethod
    def _name_before(pairs, i) -> str:
        if i == 0:
            return ""
        w, f = pairs[i - 1]
        # 张三任市委书记, 福田同志任市委书记: 任 (takes the post) is the verb, not a name or surname 任
        if w == "任" and i >= 2 and (pairs[i - 2][1] in _NAME_TAGS or pairs[i - 2][0] == "同志"):
            named = pairs[i - 2][0]
            return named if pairs[i - 2][1] in _NAME_TAGS and 2 <= len(named) <= 3 else ""
        if len(w) == 3 and f in _NAME_TAGS and w[2] == "任":
            return w[:2]
        if i >= 2 and 1 <= len(w) <= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", w) and f not in _NAME_TAGS:
            s, _ = pairs[i - 2]  # 段 / 国华 / 同志: a surname and a given name the tagger split
            before = pairs[i - 3][0] if i >= 3 else ""
            if (
                len(s) == 1
                and s in SURNAMES
                and s not in _NOT_SURNAME
                and (not before or not re.search(r"[\u4e00-\u9fff]$", before) or len(before) >= 2)
            ):
                return s + w
        if len(w) == 1 and w in SURNAMES and w not in _NOT_SURNAME:  # 张局长
            before = pairs[i - 2][0] if i >= 2 else ""
            if not before or not re.search(r"[\u4e00-\u9fff]$", before) or len(before) >= 2:
                return w
        if f in _NAME_TAGS and 2 <= len(w) <= 3 and w[0] not in _NOT_NAME:
            return w
        return ""

    @staticmethod
    def _appointed(pairs, i, unit: str) -> str:
        """The person an appointment names before 为 and the post's unit (任命王芳为白舍镇镇长,
        提名张伟为县长候选人): the name right after 任命 / 提名 / 选举 …, or ""."""
        k, acc = i - 1, ""
        while k >= 0 and len(acc) < len(unit):  # back over the unit's tokens
            acc = pairs[k][0] + acc
            k -= 1
        if acc != unit or k < 1 or not pairs[k][0].endswith("为"):
            return ""
        w = pairs[k][0]
        if w == "为" and k >= 2:  # 任命 / 王芳 / 为
            name, f = pairs[k - 1]
            ok = f in _NAME_TAGS and 2 <= len(name) <= 3 and pairs[k - 2][0] in _APPOINTING
        elif len(w) == 2 and k >= 2 and pairs[k - 1][0] in SURNAMES:  # 任命 / 李 / 华为: the tagger's 华为
            name, ok = pairs[k - 1][0] + w[0], pairs[k - 2][0] in _APPOINTING
        elif 3 <= len(w) <= 4 and pairs[k][1] in _NAME_TAGS:  # 任命 / 王芳为
            name, ok = w[:-1], pairs[k - 1][0] in _APPOINTING
        else:
            return ""
        return name if ok and name[0] not in _NOT_NAME else ""

    @staticmethod
    def _unit_before(pairs, i) -> str:
        """The unit or place right in front of the title: 某县教育局, 曲靖市, 一渡水镇."""
        unit = ""
        if i >= 2 and pairs[i - 1][0] == "一" and pairs[i - 2][1] == "ns":
            return pairs[i - 2][0]  # 湖南一厅长: anonymised, but the post identifies them
        if i >= 2 and pairs[i - 1][0] in ("原", "前"):
            i -= 1  # 嘉祥县政府原副县长: a former official of that unit
        for k in range(i - 1, max(-1, i - 4), -1):
            w, f = pairs[k]
            if not re.fullmatch(r"[\u4e00-\u9fff]+", w) or len(unit) + len(w) > 14:
                break
            # (人民 / 医院; 政协 and 人大, tagged as abbreviations: 黑龙江省 / 政协 / 原 / 副主席)
            if not (f in ("ns", "nt") or w.endswith(_UNIT_END) or (unit and w == "人民") or w in _JOINED_UNITS):
                if unit:
                    break
                if w in ("某县", "某市", "某镇", "某乡", "某村", "某区") or (
                    w.startswith("某") and w.endswith(_UNIT_END)
                ):
                    unit = w + unit
                break
            unit = w + unit
        if (
            unit in _UNIT_END
            or len(unit) < 2
            or unit
            in ("中心", "委员会", "工作组", "小组", "党支部", "支部", "党总支", "党委", "党组", "党组织", "基层党组织")
            or unit[0] in "该其本此这那各"
        ):
            return ""  # a bare suffix (中心主任, 该局局长) identifies nobody
        return unit

    @staticmethod
    def _rank(title: str, unit: str) -> str | None:
        fixed = TITLES.get(title)
        if fixed:
            return fixed
        level = None
        # the smallest level the unit names: 抚州市临川区 -> 县
        for k in range(len(unit), 0, -1):
            head = unit[:k]
            m = next((lv for suf, lv in _LEVEL_CHARS if head.endswith(suf)), None)
            if m:
                level = m
                break
        if level is None:
            return None
        rule = _BY_LEVEL[level]
        if isinstance(rule, str):
            return rule
        if level == "省" and title.removeprefix("副") in ("主任", "主席") and any(j in unit for j in _JOINED_UNITS):
            return "省部"  # a province's people's congress or CPPCC (vice) chair: 省部级
        base = title[1:] if title.startswith("副") and title[1:] in rule else title
        return rule.get(base, rule["_"])


_HEAD_LEVELS = ("县", "市", "区", "镇", "乡", "州", "旗")


def _head_titles(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The tagger takes a place's level character into the place (祁东县 / 长 / 胡果雄, 新宁县 /
    长王): give it back to the title (祁东 / 县长), so the head of a county, district or town is
    found like 抚州 / 市长. A 长 starting another word (该区 / 长期) is left alone."""
    out: list[tuple[str, str]] | None = None
    level = ""  # the level character taken back from the place before
    for k, (w, f) in enumerate(pairs):
        if level:
            out.append((level + "长", "n"))  # type: ignore[union-attr]
            if len(w) > 1:
                out.append((w[1:], "nr"))  # type: ignore[union-attr]
            level = ""
        elif (
            k + 1 < len(pairs)
            and f == "ns"
            and len(w) >= 3
            and w.endswith(_HEAD_LEVELS)
            and (pairs[k + 1][0] == "长" or (pairs[k + 1][0][:1] == "长" and pairs[k + 1][1].startswith("nr")))
        ):
            out = list(pairs[:k]) if out is None else out
            out.append((w[:-1], "ns"))
            level = w[-1]
        elif out is not None:
            out.append((w, f))
    return pairs if out is None else out


# A unit's head written as one dictionary word (公安局长, 医院院长, 派出所长, 党委书记, 教育厅长): the
# unit is the word's start, with the title's first character when the title repeats it (公安 + 局长
# -> 公安局). Hospital departments (内科主任) are doctors, not a unit's head.
_UNIT_OF_TITLE = tuple("局院所厅部")
_JOINED_UNITS = ("人大", "政协")


def _department_head(title: str, before: str) -> bool:
    """A hospital department's head (内科主任, 附院一科室主任): a doctor, not a unit's head."""
    return title in ("主任", "副主任") and before.endswith(("科", "科室"))


_UNIT_TAIL = "unit-tail"  # a split's first piece that ends the unit before it (see `_split_compound`)


def _split_compound(w: str, words: dict[str, int]) -> list[tuple[str, str]] | None:
    """`w` as (unit, title) or (surname, title) pairs when it is one of those joined, else None."""
    best = None
    for n in range(min(len(w) - 1, 5), 1, -1):  # the longest title first
        if w[-n:] in TITLES:
            best = w[-n:]
            break
    if best is None:
        return None
    p = w[: -len(best)]
    if p == best.removeprefix("副")[:1] and p in _UNIT_OF_TITLE + ("处", "科"):
        # jieba's 局局长, 处处长, 科科长: the unit's last character and its head's title (自然资源 / 局局长
        # 韩某: the 自然资源局's head) — the character goes back to the unit before (`_compound_titles`)
        return [(p, _UNIT_TAIL), (best, "n")]
    if len(p) == 1:
        # 陈书记, 徐院长: a surname and a title; a chairman so named is a national leader's
        # epithet (毛主席, 江主席), not a local official
        if p in SURNAMES and p not in _NOT_SURNAME and best not in ("主席", "副主席"):
            return [(p, "nr"), (best, "n")]
        return None
    if _department_head(best, p):
        return None
    if p.endswith(_UNIT_END) or p.endswith(_JOINED_UNITS):
        return [(p, "nt"), (best, "n")]
    head = best.removeprefix("副")[:1]
    if head in _UNIT_OF_TITLE and words.get(p + head):
        return [(p + head, "nt"), (best, "n")]
    return None


def _compound_titles(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The tagger's pairs with a title joined into one word split off (县 / 公安局长 / 张三 ->
    县 / 公安局 / 局长 / 张三; 陈书记 -> 陈 / 书记), so that the unit or surname is found in front
    of it like any other."""
    words = _dictionary()
    out: list[tuple[str, str]] | None = None
    for k, (w, f) in enumerate(pairs):
        split = _split_compound(w, words) if len(w) >= 3 and w not in TITLES else None
        if w == "领导" and k and pairs[k - 1][0][-1:] + w in CUES:  # 县 / 领导, 村镇 / 领导: a level's leaders
            split = [(pairs[k - 1][0][-1:] + w, "n")]
        if split is not None and out is None:
            out = list(pairs[:k])
        if out is not None:
            if split and split[0][1] == _UNIT_TAIL:
                tail = split.pop(0)[0]
                if out and "\u4e00" <= out[-1][0][-1:] <= "\u9fff":  # (自然资源 + 局: the unit)
                    out[-1] = (out[-1][0] + tail, "nt")
                else:
                    out.append((tail, "nt"))
            out.extend(split or [(w, f)])
    return pairs if out is None else out


def pairs_text(pairs, i: int, back: int = 3) -> str:
    """The few tokens in front of token `i`, joined (the company a tagger did not take for a unit)."""
    return "".join(w for w, _ in pairs[max(0, i - back) : i])


MIN_FLOAT = -3.14e100  # jieba.posseg.viterbi's: a character a state never emits
MIN_INF = float("-inf")


class PosTables:
    """What jieba's default tagger (`jieba.posseg.dt` over `jieba.dt`) reads, without importing
    `jieba.posseg`: that module builds at import a second table of every dictionary word with
    its tag, a new string for each word and each tag (~33 MB, a tenth of the bot). Here the
    word → tag table shares its key strings with the tokenizer's own dictionary (`FREQ`) and
    its ~55 tags are shared strings (~10 MB); the HMM's tables are the package's own modules
    (`prob_start` …), read without the package. The regular expressions are jieba.posseg's
    (tests/test_officials_tag.py checks every table and pattern against jieba.posseg's)."""

    re_han_detail = re.compile("([\u4e00-\u9fd5]+)")
    re_skip_detail = re.compile("([\\.0-9]+|[a-zA-Z0-9]+)")
    re_han_internal = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&\\._]+)")
    re_skip_internal = re.compile("(\r\n|\\s)")
    re_eng = re.compile("[a-zA-Z0-9]+")
    re_num = re.compile("[\\.0-9]+")

    def __init__(self, tk) -> None:
        import importlib.util
        from pathlib import Path

        import jieba

        ready(tk)
        self.tokenizer = tk
        self.dictionary = tk.dictionary
        model = []
        for name in ("char_state_tab", "prob_start", "prob_trans", "prob_emit"):
            path = Path(jieba.__file__).parent / "posseg" / f"{name}.py"
            spec = importlib.util.spec_from_file_location(f"_yuqing_posseg_{name}", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            model.append(module.P)
        self.char_state_tab_P, self.start_P, self.trans_P, self.emit_P = model
        self.word_tag_tab = _cached_word_tags(tk)
        self._tags = {t: t for t in set(self.word_tag_tab.values())}  # one string per tag

    @staticmethod
    def _word_tags(tk) -> dict[str, str]:
        """`POSTokenizer.load_word_tag` of the tokenizer's dictionary file, its keys then swapped
        for the dictionary's own key strings one by one (each word read is freed as its entry
        moves; only the two tables themselves stand side by side while it is built)."""
        read: dict[str, str] = {}
        flags: dict[str, str] = {}
        f = tk.get_dict_file()
        try:
            for lineno, raw in enumerate(f, 1):
                line = raw.strip().decode("utf-8")
                if not line:
                    continue
                try:
                    word, _, flag = line.split(" ")
                except ValueError:
                    raise ValueError(f"invalid POS dictionary entry at Line {lineno}: {line}") from None
                read[word] = flags.setdefault(flag, flag)
        finally:
            f.close()
        shared: dict[str, str] = {}
        for word in tk.FREQ:
            flag = read.pop(word, None)
            if flag is not None:
                shared[word] = flag
        shared.update(read)  # (none: every dictionary word is in FREQ)
        return shared

    def makesure_userdict_loaded(self) -> None:
        """The tags of words added with one (`jieba.add_word(w, tag=...)`), as POSTokenizer
        merges them — without emptying the tokenizer's list, which jieba.posseg reads too."""
        user = self.tokenizer.user_word_tag_tab
        if user:  # (a few words: a team's watched cadres) with the table's own tag strings
            self.word_tag_tab.update((w, self._tags.setdefault(t, t)) for w, t in user.items())


_TAGS_MAGIC = b"yuqing-postags-1\n"


def _tags_cache_key(tk) -> str:
    """What the tag table read from `tk`'s dictionary file depends on: that file's contents
    (a hash: ~15 ms for jieba's 5 MB; every install of the same dictionary shares one cache
    file) and jieba's version."""
    import hashlib

    import jieba

    f = tk.get_dict_file()
    try:
        digest = hashlib.sha256(f.read()).hexdigest()[:32]
    finally:
        f.close()
    return f"{digest}-{getattr(jieba, '__version__', '')}"


def _freq_checksum(tk, n: int) -> int:
    """A checksum of the first `n` words of the tokenizer's dictionary, in its order."""
    import itertools
    import zlib

    return zlib.crc32("\n".join(itertools.islice(tk.FREQ, n)).encode("utf-8"))


def _cached_word_tags(tk) -> dict[str, str]:
    """`PosTables._word_tags(tk)` (~1 s: 350,000 lines read, split and swapped), read from a
    cache file instead (~0.2 s) when one was written for the same dictionary file: one byte
    per word of the tokenizer's dictionary (`FREQ`, in its order: the file's words and their
    prefixes, then any word added since) naming its tag, 0 for none. The table is then built
    from `FREQ`'s own key strings and the cache's one string per tag, as `_word_tags` shares
    them, and no word of the file is read at all. The cache covers `FREQ` up to its last word
    of the file (words added later, a watch-list's, do not change it) and is used only when
    those words are the same, in the same order (a checksum of them)."""
    import marshal

    from core.cachefile import read_framed, write_framed
    from core.gazetteer import cache_dir

    key = _tags_cache_key(tk)
    path = cache_dir() / f"posseg-tags-{key[:16]}.marshal"
    head = _TAGS_MAGIC + key.encode("utf-8") + b"\n"
    payload, why = read_framed(path, head)
    if payload is not None:
        try:
            n, checksum, flags, index, extra = marshal.loads(payload)
            if len(index) == n <= len(tk.FREQ) and _freq_checksum(tk, n) == checksum:
                names = (None, *flags)
                table = {w: names[i] for w, i in zip(tk.FREQ, index) if i}
                table.update((w, names[i]) for w, i in extra)
                return table
        except Exception:  # a damaged or foreign file: read the dictionary, write it again
            pass
    if why != "missing":
        log.info("part-of-speech tag cache %s is for another dictionary or damaged; rebuilding it", path)
    table = PosTables._word_tags(tk)
    flags = sorted(set(table.values()))
    if len(flags) < 255:
        number = {f: i for i, f in enumerate(flags, 1)}
        index = bytearray()
        last = 0
        for i, w in enumerate(tk.FREQ):
            flag = table.get(w)
            if flag is None:
                index.append(0)
            else:
                index.append(number[flag])
                last = i + 1
        del index[last:]
        extra = [(w, number[f]) for w, f in table.items() if w not in tk.FREQ]
        payload = marshal.dumps((last, _freq_checksum(tk, last), flags, bytes(index), extra))
        try:
            write_framed(path, head, payload)
        except OSError as e:
            log.warning("cannot write the part-of-speech tag cache %s: %s", path, e)
    return table


_POS: list[PosTables] = []
_POS_LOCK = threading.Lock()


def pos_tables() -> PosTables:
    """The tagger's tables for jieba's default tokenizer (`jieba.dt`), built once; again after
    `jieba.initialize`/`set_dictionary` gives it another dictionary."""
    import jieba

    tk = jieba.dt
    ready(tk)
    have = _POS[0] if _POS else None
    if have is None or have.tokenizer is not tk or have.dictionary != tk.dictionary:
        with _POS_LOCK:
            have = _POS[0] if _POS else None
            if have is None or have.tokenizer is not tk or have.dictionary != tk.dictionary:
                _POS[:] = [PosTables(tk)]
    return _POS[0]


def tag(text: str) -> list[tuple[str, str]]:
    """`[(p.word, p.flag) for p in jieba.posseg.cut(text)]` (jieba's default tagger, with its
    HMM), the same pairs computed faster: jieba's algorithm step by step — the dictionary
    route by `core.text.route` (the same sums as jieba's DAG), runs of characters the
    dictionary does not know to the tagger's HMM by `_pos_viterbi` (the same sums and
    tie-breaks as jieba.posseg.viterbi, without its tuples and generators).
    tests/test_officials_tag.py checks it against jieba."""
    from core.text import compiled_for, known_routes, route

    pos = pos_tables()  # (the tokenizer initialised)
    pos.makesure_userdict_loaded()
    tk = pos.tokenizer
    routes = known_routes(tk)  # the segmenter's routes through the same blocks (the same dictionary)
    compiled = compiled_for(tk)
    tags = pos.word_tag_tab
    get = tk.FREQ.get
    logtotal = math.log(tk.total)
    out: list[tuple[str, str]] = []
    add = out.append

    def unknown(buf: str) -> None:  # POSTokenizer.__cut_DAG's handling of a run of single characters
        if len(buf) == 1:
            add((buf, tags.get(buf, "x")))
        elif not get(buf):
            out.extend(_pos_detail_kept(buf, pos))
        else:
            out.extend((c, tags.get(c, "x")) for c in buf)

    for blk in pos.re_han_internal.split(text):
        if pos.re_han_internal.match(blk):
            end = routes.get(blk)
            if end is None and compiled is not None:
                end = compiled.route(blk)  # None unless the block is ideographs alone
            if end is None:
                end = route(blk, get, logtotal)
            x, n, buf = 0, len(blk), ""
            while x < n:
                y = end[x] + 1
                if y - x == 1:
                    buf += blk[x]
                else:
                    if buf:
                        unknown(buf)
                        buf = ""
                    word = blk[x:y]
                    add((word, tags.get(word, "x")))
                x = y
            if buf:
                unknown(buf)
        else:
            for part in pos.re_skip_internal.split(blk):
                if pos.re_skip_internal.match(part):
                    add((part, "x"))
                else:
                    for ch in part:  # jieba tests the whole stretch for letters (re_eng.match(x)), as here
                        add((ch, "m") if pos.re_num.match(ch) else (ch, "eng") if pos.re_eng.match(part) else (ch, "x"))
    return out


_DETAIL_KEPT: dict[str, tuple[tuple[str, str], ...]] = {}  # run -> its pairs (`_pos_detail_kept`)
DETAIL_KEPT_MAX = 4096


def _pos_detail_kept(sentence: str, posseg) -> tuple[tuple[str, str], ...]:
    """`_pos_detail`'s pairs of a run of characters jieba's tagger does not know, kept: a copy
    of a story (and a site's boilerplate) brings the same runs again, and the tagger's HMM is
    most of the tagging. Only for jieba's own tagger (`tag`): the HMM's tables never change."""
    kept = _DETAIL_KEPT.get(sentence)
    if kept is None:
        out: list[tuple[str, str]] = []
        _pos_detail(sentence, posseg, out)
        kept = tuple(out)
        if len(_DETAIL_KEPT) >= DETAIL_KEPT_MAX:  # (each step one dict operation: safe across threads)
            _DETAIL_KEPT.clear()
        _DETAIL_KEPT[sentence] = kept
    return kept


def _pos_detail(sentence: str, posseg, out: list[tuple[str, str]]) -> None:
    """POSTokenizer.__cut_detail: CJK runs to the HMM, digits and letters tagged m / eng."""
    for blk in posseg.re_han_detail.split(sentence):
        if posseg.re_han_detail.match(blk):
            pos = _pos_viterbi(blk, posseg)
            begin = nexti = 0
            for i, (state, flag) in enumerate(pos):
                if state == "B":
                    begin = i
                elif state == "E":
                    out.append((blk[begin : i + 1], flag))
                    nexti = i + 1
                elif state == "S":
                    out.append((blk[i], flag))
                    nexti = i + 1
            if nexti < len(blk):
                out.append((blk[nexti:], pos[nexti][1]))
        else:
            for x in posseg.re_skip_detail.split(blk):
                if x:
                    out.append(
                        (x, "m") if posseg.re_num.match(x) else (x, "eng") if posseg.re_eng.match(x) else (x, "x")
                    )


_PREDS: list = []  # [(trans_P, {state: the states with a transition to it})], built once


def _predecessors(trans_p) -> dict:
    if not _PREDS or _PREDS[0][0] is not trans_p:
        preds: dict = {}
        for y0, tr in trans_p.items():
            for y in tr:
                preds.setdefault(y, set()).add(y0)
        _PREDS[:] = [(trans_p, {y: frozenset(s) for y, s in preds.items()})]
    return _PREDS[0][1]


def _pos_viterbi(obs: str, posseg) -> list:
    """The state path of `jieba.posseg.viterbi.viterbi(obs, char_state_tab_P, start_P, trans_P,
    emit_P)`: the same states considered at each step, the same sums in the same order, and
    the same choice among equal sums (`max` over (probability, state) pairs: the larger state).
    For each state only the previous states with a transition to it are summed (a fifth of
    them, on news text): any other gives minus infinity, so it wins only when every one does,
    and then the largest previous state wins, as in `max`."""
    states, start_p, trans_p, emit_p = posseg.char_state_tab_P, posseg.start_P, posseg.trans_P, posseg.emit_P
    low, inf = MIN_FLOAT, MIN_INF
    preds = _predecessors(trans_p)
    none: frozenset = frozenset()
    all_states = trans_p.keys()
    c = obs[0]
    v = {y: start_p[y] + emit_p[y].get(c, low) for y in states.get(c, all_states)}
    back: list[dict] = [dict.fromkeys(v, "")]
    for c in obs[1:]:
        prev = [x for x in v if len(trans_p[x]) > 0]
        if not prev:
            max(())  # jieba's max() over no previous state: the same ValueError
        live = set(prev)
        # the character's states some previous state has a transition to (jieba: the union of
        # the previous states' transitions, intersected with the character's states)
        here: Iterable = [y for y in states.get(c, all_states) if not live.isdisjoint(preds.get(y, none))]
        if not here:
            expect = set().union(*map(trans_p.__getitem__, prev))
            here = expect if expect else set(all_states)
        top = max(prev)
        nv: dict = {}
        nb: dict = {}
        for y in here:
            e = emit_p[y].get(c, low)
            bp, by = None, None
            for y0 in preds.get(y, none) & live:
                p = v[y0] + trans_p[y0][y] + e
                if by is None or p > bp or (p == bp and y0 > by):
                    bp, by = p, y0
            if by is None or bp == inf:  # every previous state gives minus infinity
                bp, by = inf, top
            nv[y] = bp
            nb[y] = by
        v = nv
        back.append(nb)
    _, state = max((p, y) for y, p in v.items())
    path = [state]
    for i in range(len(obs) - 1, 0, -1):
        state = back[i][state]
        path.append(state)
    path.reverse()
    return path
