"""Analysis: watch-list matching on token boundaries, category; grading (`core.grading`) and
the story key (`core.cluster`) are called from here.

Stage 1 is an Aho-Corasick prefilter over every watch-list term: a post with no term costs
one automaton pass. Stage 2 segments the post with jieba (watch-list terms in its user
dictionary) and keeps only hits that start and end on token boundaries, so 张建国 is not
found inside 张建国际. Both stages, and the terms themselves, see the text folded by
`core.text.fold` (no invisible characters, traditional -> simplified, spaced-out CJK joined), so
张\u200b建国, 张 建 国 and 張建國 are all 张建国; the post is stored and shown as written.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field, replace

import ahocorasick
import jieba

from core.cluster import event_text, fingerprint, story_key
from core.config import Config, Near, Source
from core.excerpt import excerpt
from core.gazetteer import ELSEWHERE, AreaMatcher, PlaceHits, foreign_subject, gazetteer
from core.grades import Grade
from core.grading import (
    INVESTIGATION,
    RESOLVED,
    Content,
    Reach,
    Reason,
    assess_content,
    grade_story,
    outside_campaigns,
    sensitivity_of,
)
from core.models import Finding, Post
from core.officials import (
    BODIES,
    CUES,
    DISCIPLINE_ONLY,
    ENFORCERS,
    SENIOR_RANKS,
    STATE_WORDS,
    TITLES,
    Official,
    OfficialFinder,
    is_body,
    one_per_person,
)
from core.text import Segmenter, fold, fold_with_gaps, is_boilerplate_line, without_site_suffix
from jobs.relevance import Verdict
from jobs.relevance import default_model as default_relevance_model
from jobs.tone import ToneDetector

__all__ = ["Analysis", "Analyzer"]


@dataclass(frozen=True)
class Analysis:
    """A finding plus what the story needs to grade it later."""

    finding: Finding
    sensitivity: float
    sensitivity_reasons: tuple[Reason, ...]  # content, signals: what makes up the sensitivity
    segmented: bool = False  # the post had watch-list hits and was segmented (in part, if not relevant)
    text: str = ""  # the folded title + "\n" + body it was matched on (reused by the search index)
    # for a post found not relevant, the stage that decided it (see DROP_STAGES); "" when relevant
    dropped: str = ""

    @property
    def factors(self) -> tuple[Reason, ...]:
        return self.sensitivity_reasons

    @property
    def seg(self) -> str | None:
        """For `insert_post`: None queues the post for the background search indexer; a post
        that was analysed here in full (it had watch-list hits) is indexed at once. Only whether
        it is None counts: the index is built from the folded text (m013), not from tokens."""
        return "" if self.segmented else None


@dataclass
class Signals:
    """What the gazetteer and the officials finder saw in a post."""

    places: PlaceHits = field(default_factory=PlaceHits)
    officials: list[Official] = field(default_factory=list)
    people: list[Official] = field(default_factory=list)  # the officials, each person once (the card's)
    cues: list[str] = field(default_factory=list)  # 村干部, 镇政府: involved, not identified
    headline: bool = False  # an identified official in the title
    head_official: bool = False  # an official's title in the title (民警 and the like left out)
    head_body: bool = False  # a government body or a cadre cue (or a title) in the title
    foreign: bool = False  # the title names a foreign country and title and lead no place in China
    history: bool = False  # the title names a leader of the revolution or the early People's Republic
    head_complaint: bool = False  # a complaint in the title, a government body or official in the lead
    first_end: int = 0  # offset in the folded text where the lead's first sentence ends
    lead: str = ""  # title + first sentences (folded)
    cut: int = 0  # offset in the folded text where the lead ends
    head_len: int = 0  # length of the folded title
    accused: list[str] = field(default_factory=list)  # names right before an official's offence in the title


LEAD_CHARS = 300  # how much of the text after the title counts as its lead
# a sentence ends at its stop or a line break (also a literal "\n" that scraped pages carry)
_SENTENCE_END = re.compile(r"[。！？!?\n]|\\n")
_SENTENCE_STOP = re.compile(r"[。！？!?]")  # a sentence's own end (line breaks in a form page are not)
FIRST_SENTENCE_CHARS = 120  # at most this much of the lead counts as its first sentence
# A forum page whose text opens with a quoted reply (引用@某某发表的: …): the reply is a reader's
# aside, not the story's lead, so its words (…群像式的小说) do not veto what the headline says.
_FORUM_QUOTE = re.compile(r"\s*(?:引用@|引用\s|以下是引用|原帖由|回复@)")
# A repost opening with the original headline (原标题：…): the lead's first sentence is the one
# after it, not the headline again.
_ORIGINAL_TITLE = re.compile(r"[\s\u3000]*原标题[:：]\s*")
# Leaders of the revolution and the early People's Republic (and the Republic before it): a
# headline naming one (毛主席, 上海市第一任市长陈毅, 刘少奇前妻…) is history, not today's cadre
# work, unless a topic rule holds in the headline itself (纪念周恩来诞辰…主题党日活动 is a party
# branch's day). 陈云, a name many living people bear, is left out.
_HISTORICAL = (
    "毛泽东 毛主席 周恩来 周总理 刘少奇 朱德 朱总司令 邓小平 陈毅 彭德怀 贺龙 叶剑英 任弼时 董必武 林彪 刘伯承 "
    "聂荣臻 徐向前 罗荣桓 胡耀邦 华国锋 瞿秋白 李大钊 陈独秀 孙中山 蒋介石 宋庆龄"
)
HISTORICAL_LEADERS = tuple(_HISTORICAL.split())
# …but a place named after one (贺龙体育场, 刘少奇故居, 中山路 aside) is where today's news happens
_NAMED_AFTER = "体育|纪念|故居|旧居|广场|路|大道|大街|街|中学|小学|大学|学院|公园|图书馆|铜像|雕像|陵园|墓|号"
_HISTORY_RE = re.compile(f"(?:{'|'.join(HISTORICAL_LEADERS)})(?!{_NAMED_AFTER})")
# a headline set in a dynasty or the old days (明朝海瑞如何反腐, 古代官员的俸禄): history, whatever
# its topic
_DYNASTY_RE = re.compile(
    r"(?:秦|汉|唐|宋|元|明|清)(?:朝|代)(?!(?:路|街|大道|广场|公园|中学|小学|村|镇|乡))|古代|古人|封建王朝|民国时期|历史上的"
)
# the site suffix of a Q&A or legal-advice page: someone's question, not an event (see `_judge`)
_QA_SITE = re.compile(r"(百度知道|知乎|律师365|华律网|找法网|法律快车|法律咨询)\s*$")
# Pages that are no one's story whatever cadre words they hold (see `_not_a_story`):
# - an advertisement — two or more of a sales page's phrases in title and lead (考公协议班火热报名
#   中…全额退费，咨询微信; 党建培训套餐火热预约中…量大从优) — a public body's notice gives a landline,
#   not a sales pitch, and a government's 一站式服务 or 服务套餐 is no sales phrase;
_ADVERT = re.compile(
    r"火热(?:报名|招生|预约|预定|进行)|报名立减|立减\d|限时(?:优惠|特惠|抢购|折扣)|量大从优|全额退费|"
    r"(?:不过|未过)(?:全额)?退费?|包过|协议班|名师|小班授课|优惠价|特价|团购|招商加盟|免费试听|"
    r"咨询微信|加微信|微信号?[:：]\s*[A-Za-z0-9]|咨询(?:电话|热线)[:：]?\s*1[3-9]\d|点击(?:注册|领取|报名|购买)|"
    r"扫码(?:报名|咨询|领取|购买)|首充|返利|彩金|报价单|专业承接|承接各(?:类|单位)|设计施工|施工一体化|免费出方案|"
    r"套餐(?:预订|预约|报价)|火热预订|"
    r"免费设计|厂家直销|欢迎来电|欢迎咨询"
)
# - a spam page's title (注册即送彩金 真人在线) over cadre news pasted below it: the rubric's spam
#   title; a cadre story as the title keeps a page relevant (its headline topic, below);
_SPAM_TITLE = re.compile(
    r"彩金|真人(?:在线|视讯|娱乐|荷官)|注册(?:即|就)?送|首充|博彩|娱乐城|百家乐|葡京|威尼斯人|金沙(?:娱乐|城|国际)|"
    r"太阳城|时时彩|六合彩|老虎机|棋牌游戏|网赚|信用卡套现|套现|代开发票|线上赌场|在线赌场|快乐十分|幸运飞艇|"
    r"北京赛车|pk10|PK10|彩票(?:网|平台|开户|投注)|网上开户|网上投注|网投|网赌"
)
# - a company's job advert (诚聘党建专员｜某集团有限公司招聘启事: 岗位职责…薪资);
_JOB_AD = re.compile(r"诚聘|急聘|高薪(?:诚聘|招聘)|招聘启事|招聘信息|招聘简章")
_JOB_TERMS = re.compile(r"岗位职责|任职要求|任职资格|薪资|月薪|年薪|五险一金|薪酬面议|待遇面议|包吃住")
_FIRM = re.compile(r"有限公司|有限责任公司|股份公司|集团公司|集团有限|科技公司|有限责任")
# - exam preparation (公考面试热点｜整治“躺平式干部”，你怎么看？ 【题目】…【答题思路】): the rubric's
#   题库, 备考技巧, 面试热点, whichever rule its topic words would make it — but not news of a
#   leaked or cheated exam (申论真题泄露);
_EXAM_PREP = re.compile(
    r"面试热点|申论热点|时政热点|热点预测|考点|题库|真题|备考|模拟题|每日一练|答题思路|参考答案|面试技巧|"
    r"结构化面试题|押题|上岸|【题目】|\[题目\]|【试题】"
)
_EXAM_NEWS = re.compile(r"泄露|泄题|漏题|作弊|舞弊|替考|回应|通报|调查|被查|处分")
# - fiction about officials (电视剧《县委大院》为什么被说“太真实了”？): not an event, unless the
#   news is of a real official (…原型落马);
_FICTION = re.compile(r"(?:电视剧|网剧|短剧|电影|小说|剧集|追剧|这部剧|影视剧)")
_REAL_NEWS = re.compile(r"原型|落马|被查|双开|获刑|受审")
# - a company's own news in its headline (某上市公司董事长因个人原因辞职);
_LISTED_FIRM = re.compile(r"上市公司|股份有限公司|有限责任公司|有限公司|集团公司|股份公司")
_SITE_SPLIT = re.compile(r"[_｜|]|\s-\s")  # (a page's site name after its title: _上海…有限公司)
_FICTION_TITLE = re.compile(r"(?:官场|反腐|职场)(?:小说|剧|网文)|小说推荐|电视剧推荐|好剧推荐|追剧")
_STUDY = re.compile(r"观看|观影|收看|学习|组织|党支部|党课|教育")
# - a digest with no story of its own in the headline (一周要闻（3月10日—3月16日）｜景德镇): the
#   rubric grades a digest by its headline story, and this one has none;
_DIGEST = re.compile(r"一周要闻|要闻速览|要闻汇总|今日要闻|一周回顾|新闻早班车|早读|晨读|新闻联播|简讯汇总|新闻汇总")
# - a student body (学生会部长要求干事每天打卡): its officers hold no public office.
_STUDENT_BODY = re.compile(r"学生会|学生干部|班干部")
# - a warning about impostors (警惕！有人冒充“纪委工作人员”要求转账): whoever was posed as is no
#   party to it (what they posed as is blanked already; what they said to the victims is not).
_POSING_VERB = re.compile(r"冒充|假冒|冒称|冒名|假扮|伪装成|谎称|冒用")
_FRAUD_WORDS = re.compile(r"诈骗|反诈|骗局|骗子|骗取|被骗|受骗|安全账户|转账|防骗|电诈")
# a body's statement in its headline (关于网传“…”的情况说明, 关于…问题的回复, …纯属谣言, 辟谣): see
# `_judge`; and a profile's subtitle (——记…村党支部书记彭春生)
_STATEMENT = re.compile(
    r"^关于.{0,60}(?:情况说明|情况通报|的说明|的回复|的答复|的回应)\s*$|辟谣|纯属谣言|系谣言|网传.{0,30}(?:不实|谣言|假的)"
)
# the matter a body's answer is about, in the headline: an exam's or an appointment's doubt
_MATTER_DOUBTED = re.compile(
    r"(?P<exam>考生|笔试|面试|体检|录用|招录|招聘|考试|成绩|公务员|事业单位)|(?P<post>提拔|任职|任命|副县长|连升|破格|选拔)"
)
EXAMS, APPOINTMENTS = "招录考试", "干部任用"
# a citizen's report and its handling in the headline (举报…无回音, 举报后被…找麻烦, 查无实据)
_REPORT_HANDLING = re.compile(
    r"举报[^，。！？!?]{0,20}(?:无回音|没回音|没有回音|石沉大海|查无实据|走过场|找麻烦|打击报复|被泄露|泄露|不予受理|没人管|无人理)"
    r"|(?:举报后|举报人)[^，。！？!?]{0,12}(?:被|遭)"
)
# the rubric's 干部作风 lapses in a headline (公车私用, 酒驾 — not 以“查酒驾”为名: a pretext), and the
# corruption words that make a case of one
_CONDUCT_LAPSE = re.compile(r"(?<!查)(?:醉驾|酒驾|醉酒驾|酒后驾)|饮酒|公车私用")
_CORRUPTION_WORD = re.compile(r"受贿|贪污|索贿|行贿|挪用|侵占|侵吞|权钱|利益输送|以权谋私|滥用职权|收受")
_PROFILE = re.compile(r"(?:—|-|－){1,2}\s*记\S")
# a watched cadre's name written in ideographs only (tagged as a person's name for the tagger)
_CJK_NAME = re.compile(r"[\u4e00-\u9fff]+")
# Complaint words (as topics), and what in a headline names a company or the like rather than
# a government body: a complaint about one is a consumer's (see `_judge`).
COMPLAINT_TOPICS = frozenset({"举报", "实名举报", "投诉", "信访", "上访", "曝光", "维权"})
_COMPANY = re.compile(
    r"公司|企业|集团|工厂|厂家|医院|诊所|幼儿园|物业|酒店|宾馆|超市|商场|驾校|楼盘|开发商|培训机构|银行|营业厅|卖场|"
    r"专卖店|门店|4S店|快递|外卖|网店|业委会|业主委员会"
)
# A citizen's complaint or report in the headline: about a government body's handling when the
# lead names one (举报过期食品只奖两毛: the 食药监局's reward), not about a company otherwise.
COMPLAINT = ("投诉", "举报", "求助", "反映", "上访", "信访")


@functools.lru_cache(maxsize=4096)
def _fold_term(term: str) -> str:
    return fold(term)


@functools.lru_cache(maxsize=16)
def _area_matcher(area: str | None, extra: tuple[str, ...]) -> AreaMatcher | None:
    if area is None:
        return None
    gz = gazetteer()
    return AreaMatcher(gz, gz.area(area), extra)


# kinds of watch-list terms
CADRE, UNIT, PLACE, TOPIC, SENSITIVE, NEGATIVE = "cadres", "units", "places", "topics", "sensitive", "negative"
RULE = "rule"  # terms only used inside rules (all / none / near); never shown, never enough alone
TRIGGER = "trigger"  # the terms of a near-only rule: like a topic's `any` for the prefilter; never shown
OFFICIALS = "officials"  # titles, cadre cues and government bodies (not a watch-list kind)

# The stage that found a post not relevant (`Analysis.dropped`), in the order they run: no
# watch-list term at all; the prefilter (no topic in title and lead, or a topic in the lead
# with no official, cue or body there); the area (out of it, abroad, or history: a leader of
# the revolution in the headline); a rule its `none` words vetoed (whatever other rule came close);
# no topic rule; the subject test (headline and first sentence); no identifiable official,
# body, place or headline topic for the rule; a page that is no one's story (an advert, a
# spam title, a job advert, exam preparation, an impostor warning: `_not_a_story`).
NO_TERM, PREFILTER, AREA, VETO, NO_RULE, SUBJECT, OFFICIAL, NOT_A_STORY = (
    "no term",
    "prefilter",
    "area",
    "none words",
    "no rule",
    "subject",
    "officials",
    "not a story",
)
DROP_STAGES = (NO_TERM, PREFILTER, AREA, VETO, NO_RULE, SUBJECT, OFFICIAL, NOT_A_STORY)
# the stages after which the relevance model (jobs.relevance) may still find a post relevant:
# it passed the prefilter and is in the area, but no rule, the subject test or the lack of an
# identified official or body turned it down (not a rule's `none` words: the team's own word)
MODEL_STAGES = (NO_RULE, SUBJECT, OFFICIAL)
_EXPAND = {"$cadres": CADRE, "$units": UNIT, "$places": PLACE, "$officials": OFFICIALS}


def _term_key(term: str) -> tuple[bool, str]:
    """Where `Analyzer._offsets` looks a rule's term up: (True, kind) in the offsets by kind for
    a `$` expansion, (False, folded term) in the offsets by surface otherwise."""
    return (True, _EXPAND[term]) if term in _EXPAND else (False, _fold_term(term))


@dataclass(frozen=True)
class _Rule:
    """A topic rule's terms as `_term_key`s (in order, repeats kept), for `_topic_strength`."""

    topic: object
    none: tuple[tuple[bool, str], ...]
    all: tuple[tuple[bool, str], ...]
    any: tuple[tuple[bool, str], ...]
    near: tuple[tuple[tuple[tuple[bool, str], ...], tuple[tuple[bool, str], ...], Near], ...]

    @classmethod
    def of(cls, t) -> _Rule:
        keys = lambda terms: tuple(map(_term_key, terms))  # noqa: E731
        return cls(t, keys(t.none), keys(t.all), keys(t.any), tuple((keys(c.a), keys(c.b), c) for c in t.near))


def _title_and_body(post: Post, text: str) -> tuple[str, str]:
    """The folded title and body the models read; `text` is the folded title + "\\n" + body."""
    title = fold(post.title)
    body = text[len(title) :].lstrip("\n") if text.startswith(title) else text or fold(post.text)
    return title, body


class Analyzer:
    """Built once from the config; `analyse(post, source)` is then pure and fast."""

    def __init__(self, config: Config, segmenter: Segmenter | None = None, *, relevance: bool | None = None):
        """`relevance`: whether the relevance model may add posts (default: the config's
        `[watchlist] relevance_model`)."""
        self.config = config
        wl = config.watchlist
        self._terms: dict[str, list[tuple[str, str]]] = {}  # surface -> [(kind, canonical)]
        for c in wl.cadres:
            for s in (c.name, *c.aliases):
                self._add(s, CADRE, c.name)
        for u in wl.units:
            for s in (u.name, *u.aliases):
                self._add(s, UNIT, u.name)
        for p in wl.places:
            self._add(p, PLACE, p)
        for t in wl.topics:
            for s in t.any:
                self._add(s, TOPIC, s)
            for s in (*t.all, *t.none, *(x for n in t.near for x in (*n.a, *n.b) if not x.startswith("$"))):
                self._add(s, RULE, s)
            if not t.any:  # a rule of near clauses only: its `all` terms, which it needs every
                # one of (情况通报 of 就…情况通报), else its clauses' terms are what triggers it
                triggers = t.all or [x for n in t.near for x in _trigger_side(n)]
                for s in (x for x in triggers if not x.startswith("$")):
                    self._add(s, TRIGGER, s)
        for s in wl.sensitive:
            self._add(s, SENSITIVE, s)
        for s in wl.negative:
            self._add(s, NEGATIVE, s)
        self._cadres = {c.name: c for c in wl.cadres}
        self._rules: dict[int, _Rule] = {}  # id of a topic rule -> its terms' keys (`_rule`)
        self._categories = frozenset(t.category for t in wl.topics)
        self._uses_officials = any("$officials" in (*n.a, *n.b) for t in wl.topics for n in t.near)
        self.officials = OfficialFinder()
        extra = tuple(fold(p) for p in wl.places)
        self._hand_listed = frozenset(extra)
        org_area = config.organization.area
        self._areas: dict[str | None, AreaMatcher | None] = {None: _area_matcher(org_area, extra)}
        for team in config.teams:
            self._areas[team.id] = _area_matcher(team.area or org_area, extra)
        self._keep_elsewhere = config.organization.out_of_area == "keep"
        self._thresholds = {g: r.threshold for g, r in config.grades.items()}
        self._automaton = ahocorasick.Automaton()
        for surface, kinds in self._terms.items():
            self._automaton.add_word(surface, (surface, kinds))
        if self._terms:
            self._automaton.make_automaton()
        # a watched cadre's name is a person's name to the officials' tagger, as jieba tags
        # most names it knows (刘海燕 after 副区长 is the official's name, not a word of its own)
        names = {fold(c.name): "nr" for c in wl.cadres if 2 <= len(c.name) <= 4 and _CJK_NAME.fullmatch(c.name)}
        self.segmenter = segmenter or Segmenter(self._terms.keys(), tags=names)
        self.tone = ToneDetector()  # the trained model; the team's `negative` terms are matched above
        use_model = wl.relevance_model if relevance is None else relevance
        self.relevance = default_relevance_model() if use_model else None

    def _add(self, surface: str, kind: str, canonical: str) -> None:
        surface = fold(surface)  # a term written in traditional or with stray spaces still matches
        if surface:
            self._terms.setdefault(surface, []).append((kind, canonical))

    @property
    def terms(self) -> list[str]:
        return list(self._terms)

    def _prefilter(self, text: str) -> list[tuple[int, int, str]]:
        if not self._terms:
            return []
        return [(end - len(s) + 1, end + 1, s) for end, (s, _) in self._automaton.iter(text)]

    def _could_be_relevant(self, hits, text: str = "", head: str = "", head_len: int | None = None) -> bool:
        """Relevance needs a watched cadre or unit, an official in the headline, or a topic in
        the title and lead with a subject (see `_judge`): the topic in the headline, or an
        official or a body the lead names — a title, cue or body word, or a 局/委/厅 the tagger
        may take for a body. Raw hits are a superset of the token-boundary hits, so a post
        failing this on raw hits cannot be relevant. `head_len`: where the headline ends in
        `text` (the first sentence when there is no title)."""
        kinds = {kind for _, _, surface in hits for kind, _ in self._terms[surface]}
        if kinds & {CADRE, UNIT} or self.officials.has_title(head):
            return True
        if self.officials.named_in(head, text[len(head) : len(head) + 1 + LEAD_CHARS]):
            return True  # 章建华参加…调研: the lead gives the title (党组副书记章建华)
        # topics count only in the title and lead (the subject test)
        cut = len(head) + 1 + LEAD_CHARS
        lead = text[:cut]
        topic_at = [start for start, _, surface in hits for kind, _ in self._terms[surface] if kind in (TOPIC, TRIGGER)]
        if not any(start < cut for start in topic_at):
            return False
        head_len = len(head) if head_len is None else head_len
        return (
            any(start < head_len for start in topic_at)
            or self.officials.has_title(lead)
            or any(c in lead for c in "局委厅")
        )

    def _matcher(self, source: Source | None) -> AreaMatcher | None:
        team = source.team if source else None
        return self._areas.get(team, self._areas[None])

    def analyse(self, post: Post, source: Source | None) -> Analysis:
        # matching runs on the folded text only; the post itself is stored and shown as written
        written, gaps = fold_with_gaps(f"{post.title}\n{post.text}")
        text = _without_posing(written)  # matched on; `written` is what the search index reads
        head, _, body = text.partition("\n")
        hits = self._prefilter(text)
        if not head.strip():  # no title: the first sentence is the headline
            first = _SENTENCE_END.search(body)
            head_len = 1 + (first.start() if first else len(body))
        else:
            head_len = without_site_suffix(head)
        if not self._could_be_relevant(hits, text, head, head_len):
            stage = PREFILTER if hits else NO_TERM
            return Analysis(
                Finding(relevant=False, story_key=story_key(post.title)), 0.0, (), text=written, dropped=stage
            )
        matcher = self._matcher(source)
        # a space the writer put between CJK still separates; jieba is run only on the stretches
        # of text a hit falls in (the same cut as segmenting the whole text: jieba cuts each
        # stretch between punctuation on its own)
        boundaries = LazyBoundaries(text, gaps, self.segmenter.folded_tokens)
        lead_end = len(head) + 1 + LEAD_CHARS
        matched, positions, kinds_at = self._word_hits(hits, boundaries, lead_end)
        # places deep in the page count only by name (the lead's hits by offset: `$places`, foreign)
        sig = Signals(places=matcher.find(text, boundaries, lead_end) if matcher else PlaceHits())
        if self._uses_officials:  # a rule's `$officials`: an official or a body, in title and lead
            kinds_at[OFFICIALS] = self.officials.word_offsets(text[:lead_end])
        # `$places`: the hand-listed places and the area's places from the gazetteer (and places
        # elsewhere for a team that keeps posts about elsewhere)
        for start, where in sig.places.starts:
            if where != ELSEWHERE or self._keep_elsewhere:
                kinds_at.setdefault(PLACE, []).append(start)
        sig.lead = self.officials.lead(head, body)
        sig.cut, sig.head_len = lead_end, head_len
        headline = text[:head_len]
        lead_at = max(len(head), head_len) + 1  # the lead's first sentence (a break right at its start skipped)
        lead_at = _after_original_title(text, lead_at, headline)
        lead_at = _after_boilerplate(text, lead_at)
        first = _SENTENCE_STOP.search(text, lead_at + 1)
        sig.first_end = min(first.end() if first else len(text), lead_at + FIRST_SENTENCE_CHARS)
        if _FORUM_QUOTE.match(text, lead_at):  # a forum page opening with a reply: the headline is the story
            sig.first_end = head_len
        sig.head_official = self.officials.has_official_title(headline)
        sig.accused = self.officials.accused_in(headline)
        sig.head_body = self.officials.has_cadre_word(headline)
        sig.foreign = foreign_subject(headline, text[: sig.cut], sig.places, sig.cut, boundaries)
        sig.history = _HISTORY_RE.search(headline) is not None
        # bodies only the tagger knows matter for a complaint or a body in the headline
        by_tag = any(w in headline for w in COMPLAINT) or any(c in headline for c in "局委厅")
        sig.officials, sig.cues = self.officials.find(_officials_part(sig.lead), by_tag)
        # a "name" the gazetteer read as a place there (铜川王益民警: 王益区 after its city) is
        # that place, not a person
        sig.officials = [o for o in sig.officials if not _named_as_place(o.name, text, sig.places)]
        sig.people = one_per_person(sig.officials)
        # a government body the tagger found (商丘市住房和城乡建设局) standing in the headline
        sig.head_body = sig.head_body or any(is_body(c) and c in headline for c in sig.cues)
        sig.head_complaint = any(w in headline for w in COMPLAINT) and bool(
            sig.officials or any(is_body(c) for c in sig.cues)
        )
        # an official is the headline subject: named there (章建华参加…), or title and unit there
        sig.headline = any(
            (len(o.name) >= 2 and o.name in headline) or (o.title in headline and (o.name or o.unit) in headline)
            for o in sig.officials
            # 宜昌民警卧底捣毁赌场: police at work are not the cadre story; named, they can be;
            # 同志 in the lead is how anyone is honoured (看望好人叶海涛: 叶海涛同志 is a teacher);
            # a headline calling them so (段国华同志出席…) is a leader's news
            if (not o.enforcer or len(o.name) >= 2)
            and (o.title != "同志" or bool(o.unit) or f"{o.name}同志" in headline)
            and o.title not in DISCIPLINE_ONLY  # (a school's head named there: school news)
        )
        analysis = self._judge(post, source, matched, (), positions, kinds_at, sig, text)
        return replace(analysis, segmented=True, text=written)

    def _word_hits(
        self, hits, boundaries, lead_end: int | None = None
    ) -> tuple[dict[str, list[str]], dict[str, list[int]], dict[str, list[int]]]:
        """The prefilter's hits on token boundaries: the words matched by kind (kind ->
        canonical names, in order of the hits), and the start offsets of each surface and each
        kind. From `lead_end` on (past the cut `_judge` reads offsets to) a hit counts only by
        its words, so one whose words are all there already is not looked at (no segmenting):
        the words are the same as without `lead_end`, the offsets the same before it."""
        matched: dict[str, list[str]] = {}
        positions: dict[str, list[int]] = {}  # surface -> start offsets of boundary hits
        kinds_at: dict[str, list[int]] = {}  # kind -> start offsets (for $cadres etc.)
        deep = float("inf") if lead_end is None else lead_end
        for start, end, surface in hits:
            if start >= deep and all(c in matched.get(k, ()) for k, c in self._terms[surface]):
                continue
            if start not in boundaries or end not in boundaries:
                continue
            positions.setdefault(surface, []).append(start)
            for kind, canonical in self._terms[surface]:
                kinds_at.setdefault(kind, []).append(start)
                bucket = matched.setdefault(kind, [])
                if canonical not in bucket:
                    bucket.append(canonical)
        return matched, positions, kinds_at

    def _offsets(self, term: str, positions, kinds_at) -> list[int]:
        if term in _EXPAND:
            return kinds_at.get(_EXPAND[term], [])
        return positions.get(_fold_term(term), [])

    def _rule(self, t) -> _Rule:
        """Topic rule `t` with each term as the key `_offsets` reads (`_Rule`), worked out once."""
        r = self._rules.get(id(t))
        if r is None or r.topic is not t:  # (it holds the rule: an id is never another's while kept)
            r = self._rules[id(t)] = _Rule.of(t)
        return r

    def _topic_strength(self, t, positions, kinds_at, veto: bool = True) -> int:
        """0 when the rule does not match; else distinct `any` hits + satisfied `near` clauses.
        `veto=False` leaves out the rule's `none` terms (the caller has judged them). Each term's
        key is worked out once per rule (`_rule`; tests/test_topic_rules_fast.py checks this
        against the rule read term by term through `_offsets`)."""
        r = self._rule(t)
        pos, kin = positions, kinds_at
        if veto:
            for expand, key in r.none:
                if (kin if expand else pos).get(key):
                    return 0
        for expand, key in r.all:
            if not (kin if expand else pos).get(key):
                return 0
        n = 0
        for expand, key in r.any:
            if (kin if expand else pos).get(key):
                n += 1
        for a_keys, b_keys, clause in r.near:
            a = [i for expand, key in a_keys for i in (kin if expand else pos).get(key, ())]
            b = [i for expand, key in b_keys for i in (kin if expand else pos).get(key, ())]
            if clause.holds(a, b):
                n += 1
            elif not r.any:
                return 0
        return n if (n or not r.any) else 0

    def _vetoed(self, t, positions, kinds_at) -> bool:
        """Whether a `none` term of rule `t` is among the hits."""
        return any((kinds_at if expand else positions).get(key) for expand, key in self._rule(t).none)

    def _by_clause(self, t, positions, kinds_at) -> bool:
        """Whether rule `t` holds by a `near` clause (举报…石沉大海), not by its `any` words alone."""
        if t is None or not t.near:
            return False
        n = self._topic_strength(t, positions, kinds_at, veto=False)
        return n > sum(1 for expand, key in self._rule(t).any if (kinds_at if expand else positions).get(key))

    def _judge(
        self,
        post: Post,
        source: Source | None,
        matched: dict[str, list[str]],
        tokens,
        positions=None,
        kinds_at=None,
        sig: Signals | None = None,
        text: str = "",
    ) -> Analysis:
        wl = self.config.watchlist
        positions, kinds_at = positions or {}, kinds_at or {}
        sig = sig or Signals()
        matched.pop(RULE, None)
        matched.pop(TRIGGER, None)
        best_cat, best_w, best_score, best_rule = None, 0, 0, None
        team = source.team if source else None
        if sig.cut:  # the subject test: topics count in the title and lead, not deep in a page
            cut = sig.cut
            positions = {k: [i for i in v if i < cut] for k, v in positions.items()}
            kinds_at = {k: [i for i in v if i < cut] for k, v in kinds_at.items()}
        # The headline decides first: a rule its title matches counts (`none` words deeper than
        # the lead's first sentence — a page's navigation, 备考资料 beside 公务员招录 figures — do
        # not undo it), a rule the title or first sentence vetoes (公务员考试法律常识题, …以非国家
        # 工作人员受贿罪被判刑) is out; a rule the title does not touch is judged on title and lead. A rule the headline matches is the post's subject, so it wins the
        # category over rules matched deeper in the lead.
        head_len, first_end = sig.head_len, sig.first_end or sig.head_len
        head_pos = {k: [i for i in v if i < head_len] for k, v in positions.items()}
        head_kinds = {k: [i for i in v if i < head_len] for k, v in kinds_at.items()}
        first_pos = {k: [i for i in v if i < first_end] for k, v in positions.items()}
        first_kinds = {k: [i for i in v if i < first_end] for k, v in kinds_at.items()}
        head_topic = False
        first_near = False  # a rule of near clauses only holds in the headline and first sentence
        vetoed = []  # rules the headline or first sentence vetoed (for `dropped`)
        # a place or a body answering in the headline (余干县回应“村霸强占耕地”投诉): a response
        # rule holding there by its clause, which makes the government the story's actor
        speaker = False
        for t in wl.topics:
            if t.team is not None and t.team != team:
                continue  # another team's rule
            if self._vetoed(t, first_pos, first_kinds):
                vetoed.append(t)
                continue  # the headline or the lead's first sentence says what the rule excludes
            in_head = self._topic_strength(t, head_pos, head_kinds) > 0
            if not t.any and not first_near:
                first_near = in_head or self._topic_strength(t, first_pos, first_kinds) > 0
            n = self._topic_strength(t, positions, kinds_at, veto=not in_head)
            head_topic = head_topic or in_head
            if in_head and t.category == RESPONSE and not speaker:
                speaker = self._by_clause(t, head_pos, head_kinds)
            rank = t.weight * n + (1000 if in_head else 0)
            if n and rank > best_score:
                best_cat, best_w, best_score, best_rule = t.category, t.weight, rank, t
        places = sig.places
        for p in (*places.ours, *places.ours_weak):
            if p in self._hand_listed:
                continue  # already there as written in the config
            bucket = matched.setdefault(PLACE, [])
            if p not in bucket:
                bucket.append(p)
        # in the area: a watched cadre, a place of ours (hand-listed or from the gazetteer), or
        # no place elsewhere named at all; a team may keep posts about elsewhere
        in_area = self._keep_elsewhere or bool(matched.get(CADRE) or matched.get(PLACE)) or places.in_area
        place_named = bool(matched.get(PLACE))
        # a team that keeps posts about elsewhere counts a place there when the headline is the
        # topic (河北省公务员考试…) or a cadre cue is next to it (内蒙古巨贪)
        place_any = place_named or (self._keep_elsewhere and bool(places.elsewhere))
        # a topic needs a place of ours, an identified official or a government body; a bare
        # "干部" names nobody and nowhere
        bodies = any(is_body(c) for c in sig.cues)
        people = any(not is_body(c) for c in sig.cues)
        # the subject test: the headline carries the cadre story — a topic the title matches, an
        # official named there, or an official's title, a cadre cue or a government body in it;
        # sector news with officials only in its lead (a campaign, a project, a spam page with
        # cadre words under an unrelated title) is not the team's story
        subject = head_topic or sig.headline or sig.head_official or sig.head_complaint
        first_end = sig.first_end or sig.cut
        if not subject and best_cat is not None and (first_near or any(i < first_end for i in kinds_at.get(TOPIC, ()))):
            # a body or a cadre cue alone in the headline (交警大队…宣传进校园) makes the topic the
            # subject only when the lead's first sentence has it (an `any` term, or a near-only
            # rule holding there: not one side's 执法 alone), not a page's later paragraphs;
            # a headline without one, when that first sentence names a body or an official too
            # (来信主题…受文单位 博罗县政府办公室: a letter to a government office)
            first = text[sig.head_len : first_end]
            # a traffic brigade stopping a drunk driver is an arrest: police bodies do not make
            # a drink-driving topic the subject (an official's own drink-driving still can)
            arrest = set(matched.get(TOPIC, ())) <= ENFORCED_OFFENCES
            subject = (
                sig.head_body
                or any(
                    (is_body(c) and c in first and not (arrest and _police(c)))
                    or (not is_body(c) and c in first and c not in ENFORCERS)
                    for c in sig.cues
                )
                or any(o.label in first or (len(o.name) >= 2 and o.name in first) for o in _accountable(sig.officials))
            )
        if not subject and sig.officials and best_cat is not None:
            # …or the lead makes a grave allegation against an identifiable official (a spun
            # headline over a副县长's bribery case): that official is the story; unnamed police
            # and a drunk or drugged driver (涿州大队民警 stop a 毒驾 driver) are an arrest, not
            # an allegation against them (their own extortion or violence still is)
            content = self._content(sig, matched, matched.get(CADRE, []), best_cat)
            subject = content.grade in (Grade.I, Grade.II) and (
                bool(_accountable(sig.officials)) or not set(content.terms) <= ENFORCED_OFFENCES
            )
        # acts anyone may commit (a drunk driver, a man searched at the border, a tip-off about a
        # hospital) are a cadre story only with an official, a cadre or a body other than the
        # police who enforce them; the chosen rule's clause holding (举报…石沉大海: a complaint left
        # unanswered) says more than the act
        citizen = (
            bool(matched.get(TOPIC))
            and set(matched[TOPIC]) <= CITIZEN_OFFENCES
            and not self._by_clause(best_rule, positions, kinds_at)
            and not speaker
        )
        # a company's story (网友举报:某医院…, 曝光!这家企业…直排, 某小区物业暴力执法): the headline
        # names a company, hospital or the like and no official, body, cadre or enforcer — the
        # body in the lead is the regulator, not the one complained of, and a firm's own conduct
        # is not a cadre's. A government channel (留言板, 受文单位, 12345) or a rule's clause
        # (投诉…获解决) keeps it.
        firm = _COMPANY.search(text, 0, sig.head_len)
        if (
            subject
            and firm is not None
            and bool(matched.get(TOPIC))
            and (
                set(matched[TOPIC]) <= COMPLAINT_TOPICS
                # the company is the headline topic's actor (某小区物业暴力执法): a firm's conduct
                or any(firm.end() <= i < sig.head_len for t in matched[TOPIC] for i in positions.get(t, ()))
            )
            and "党" not in text[: sig.head_len]  # its party organisation (主题党日, 党建) is in scope
            and not (sig.headline or sig.head_official or sig.head_body or sig.accused)
            and _ENFORCER_WORD.search(text, 0, sig.head_len) is None
            and not self._by_clause(best_rule, positions, kinds_at)
        ):
            subject = False
        # history: no more ours than abroad (a dynasty in the headline whatever the topic, unless
        # an official's title there makes it today's news: 明代古村落保护 九江市长调研)
        dynasty = _DYNASTY_RE.search(text, 0, sig.head_len) is not None and not sig.head_official
        past = (sig.history and not head_topic) or dynasty
        relevant = bool(matched.get(CADRE)) or (
            in_area
            and not sig.foreign
            and not past
            and (
                bool(matched.get(UNIT))
                or sig.headline
                or (
                    best_cat is not None
                    and subject
                    and (place_named or bool(sig.officials) or bodies or head_topic or (people and place_any))
                )
            )
        )
        if relevant and citizen and not matched.get(CADRE) and not matched.get(UNIT):
            relevant = _offender_named(sig, text[: sig.head_len])
        # a question on a Q&A or legal-advice site (…_百度知道, - 知乎, --在线法律咨询_律师365) is
        # someone's question, not an event: a cadre story only when it names the official (房烽辉
        # 贪污受贿多少钱_百度知道)
        if relevant and _QA_SITE.search(post.title) and not (matched.get(CADRE) or sig.headline or sig.accused):
            relevant = False
        # an advert, a spam title, a job advert, exam preparation or an impostor warning is no
        # one's story, and the relevance model does not make it one (stage NOT_A_STORY)
        not_story = (
            ""
            if matched.get(CADRE)
            else _not_a_story(
                text, sig.head_len, sig.first_end, head_topic or sig.headline or sig.head_official, sig.head_body
            )
        )
        if not_story:
            relevant = False
        if sig.officials:
            shown = sig.people[:6]
            matched["officials"] = [o.label for o in shown]
            matched["official_ranks"] = [o.rank or "" for o in shown]
        if places.elsewhere:
            matched["elsewhere"] = places.elsewhere[:6]
        key = story_key(post.title)
        by_model: Verdict | None = None
        parts: tuple[str, str] | None = None  # the folded title and body, once asked for
        if not relevant:
            # a rule the headline's or first sentence's `none` words vetoed would have matched: the
            # team said what this post is (公务员考试法律常识题: exam prep), whatever other rule came
            # close, and the relevance model does not overrule it
            veto = any(self._topic_strength(t, positions, kinds_at, veto=False) for t in vetoed)
            if not_story:
                stage = NOT_A_STORY
            elif not in_area or sig.foreign or past:
                stage = AREA
            elif veto:
                stage = VETO
            elif best_cat is None:
                stage = NO_RULE
            else:
                stage = SUBJECT if not subject else OFFICIAL
            if stage in MODEL_STAGES and self.relevance is not None:
                # a post the rules came close to: the relevance model may still find it a cadre
                # story (jobs.relevance); its card says so
                parts = _title_and_body(post, text)
                prob = self.relevance.probability(*parts)
                threshold = self.relevance.threshold_at(stage)
                if threshold is not None and prob >= threshold:
                    by_model = Verdict(prob, self.relevance.category(*parts, self._categories))
                    relevant = True
                    best_cat = best_cat or by_model.category
                    matched["model"] = [f"{prob:.2f}"]
            if not relevant:
                finding = Finding(relevant=False, matched=matched, tokens=tokens, story_key=key)
                return Analysis(finding, 0.0, (), dropped=stage)
        if not tokens and text:  # the title and lead's tokens, for the story's event (core.cluster.event_of)
            tokens = tuple(self.segmenter.folded_tokens(event_text(text)))
        cadres = matched.get(CADRE, [])
        self._excerpt(post, matched, sig)
        title, body = parts or _title_and_body(post, text)
        tone = self.tone.score(title, body, matched.get(NEGATIVE, ()))
        content = self._content(sig, matched, cadres, best_cat)
        if (
            best_cat == PARTY_BUILDING
            and best_score < 1000
            and content.grade is Grade.IV
            and any(len(o.name) >= 2 for o in sig.officials)
            and "其他" in self._categories
        ):
            # a named leader's activity whose lead mentions party work in passing (镇党委书记做了
            # 这些要求 … 各村党支部; a court's weekly digest with one 党建 exchange): a leader's
            # routine activity (其他), unless the headline itself is the party work
            best_cat = "其他"
        if (
            best_cat in GENERIC_CATEGORIES
            and content.grade in (Grade.I, Grade.II)
            and any(w in INVESTIGATION or w in TAKEN for w in content.terms)
            and DISCIPLINE in self._categories
        ):
            # an identified official's investigation or corruption (村书记…被调查, 管委会党组成员
            # 黄某某骗取补偿款) is a discipline case, whatever party words the page has around it
            best_cat = DISCIPLINE
        title = text[: sig.head_len]
        # (an identified official's investigation announced: a discipline case, whoever speaks)
        investigated = content.grade in (Grade.I, Grade.II) and any(w in INVESTIGATION for w in content.terms)
        if _STATEMENT.search(title) and RESPONSE in self._categories and not investigated:
            # a body's statement on a matter (关于网传“某局长违规提拔亲属”的情况说明, 关于…问题的回复,
            # …纯属谣言): complaint handling and 情况通报 are the rubric's 政府回应, whatever the matter's
            # own topic — unless it announces an identified official's investigation (a discipline case)
            if best_cat != RESPONSE:
                best_cat = RESPONSE
                content = self._content(sig, matched, cadres, best_cat)  # (a settled matter is IV)
        elif best_cat == RESPONSE and (matter := _MATTER_DOUBTED.search(title)) is not None:
            # a doubt about an exam or an appointment that a body answered (笔试面试均第一却体检“不
            # 合格”？…人社局回应考生质疑, “90后副县长”…回应：符合选拔程序): the matter is the story,
            # the answer its latest turn — unless the body's own statement is the headline (above)
            want = EXAMS if matter.group("exam") else APPOINTMENTS
            if want in self._categories:
                best_cat = want
        elif (
            best_cat == DISCIPLINE
            and RESPONSE in self._categories
            and _REPORT_HANDLING.search(title)
            and not investigated
        ):
            # a citizen's report and how a body handled it (实名举报村干部半年无回音, 举报后被“上门找麻烦”？
            # …纪委：已成立调查组, 三个月后只收到一句“查无实据”): the rubric's dispute over an agency's
            # handling of a citizen's report, 政府回应 — three analysts file it so
            best_cat = RESPONSE
        elif (
            best_cat == DISCIPLINE
            and CONDUCT in self._categories
            and _CONDUCT_LAPSE.search(title)
            and not _CORRUPTION_WORD.search(title)
        ):
            # a cadre's drinking or public car and its sanction (醉驾撞伤两名学生 副镇长被开除党籍和公职,
            # 工作日午间饮酒 3名干部被问责): the rubric files 酒驾 and 公车私用 under 干部作风 — the
            # sanction is how it ended, not a corruption case (公款吃喝 stays a discipline case)
            best_cat = CONDUCT
        elif (
            best_cat in GENERIC_CATEGORIES
            and _PROFILE.search(title)
            and sig.head_official
            and CONDUCT in self._categories
        ):
            # a profile of an official (扎根深山22年的“泥腿子书记”——记…村党支部书记彭春生): the rubric's
            # exemplar, 干部作风, not the party work its subject's title names
            best_cat = CONDUCT
        if best_score < 1000 and sig.head_complaint and best_cat in GENERIC_CATEGORIES and RESPONSE in self._categories:
            # a citizen's complaint or plea to an official or a body in the headline (向…中心主任
            # 钱国荣求助) is complaint handling, whatever routine words its lead has; a rule the
            # headline itself matches still decides
            best_cat = RESPONSE
        settled = best_cat == RESPONSE and content.grade is Grade.IV and any(w in RESOLVED for w in content.terms)
        if best_rule is not None and best_rule.at_least is not None and not settled:
            # (a body's answer that the matter is settled — 已筹措资金优先支付 — is not the matter)
            content = _at_least(content, best_rule, positions, text)
        if content.grade is Grade.IV and not content.terms and tone.probability >= NEGATIVE_STORY:
            # a cadre story no grade word (nor the team's rule) describes, told in a plainly
            # negative tone (…国土局偷梁换柱为其背书, 征迁办只付55万): negative but contained, III
            content = Content(Grade.III, f"负面的干部相关事件（语气负面概率 {tone.probability:.2f}）")
        s, reasons = sensitivity_of(
            content,
            self._thresholds,
            category=best_cat,
            category_weight=best_w,
            cadres=cadres,
            leading_cadres=[c for c in cadres if self._cadres[c].leading],
            units=matched.get(UNIT, []),
            sensitive=matched.get(SENSITIVE, []),
            tone=(tone.points, tone.reason) if tone.negative else None,
        )
        if by_model is not None:  # what made it relevant, in words, after the content's grade
            reasons = (reasons[0], Reason("signal", 0.0, by_model.reason, {"points": 0}), *reasons[1:])
        tier = source.tier if source else 4
        reach = Reach(replies=post.replies or 0, views=post.views or 0, reposts=post.reposts or 0)
        graded = grade_story(s, reasons, tier, 1, self._thresholds, reach, ceiling=content.ceiling)
        finding = Finding(
            relevant=True,
            category=best_cat or "其他",
            grade=graded.grade,
            score=graded.score,
            reasons=graded.reasons,
            matched=matched,
            tokens=tokens,
            story_key=key,
            fingerprint=fingerprint(text),  # no jieba: character shingles of the folded text
        )
        return Analysis(finding, s, reasons)

    @staticmethod
    def _excerpt(post: Post, matched: dict[str, list[str]], sig: Signals) -> None:
        """The card's excerpt: the post's sentence(s) around the matched words (kept with the
        finding, so a card re-rendered later still has it), and where the words are in it."""
        terms = [_fold_term(x) for k in (CADRE, UNIT, PLACE, TOPIC, SENSITIVE, NEGATIVE) for x in matched.get(k, ())]
        terms += [o.name for o in sig.officials if len(o.name) >= 2] + [o.title for o in sig.officials]
        text, marks = excerpt(post.text if (post.text or "").strip() else post.title, terms)
        if text:
            matched["excerpt"] = [text]
            matched["excerpt_marks"] = [f"{a}-{b}" for a, b in marks]

    def _content(self, sig: Signals, matched, cadres, category) -> Content:
        """The rubric's grade of the title and lead: who is identified, who is involved."""
        labels = [o.label for o in sig.people]
        # a watched cadre or an accused name that an official's label already holds is that official
        identified = [
            *(c for c in cadres if not any(c in x for x in labels)),
            *labels,
            *(a for a in sig.accused if not any(a in x for x in labels)),
        ]
        leading = any(self._cadres[c].leading for c in cadres) or any(o.rank in SENIOR_RANKS for o in sig.officials)
        involved = [*sig.cues, *matched.get(UNIT, [])]
        # police or city management in the headline are officials involved in what it says of
        # them (鄱阳县两名城管敲诈摊贩被停职), though the tagger keeps no bare enforcer as a cue
        enforcer = _ENFORCER_WORD.search(sig.lead.partition("\n")[0])
        if enforcer is not None:
            involved.append(enforcer.group())
        # only asked when nobody is identified: the content grade reads it only then
        described = [] if identified else self.officials.described_in(sig.lead.partition("\n")[0])
        return assess_content(
            sig.lead, identified=identified, involved=involved, leading=leading, category=category, described=described
        )


# The tone model's probability above which a cadre story no grade word describes is graded as
# negative but contained (III) rather than routine (IV): on the tune part's relevant posts
# graded IV by default, 0.9 and above are III or II for 16 and IV for 9.
NEGATIVE_STORY = 0.9

# categories a page's generic vocabulary gives (党员, 党建; a meeting) and the one a case of
# discipline belongs to (the rubric's names)
GENERIC_CATEGORIES = frozenset({"基层党建", "其他", None})
DISCIPLINE = "违纪违法"
RESPONSE = "政府回应"
CONDUCT = "干部作风"
PARTY_BUILDING = "基层党建"

# money or goods taken by those who hold them (村两委把征地补偿款截留了): with a grave content
# grade, a case of corruption whatever party words its page has
TAKEN = frozenset({"截留", "侵占", "私吞", "克扣", "侵吞", "贪污", "挪用", "强占", "霸占"})

# offences the police enforce on citizens: next to unnamed police they are an arrest
ENFORCED_OFFENCES = frozenset({"酒驾", "醉驾", "毒驾", "酒后驾车", "酒后驾驶", "醉酒驾驶", "醉酒驾车"})


# Topic terms for acts anyone may commit: by themselves (男子醉驾被查, 网友举报…医院, 我叔叔挪用了
# 公司的公款) they are police, court or consumer news; see `_offender_named`.
CITIZEN_OFFENCES = ENFORCED_OFFENCES | {"被查", "被立案调查", "举报", "村霸", "挪用公款"}
# a police officer, a city-management officer or a judge as the offender in the title: the
# enforcer right before the act (民警醉驾), or their post, ending in 长/员/警/官, after their body
# (县交警大队副大队长醉驾) — not the police stopping someone (交警查获一名醉驾男子), nor the police
# as the object of someone else's act (男子企图贿赂交警被查, 殴打民警被查)
_ACTS_ON = ("贿赂", "行贿", "殴打", "袭击", "辱骂", "冒充", "威胁", "拖行", "撞伤", "打伤", "阻碍")


def _alternation(words) -> str:
    """`words` as one regular-expression alternation, the longest first (民警打人 before 民警)."""
    return "|".join(sorted(words, key=len, reverse=True))


_ENFORCER_WORD = re.compile(_alternation(ENFORCERS | {"交警", "特警", "协警", "执法局"}))
_ENFORCER_OFFENDS = re.compile(
    "".join(f"(?<!{v})" for v in _ACTS_ON)
    + "(?:"
    + _alternation(ENFORCERS | {"交警", "特警", "协警", "派出所", "公安", "法院", "检察院"})
    + ")"
    r"(?:[^，。！？!?\s]{0,8}?[警长员官])?(?:" + _alternation(CITIZEN_OFFENCES) + ")"
)


# an enforcer using force in the title (城管执法致摊贩死亡, 协管员殴打老人)
_ENFORCER_FORCE = re.compile(
    "(?:"
    + _alternation(ENFORCERS | {"交警", "特警", "协警", "执法局", "协管员"})
    + r")[^，。！？!?\s]{0,6}?(?:执法致|殴打|打人|暴力执法|粗暴执法|踢翻|掀翻|打死|致死|致人死亡)"
)


# Someone posing as an official (上饶一男子冒充“纪委干部”诈骗被抓, 自称是县委书记亲戚, 假扮城管):
# what they posed as is no official, body or topic of the story. The words after the posing
# verb — a quoted phrase, or up to six ideographs — are blanked before matching.
_POSING = re.compile(
    r"(?:冒充|假冒|冒称|冒名|假扮|扮成|装扮成|伪装成|自称是|自称|谎称是|谎称|冒用)"
    r"(?:[“\"'‘「『]([^”\"'’」』\n]{1,12})[”\"'’」』]|([\u4e00-\u9fff]{1,6}))"
)


def _without_posing(text: str) -> str:
    """`text` with what anyone posed as blanked (same length: offsets stay)."""
    if _POSING.search(text) is None:
        return text
    out = list(text)
    for m in _POSING.finditer(text):
        g = 1 if m.group(1) is not None else 2
        for k in range(m.start(g), m.end(g)):
            out[k] = " "
    return "".join(out)


def _not_a_story(text: str, head_len: int, first_end: int, head_story: bool, head_body: bool = False) -> str:
    """Why the page is no one's story whatever cadre words it holds ("" when it may be one):
    an advertisement, a spam title, a company's job advert, a student body, fiction, a digest
    with no headline story, exam preparation or a warning about impostors (see `_ADVERT` …).
    `text` is the folded title and text; `head_story`: the headline itself names a topic or an
    official (a cadre story under a casino site's name stays one); `head_body`: it names a
    government body."""
    title = text[:head_len]
    lead = text[: head_len + LEAD_CHARS]
    first = text[: max(first_end, head_len)]
    # (the page's own pitch: one of them in the title or first sentence — a casino's banner pasted
    # under a prosecution's report, 加微信 领取彩金, leaves the report a story)
    ads = {m.group() for m in _ADVERT.finditer(lead)}
    headline = text.partition("\n")[0]  # (with what a site-suffix cut would drop: …｜团建报价单来了)
    if len(ads) >= 2 and (_ADVERT.search(headline) or (_ADVERT.search(first) and not head_story)):
        return "advert"  # (a real cadre headline over a casino page's body is relevant by its title)
    if not head_story and _SPAM_TITLE.search(headline):  # (with the site's name)
        return "spam title"
    if _JOB_AD.search(first) and _JOB_TERMS.search(lead) and _FIRM.search(lead):
        return "job advert"
    if _STUDENT_BODY.search(title):
        return "student body"
    # (a body watching a film, 组织观看电影《…》, is its study; an official's title inside the
    # work's name, 网剧《乡长》, is no official)
    fiction = ("《" in title and _FICTION.search(first) is not None) or _FICTION_TITLE.search(title) is not None
    if fiction and not _REAL_NEWS.search(title) and not _STUDY.search(title):
        return "fiction"
    if not head_story and not head_body and _LISTED_FIRM.search(_SITE_SPLIT.split(title, 1)[0]):
        return "company"  # (某上市公司董事长辞职: a company's news, whatever the model says)
    if not head_story and not head_body and _DIGEST.match(title.lstrip("【[#〔 ")):
        return "digest"  # (one whose headline starts with its name: 福州中院一周回顾 is the court's own)
    if _EXAM_PREP.search(first) and not _EXAM_NEWS.search(title):
        return "exam preparation"
    if _POSING_VERB.search(first) and _FRAUD_WORDS.search(first):
        return "impostor warning"
    return ""


def _named_as_place(name: str, text: str, places: PlaceHits) -> bool:
    """Whether `name` (an official's name, or "") starts where a place was found in `text`."""
    return bool(name) and any(text.startswith(name, start) for start, _ in places.starts)


def _after_boilerplate(text: str, at: int, lines: int = 4) -> int:
    """Where the lead's first sentence starts past a scraped page's source, date and site lines at
    `at` (来源：… 2025-02-27, 网易新闻 > 国内 > 正文: `core.text.is_boilerplate_line`), at most `lines`
    of them; else `at`."""
    for _ in range(lines):
        while at < len(text) and text[at] in " \t\u3000\n":
            at += 1
        end = text.find("\n", at)
        line_end = len(text) if end < 0 else end
        if at >= len(text) or not is_boilerplate_line(text[at:line_end]):
            break
        at = line_end
    return at


def _after_original_title(text: str, at: int, headline: str) -> int:
    """Where the lead's first sentence starts when the text at `at` restates the headline as
    原标题：… (a repost's original title): after that title — the headline again, up to the end
    of its line otherwise — else `at`."""
    m = _ORIGINAL_TITLE.match(text, at)
    if m is None:
        return at
    start = m.end()
    title = headline.strip()
    if title and text.startswith(title, start):
        end = start + len(title)
        while end < len(text) and (text[end].isspace() or text[end] in "|｜_-—·"):
            end += 1
        return end
    line_end = text.find("\n", start)
    return start if line_end < 0 else line_end + 1


def _offender_named(sig: Signals, title: str) -> bool:
    """Whether title and lead name someone a citizen offence makes a cadre story: an official
    other than the police, courts and city management at their work, a cadre cue (干部, 官员), a
    government body other than the police, or an enforcer as the offender in the title — of
    the offence, or of force before it (城管执法致摊贩死亡 执法大队长等3人被立案调查)."""
    return (
        any(o.title not in ENFORCERS for o in sig.officials)
        or any((not _police(c)) if is_body(c) else c not in ENFORCERS for c in sig.cues)
        or bool(_ENFORCER_OFFENDS.search(title))
        or bool(_ENFORCER_FORCE.search(title))
    )


def _police(body: str) -> bool:
    """A police body (交警大队, 某派出所, 县公安局)."""
    return any(w in body for w in ("警", "公安", "派出所"))


def _accountable(officials) -> list[Official]:
    """The officials a lead can accuse: not police, city-management officers or judges at work
    unnamed (中队民警, 涿州大队民警): named, they can be the story."""
    return [o for o in officials if o.title not in ENFORCERS or len(o.name) >= 2]


def _trigger_side(clause) -> tuple[str, ...]:
    """The terms of a `near` clause one of which a post needs for the clause to hold: its `a`
    side (每户 of 每户…收), or `b` when `a` has a `$` expansion, or both when each has one. Only
    they trigger a rule of near clauses: 收 or 执法 alone, on the other side, is not a topic."""
    for side in (clause.a, clause.b):
        if not any(x.startswith("$") for x in side):
            return tuple(side)
    return (*clause.a, *clause.b)


def _at_least(content: Content, rule, positions, text: str) -> Content:
    """The content grade the deciding rule sets at least (its `at_least`), with the rule's
    terms found in the title and lead as the reason — terms a campaign or an exhortation
    names (要坚决破除“新官不理旧账”等问题: what a meeting targets) tell no incident and set none."""
    floor = rule.at_least
    if content.grade.rank <= floor.rank:
        return content
    outside = outside_campaigns(text)  # (same length: a term inside a campaign is blanked there)

    def told(term: str) -> bool:
        at = positions.get(_fold_term(term), ())
        return any(i >= len(outside) or outside[i] != " " or text[i] == " " for i in at)

    terms = [x for x in (*rule.any, *(y for c in rule.near for y in (*c.a, *c.b))) if told(x)]
    if not terms:
        return content
    return Content(floor, f"{rule.category}规则定级（{'、'.join(terms[:3])}）", tuple(terms[:3]), content.leading)


def _boundaries(text: str, tokens: list[str]) -> set[int]:
    """Character offsets in `text` where a jieba token starts or ends."""
    out = {0, len(text)}
    pos = 0
    for tok in tokens:
        i = text.find(tok, pos)
        if i < 0:
            continue
        out.add(i)
        pos = i + len(tok)
        out.add(pos)
    return out


# jieba cuts a text stretch by stretch: runs of these characters, each segmented on its own
# (jieba.re_han_default); every other character is a token of its own, whitespace is skipped.
_JIEBA_BLOCK = re.compile(jieba.re_han_default.pattern)


class LazyBoundaries:
    """The token boundaries of `text` (`_boundaries(text, tokens(text)) | gaps`, `tokens` being
    the analyser's `Segmenter.folded_tokens`: `text` is folded already, and so is each stretch of
    it), worked out only where asked: a position inside one of jieba's blocks segments that
    block alone (once), which gives the same cut as segmenting the whole text. A post with a
    few hits is segmented in a few short stretches instead of whole."""

    def __init__(self, text: str, gaps: frozenset[int] = frozenset(), tokens=None):
        self.text = text
        self.gaps = gaps
        self._tokens = tokens or Segmenter().folded_tokens
        self._spans = [m.span() for m in _JIEBA_BLOCK.finditer(text)]
        self._starts = [a for a, _ in self._spans]
        self._cut: dict[int, set[int]] = {}
        self._whole: set[int] | None = None  # the whole text's boundaries, if a block would not do

    def __contains__(self, pos: int) -> bool:
        text = self.text
        if pos == 0 or pos == len(text) or pos in self.gaps:
            return True
        if not 0 < pos < len(text):
            return False
        if self._whole is not None:
            return pos in self._whole
        k = bisect.bisect_right(self._starts, pos) - 1
        if k >= 0:
            a, b = self._spans[k]
            if a == pos or b == pos:
                return True
            if a < pos < b:
                cut = self._cut.get(k)
                if cut is None:
                    cut = self._block_cuts(a, b)
                    if cut is None:  # folding changed the block: segment the whole text as before
                        self._whole = _boundaries(text, self._tokens(text))
                        return pos in self._whole
                    self._cut[k] = cut
                return pos in cut
        # between blocks every character but whitespace is a token of its own
        return not text[pos - 1].isspace() or not text[pos].isspace()

    def _block_cuts(self, a: int, b: int) -> set[int] | None:
        block = self.text[a:b]
        toks = self._tokens(block)
        if "".join(toks) != block:
            return None
        out, pos = set(), a
        for tok in toks:
            pos += len(tok)
            out.add(pos)
        return out


# What OfficialFinder.find reads: titles, cadre cues and government bodies (one automaton), and
# words ending in 局/委/厅 (a body by its tag). It reads a few tokens either side of a title,
# never across punctuation except a 、 chain of titles, each of which is such a word; a stretch
# saying a company is state-owned (国有公司人员) is kept for a company executive's sake.
_OFFICIAL_WORDS = ahocorasick.Automaton()
for _w in (*TITLES, *CUES, *BODIES, *STATE_WORDS, "局", "委", "厅"):
    _OFFICIAL_WORDS.add_word(_w, _w)
_OFFICIAL_WORDS.make_automaton()
_TAG_BLOCK = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&\._]+")  # jieba.posseg's re_han_internal


def _officials_part(lead: str) -> str:
    """The lead with the stretches that hold none of the words `OfficialFinder.find` reads
    left out (their punctuation kept): jieba's tagger tags each stretch on its own, so the
    officials and cues found are the same, for a fraction of the tagging."""
    keep: set[int] = set()
    spans = [m.span() for m in _TAG_BLOCK.finditer(lead)]
    if not spans:
        return lead
    starts = [a for a, _ in spans]
    for end, _w in _OFFICIAL_WORDS.iter(lead):
        k = bisect.bisect_right(starts, end) - 1
        if k >= 0 and spans[k][0] <= end < spans[k][1]:
            keep.add(k)
    if len(keep) == len(spans):
        return lead
    parts, last = [], 0
    for k, (a, b) in enumerate(spans):
        parts.append(lead[last:a])
        if k in keep:
            parts.append(lead[a:b])
        last = b
    parts.append(lead[last:])
    return "".join(parts)
