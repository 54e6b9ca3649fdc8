"""Grading: sensitivity x impact -> score -> grade I–IV, with the reasons as data.

This is the one home of grading: the content rubric, the sensitivity rules (what each watch-list
signal adds), impact (source tier, spread, engagement, speed) and the grade. Analysis
(`jobs/analyse.py`) matches a post and calls in here; the story supplies impact. Every reason
is a `Reason` (factor, weight, words, detail): stored as JSON, re-graded from its data, and its
words shown only at the edge (cards, documents).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.grades import Grade

__all__ = [
    "CONTENT_PREFIX",
    "IMPACT_FACTORS",
    "SIGNAL_CAP",
    "SIGNAL_STEP",
    "SPREAD_WINDOW_HOURS",
    "TIER_FACTOR",
    "TIER_NAME",
    "Content",
    "Graded",
    "Reach",
    "Reason",
    "assess_content",
    "ceiling_of",
    "content_grade_of",
    "content_sensitivity",
    "grade_story",
    "is_impact_reason",
    "reason_words",
    "reasons_from_json",
    "reasons_to_json",
    "sensitivity_of",
]

TIER_FACTOR = {1: 3.0, 2: 2.0, 3: 1.5, 4: 1.0}
TIER_NAME = {1: "中央级媒体", 2: "省级媒体", 3: "市级媒体/平台", 4: "论坛/自媒体"}
MAX_SPREAD = 3.0
SPREAD_WINDOW_HOURS = 6

# Impact factors multiply the sensitivity; the rest (content, signal, signals) make it up.
IMPACT_FACTORS = frozenset({"tier", "spread", "engagement", "speed", "score"})


@dataclass(frozen=True)
class Reason:
    """One reason of a grade as data.

    >>> r = Reason("tier", 3.0, "来源级别：中央级媒体 ×3")
    >>> Reason.from_json(r.to_json()) == r, r.is_impact, str(r)
    (True, True, '来源级别：中央级媒体 ×3')

    :param factor: what it is — ``content`` (the rubric's grade; ``detail`` holds ``grade`` and
        ``ceiling``), ``signal`` (one watch-list signal; ``detail['points']``), ``signals`` (what the
        signals add), ``tier``/``spread``/``engagement``/``speed`` (impact multipliers) or ``score``.
    :param weight: what it contributes: added sensitivity for content and signals, the multiplier
        for impact factors, the score for ``score``.
    :param words: the Chinese shown on cards and in documents.
    :param detail: further data (JSON-able).
    """

    factor: str
    weight: float
    words: str
    detail: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return self.words

    @property
    def is_impact(self) -> bool:
        return self.factor in IMPACT_FACTORS

    def to_json(self) -> dict:
        out = {"factor": self.factor, "weight": self.weight, "words": self.words}
        if self.detail:
            out["detail"] = dict(self.detail)
        return out

    @classmethod
    def from_json(cls, obj: Reason | Mapping | str) -> Reason:
        """A reason as stored: a JSON object, or the words alone (databases written before reasons
        were data; see `_from_words`)."""
        if isinstance(obj, Reason):
            return obj
        if isinstance(obj, str):
            return _from_words(obj)
        return cls(str(obj["factor"]), float(obj.get("weight", 0.0)), str(obj["words"]), dict(obj.get("detail") or {}))


def reasons_to_json(reasons: Iterable[Reason | str]) -> list[dict]:
    """For storage (`incidents.reasons`)."""
    return [Reason.from_json(r).to_json() for r in reasons]


def reasons_from_json(items: Iterable[Reason | Mapping | str] | None) -> tuple[Reason, ...]:
    """From storage: JSON objects, or the plain words older databases hold."""
    return tuple(Reason.from_json(x) for x in items or ())


def reason_words(reasons: Iterable[Reason | str], sep: str = "；") -> str:
    """The reasons in words, for a card or a document."""
    return sep.join(str(r) for r in reasons)


_NUMBER = r"(-?\d+(?:\.\d+)?)"


def _from_words(text: str) -> Reason:
    """A reason recovered from its words: only for rows stored before reasons were data (the
    one place that reads the Chinese back)."""
    m = _CONTENT_LINE.match(text)
    if m:
        base = re.search("基础分 " + _NUMBER, text)
        ceiling = _CEILING.search(text)
        detail = {"grade": m.group(1)} | ({"ceiling": ceiling.group(1)} if ceiling else {})
        return Reason("content", float(base.group(1)) if base else 0.0, text, detail)
    if text.startswith("综合评分"):
        score = re.match("综合评分 " + _NUMBER, text)
        return Reason("score", float(score.group(1)) if score else 0.0, text)
    times = re.search("×" + _NUMBER, text)
    if times:
        factor = (
            "tier"
            if text.startswith("来源级别")
            else "spread"
            if "来源转载" in text
            else "speed"
            if "扩散" in text
            else "engagement"
        )
        return Reason(factor, float(times.group(1)), text)
    if text.startswith("以上信号共"):
        plus = re.search(r"\+" + _NUMBER + "$", text)
        return Reason("signals", float(plus.group(1)) if plus else 0.0, text)
    plus = re.search(r"\+" + _NUMBER + "$", text)
    return Reason("signal", 0.0, text, {"points": float(plus.group(1))} if plus else {})


@dataclass(frozen=True)
class Graded:
    grade: Grade
    score: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Reach:
    """How far a story has got: the highest engagement any of its posts shows, and how many
    of its posts appeared in the last few hours."""

    replies: int = 0
    views: int = 0
    reposts: int = 0
    recent_posts: int = 1


def _engagement(r: Reach) -> Reason | None:
    detail = "、".join(
        f"{label} {n:,}" for label, n in (("阅读", r.views), ("回复", r.replies), ("转发", r.reposts)) if n
    )
    if r.views >= 10000 or r.replies >= 100 or r.reposts >= 100:
        return Reason("engagement", 1.5, f"高互动（{detail}）×1.5")
    if r.views >= 2000 or r.replies >= 20 or r.reposts >= 20:
        return Reason("engagement", 1.2, f"互动较多（{detail}）×1.2")
    return None


def _speed(r: Reach) -> Reason | None:
    if r.recent_posts >= 3:
        return Reason(
            "speed", 1.3, f"{SPREAD_WINDOW_HOURS} 小时内 {r.recent_posts} 篇，扩散较快 ×1.3", {"posts": r.recent_posts}
        )
    return None


def is_impact_reason(reason: Reason | str) -> bool:
    """Impact reasons multiply (tier, spread, engagement, speed, the score line); the others
    make up the sensitivity."""
    return Reason.from_json(reason).is_impact


def grade_story(
    sensitivity: float,
    sensitivity_reasons: Sequence[Reason | str],
    best_tier: int,
    n_sources: int,
    thresholds: Mapping[Grade, float],
    reach: Reach | None = None,
    ceiling: Grade | None = None,
) -> Graded:
    """Pure: combine sensitivity and impact into a grade with its reasons.

    Impact raises a grade at most as far as the content allows (`ceiling`; when not given,
    read from the content reason, so a story regraded later keeps it).

    >>> grade_story(9, (Reason("signal", 0, "涉及具名干部"),), 4, 1, {Grade.I: 24, Grade.II: 14, Grade.III: 7, Grade.IV: 0}).grade
    <Grade.III: 'III'>
    """
    sensitivity_reasons = reasons_from_json(sensitivity_reasons)
    tier = TIER_FACTOR.get(best_tier, 1.0)
    spread = min(MAX_SPREAD, 1.0 + 0.5 * max(0, n_sources - 1))
    reach = reach or Reach()
    engagement, speed = _engagement(reach), _speed(reach)
    impact = tier * spread * (engagement.weight if engagement else 1.0) * (speed.weight if speed else 1.0)
    score = round(sensitivity * impact, 2)
    reasons = list(sensitivity_reasons)
    reasons.append(Reason("tier", tier, f"来源级别：{TIER_NAME.get(best_tier, '其他')} ×{tier:g}", {"tier": best_tier}))
    if n_sources > 1:
        reasons.append(Reason("spread", spread, f"{n_sources} 个来源转载 ×{spread:g}", {"sources": n_sources}))
    reasons += [r for r in (engagement, speed) if r]
    grade = Grade.IV
    for g in Grade:  # most severe first
        if score >= thresholds[g]:
            grade = g
            break
    cap = ceiling if ceiling is not None else ceiling_of(sensitivity_reasons)
    spread_out = best_tier == 1 or n_sources > 1 or engagement is not None or speed is not None
    base = content_grade_of(sensitivity_reasons)
    if cap is not None and base is not None and not spread_out and base.rank > Grade.I.rank:
        cap = base  # rising above what the content is needs spread, not one paper
    if cap is not None and grade.rank < cap.rank:
        reasons.append(
            Reason("score", score, f"综合评分 {score:g}（内容与扩散所限，定为 {cap.value} 级）", {"capped": cap.value})
        )
        return Graded(cap, score, tuple(reasons))
    reasons.append(Reason("score", score, f"综合评分 {score:g}（{grade.value} 级阈值 {thresholds[grade]:g}）"))
    return Graded(grade, score, tuple(reasons))


# ---------------------------------------------------------------- severity from content
# The rubric's grades, read from a post's title and lead (a digest is graded by its headline).

CONTENT_PREFIX = "内容定级 "


def _terms(s: str) -> tuple[str, ...]:
    return tuple(s.split())


INVESTIGATION = _terms("""落马 被查 双开 开除党籍 开除公职 留置 接受审查 审查调查 纪律审查 监察调查 立案审查 被立案 严重违纪
违纪违法 涉嫌违纪 涉嫌违法 被调查 被逮捕 被起诉 提起公诉 受审 一审 二审 宣判 获刑 判处 有期徒刑 受贿 贪污 行贿 索贿
挪用公款 侵吞 贪腐 滥用职权 玩忽职守 以权谋私 权钱交易 权色交易 钱色交易 利益输送 违规收受 收受 违规经商 套取 骗取 私分
期权腐败 雅贿""")
ABUSE = _terms("""打人 殴打 暴力执法 滥用权力 威胁 恐吓 强拆 非法拘禁 打击报复 报复 性侵 猥亵 强奸 霸占 侵占 把持 欺压 鱼肉 一手遮天
横行乡里 逼死 刑讯 敲诈 勒索 强占 私吞 截留 克扣 违法占地 村霸 黑恶 包庇 保护伞 徇私枉法 执法致 被扣 扣发
插手 违规干预""")
# Discipline violations: named, they are a specific allegation against an identifiable official.
VIOLATION = _terms("""公车私用 私车公养 违规吃喝 大吃大喝 公款吃喝 公款旅游 酒驾 醉驾 酒后驾车 酒后驾驶 醉酒驾驶 醉酒驾车 违规发放 违规收受 违规操办 大操大办
借机敛财 吃空饷 违规兼职 违规持股 吃拿卡要 优亲厚友 关系保 人情保 大摆宴席 豪车接亲""")
# A report against someone: with it, a bare 违纪/违法 is a specific allegation.
ALLEGATION = _terms("实名举报 举报 检举 控告 指控")
FRAUD = _terms("""内定 舞弊 作弊 顶替 冒名顶替 萝卜招聘 量身定制 暗箱操作 买官 卖官 跑官 带病提拔 违规提拔 突击提拔 火箭提拔
造假 泄题 替考 违规录用 违规招聘 泄露试题 试题泄露 题目泄露 漏题 泄露""")
EXAM_OR_POST = _terms(
    "考试 招聘 招录 录用 公务员 事业单位 选调 遴选 面试 笔试 提拔 任用 任职 选拔 晋升 干部任免 任前公示"
)
DEATH = _terms("死亡 身亡 致死 死者 遇难 丧生 自杀 自尽 坠楼 跳楼 猝死 逼死 命案 致人死亡 不治 撞死 打死 害死 殒命")
# words holding a death term that tell no death (户籍民警帮群众解决遇难题, 不治之症)
_NOT_DEATH = re.compile(r"遇难题|遇难事|遇难处|不治之症")
MASS = _terms("""群体性事件 群体事件 围堵政府 围堵镇政府 围堵乡政府 围堵县政府 围堵区政府 围堵市政府 冲击政府 聚集围堵 堵路
打砸 围攻 集体上访 械斗 罢工""")
# officials' own dereliction told as such (not the accountability after it: 问责, 追责)
DERELICTION = _terms("失职 渎职 监管不力 未依法处置 长期不下井 失察 监管缺失 未履行监管 玩忽职守 包庇纵容")
MISCONDUCT = _terms("""失职 渎职 监管不力 违规 隐瞒 瞒报 不作为 乱作为 推诿 敷衍 暴力执法 问责 追责 责任人""")
INACTION = _terms("""不作为 乱作为 慢作为 推诿 扯皮 敷衍 塞责 形式主义 官僚主义 态度恶劣 态度蛮横 吃拿卡要 门难进 脸难看
懒政 庸政 怠政 拖欠 欠薪 讨薪 投诉 举报 曝光 维权 无人管 没人管 不管不问 石沉大海 踢皮球 刁难 不予理睬 公车私用 酒驾
醉驾 大吃大喝 违规吃喝 问责 追责 免职 撤职 停职 诫勉 通报批评 质疑 猫腻 不公 黑幕 讨说法
层层加码 一刀切 过度留痕 躺平 新官不理旧账 事难办 冷硬横推 态度差 态度生硬 态度冷漠
没有结果 没有答复 无人答复 没有回音 迟迟不到位 找不到人 恶语相向 呵斥
推来推去 踢来踢去 有没有人管 没人来 没人理 无人回应 没有下文 不了了之""")
# work-style words a headline complains of with no body named (谁来管管这种形式主义)
COMPLAINED = _terms(
    "形式主义 官僚主义 不作为 乱作为 推诿 踢皮球 推来推去 没人管 有没有人管 层层加码 过度留痕 填表 留痕"
)
DOUBT = _terms("质疑 猫腻 ？ ? 是否 疑似 疑问 不公 网传")
# a recruitment's or an appointment's fairness doubted in the headline (成绩遭质疑, 评分不公)
EXAM_DOUBT = _terms(
    "质疑 猫腻 黑幕 不公 不公平 不透明 暗箱 讨说法 被举报 遭举报 实名举报 投诉 领导的亲戚 领导亲戚 关系户 内定"
)
# (a list of many cases is a digest too: 贪污10亿以上贪官排名和全部贪官名单)
BULLETIN = _terms("典型案例 典型问题 曝光台 通报曝光 起典型 件典型 贪官排名 贪官名单 官员名单 落马名单 排行榜")
HELD_TO_ACCOUNT = _terms("问责 追责 被追责 责任追究 移送司法机关 移送检察机关 移交司法机关")
# an identified official suspended or removed over an incident (教育局局长被停职)
REMOVED = _terms("停职 被停职 免职 被免职 撤职 被撤职 停职检查")
# A complaint the authorities answered or settled (a letter page's 已回复 / 处理结果, 投诉获解决):
# complaint handling that worked, a minor item (IV) unless the content says more.
# An explainer of the rules or of anti-corruption work (带你了解《监察法》, 行贿罪…实践认定中的几个
# 问题-理论研究): the rubric's "anti-corruption work reports and explainers", IV, whatever
# example cases it cites.
EXPLAINER = _terms(
    "带你了解 一图读懂 图解 解读 释义 理论研究 实践认定 的认定 答疑 知识问答 学习笔记 以案说纪 以案释纪 小课堂 如何认定 算不算 怎么认定"
)
RESOLVED = _terms("""已回复 已答复 答复意见 回复如下 处理结果 办理结果 已办结 获解决 得到解决 已解决 得到了解决
已筹措 优先支付 已结清 已兑付 已全额支付 已支付""")
# a death toll written as a count (9死矿难, 致3死2伤, 十死)
_DEATH_TOLL = re.compile(r"(?:\d+|[一二三四五六七八九十]+)死(?![刑缓心角])")
# a crowd by its size gathered at or against a body (几百号村民从前天开始就聚在镇政府门口, 上百名
# 农民工围堵工地讨薪): a mass incident in a citizen's words
_CROWD = re.compile(
    r"(?:上百|数百|几百|近百|上千|数千|几千|近千|百余|百多|数十|几十|众多)[名号位个人]?"
    r"(?:村民|群众|居民|业主|农民工|工人|家长|职工|商户|考生|人)[^，。！？!?\n]{0,14}"
    r"(?:聚集|围堵|围在|聚在|堵在|堵住|静坐|讨要|讨薪|上访|拉横幅|拉起横幅|冲击|围攻)"
)
_STATS = re.compile(r"\d+\s*(件|起|人次)|[二三四五六七八九十]+起|\d+\s*[名人](?:[^，。！？\s]{0,6}?)(被|受|涉)")
_NOT_CORRUPTION = re.compile(r"(反腐败|惩治腐败|廉政建设|党风廉政)")


@dataclass(frozen=True)
class Content:
    """What the content says about gravity, before impact: the rubric's grade and why."""

    grade: Grade
    why: str
    terms: tuple[str, ...] = ()
    leading: bool = False  # a senior cadre (省部 rank, or a watched cadre marked leading) is the subject

    @property
    def ceiling(self) -> Grade:
        """How far impact may raise it: one grade, and to I only for a senior cadre's case
        (and then only once it spreads, see `grade_story`)."""
        if self.grade is Grade.I or (self.grade is Grade.II and self.leading):
            return Grade.I
        return {Grade.II: Grade.II, Grade.III: Grade.II, Grade.IV: Grade.III}[self.grade]


def _found(text: str, terms: Sequence[str]) -> list[str]:
    return [t for t in terms if t in text]


# A campaign against a kind of conduct (整治形式主义官僚主义, 力戒形式主义, 纠正"四风"): the words after
# it up to the clause's end name what the campaign targets, not a case of it — a meeting that
# deploys it is routine work, not a complaint about work style.
_CAMPAIGN = re.compile(r"(?:专项整治|集中整治|整治|纠治|查纠|反对|破除|力戒|防止|克服|纠正)[^，。；;！!？?\n]{0,16}")


# a notice's channel for reports (举报电话, 监督信箱, 投诉热线): no complaint of its own
_BOILERPLATE = re.compile(r"(?:举报|投诉|监督|咨询|联系)(?:电话|邮箱|信箱|网址|热线|方式|地址)")


def _blanked(pattern: re.Pattern[str], text: str) -> str:
    """`text` with each match of `pattern` blanked (same length: offsets stay)."""
    return pattern.sub(lambda m: " " * len(m.group()), text)


def outside_campaigns(text: str) -> str:
    """`text` with each campaign phrase blanked (same length: offsets stay)."""
    return _blanked(_CAMPAIGN, text)


def assess_content(
    text: str,
    *,
    identified: Sequence[str] = (),
    involved: Sequence[str] = (),
    leading: bool = False,
    category: str | None = None,
    described: Sequence[str] = (),
) -> Content:
    """The rubric's grade of `text` (title and lead, folded).

    `identified`: identifiable officials (named, surname + title, unit + title, watched cadres);
    `involved`: cadre cues and government bodies (村干部, 镇政府) — an official is involved but
    not identified;
    `described`: one official the headline describes without a name (女干部, 村干部, 退休官员): with
    an investigation or corruption word in the headline itself, a specific allegation against
    one official (村干部…骗取补助资金, 女干部索贿), as grave as a named one's.
    """
    who = "、".join(identified[:3])
    invest = _found(text, INVESTIGATION)
    if identified and _found(text, ALLEGATION):
        invest += [w for w in ("违纪", "违法") if w in text and w not in invest]
    abuse = _found(text, ABUSE)
    death, mass = _found(_NOT_DEATH.sub(" ", text), DEATH), _found(text, MASS)
    if not death and (toll := _DEATH_TOLL.search(text)) is not None:  # 9死矿难, 致3死2伤
        death = [toll.group()]
    crowd = _CROWD.search(text)
    if crowd is not None and not mass:  # 几百号村民…聚在镇政府门口: a mass incident by its size
        mass = [crowd.group()]
    headline = text.partition("\n")[0]
    # a digest is graded by its headline story: a bulletin is one when its headline says so
    bulletin = _found(headline, BULLETIN) or bool(_STATS.search(headline))
    official = bool(identified or involved)
    explainer = _found(headline, EXPLAINER)
    if explainer and not (death or mass):
        return Content(Grade.IV, f"规定或反腐工作解读（{'、'.join(explainer[:2])}）", tuple(explainer[:2]))
    # the conduct words of a case, not of a campaign against it, nor a notice's boilerplate
    # (任前公示's 举报电话: 0792-12380)
    conduct = _blanked(_BOILERPLATE, outside_campaigns(text))
    violation = _found(conduct, VIOLATION)
    tie = invest or abuse or violation or _found(text, MISCONDUCT)
    # a count of people held to account in the headline (镇党委书记等5人被立案调查) is no bulletin
    # when officials' own act (强拆, 殴打) is what killed: the rubric's death tied to misconduct
    # …nor when the report names their dereliction (驻矿安监员长期不下井, 多次发现问题却未依法处置)
    derelict = _found(text, DERELICTION)
    if (
        official
        and (death or mass)
        and tie
        and (not bulletin or ((abuse or derelict) and not _found(headline, BULLETIN)))
    ):
        w = (death or mass)[:2] + tie[:2]
        return Content(
            Grade.I, f"{'死亡' if death else '群体性事件'}与干部失职或不当行为相关（{'、'.join(w)}）", tuple(w), True
        )
    # (officials put under investigation over it in the headline count too: 等3人被立案调查)
    accountable = (
        _found(text, HELD_TO_ACCOUNT)
        or (_found(headline, REMOVED) if identified else [])
        or (_found(headline, INVESTIGATION) if official else [])
    )
    if death and accountable and not _found(headline, BULLETIN) and (_STATS.search(headline) or identified):
        # one deadly incident and the people held to account for it, counted in the headline
        # (实验室爆炸致3学生死亡 校长等12人被问责, 事故调查结果公布 15人被移送司法机关), or an
        # identified official suspended or removed over it (食物中毒致2名学生死亡 教育局长被停职): the
        # rubric's "official misconduct causing serious harm", II — not a bulletin of typical cases
        w = death[:1] + accountable[:2]
        return Content(Grade.II, f"致人死亡事件的责任追究（{'、'.join(w)}）", tuple(w))
    if identified and (invest or abuse or violation) and not bulletin:
        w = (invest + abuse + violation)[:3]
        kind = "违纪违法/被查" if invest else "滥用职权、侵害群众" if abuse else "违反纪律规定"
        return Content(Grade.II, f"可识别的干部（{who}）{kind}（{'、'.join(w)}）", tuple(w), leading)
    head_invest = _found(headline, INVESTIGATION)
    if described and head_invest and not identified and not bulletin and not _NOT_CORRUPTION.search(headline):
        w = head_invest[:3]
        return Content(Grade.II, f"具体的干部（{'、'.join(described[:2])}）违纪违法/被查（{'、'.join(w)}）", tuple(w))
    fraud = _found(text, FRAUD)
    if fraud and (category in ("招录考试", "干部任用") or _found(text, EXAM_OR_POST)):
        if identified and not _found(text, DOUBT):
            return Content(
                Grade.II,
                f"针对具体干部的考试或选人用人舞弊指控（{who}：{'、'.join(fraud[:3])}）",
                tuple(fraud[:3]),
                leading,
            )
        return Content(Grade.III, f"对考试或选人用人程序的质疑（{'、'.join(fraud[:3])}）", tuple(fraud[:3]))
    doubt = _found(headline, EXAM_DOUBT) if category in ("招录考试", "干部任用") else []
    if doubt:
        # candidates or citizens doubting a recruitment or an appointment in the headline (面试成绩
        # 遭质疑，考生称评分不公) without naming a fraud: the rubric's procedural doubts, III
        return Content(Grade.III, f"对考试或选人用人程序的质疑（{'、'.join(doubt[:3])}）", tuple(doubt[:3]))
    if official and violation:
        return Content(Grade.III, f"干部作风问题，未具名（{'、'.join(violation[:3])}）", tuple(violation[:3]))
    if official and abuse:
        return Content(Grade.III, f"干部不当行为，未具名（{'、'.join(abuse[:3])}）", tuple(abuse[:3]))
    if bulletin:
        w = _found(text, BULLETIN) or invest or violation
        return Content(Grade.III, f"典型案例通报或查处统计（{'、'.join(w[:3]) or '通报'}）", tuple(w[:3]))
    if invest and not _NOT_CORRUPTION.search(text):
        why = "违纪违法通报或统计" if bulletin or not identified else "违纪违法"
        return Content(Grade.III, f"{why}（{'、'.join(invest[:3])}）", tuple(invest[:3]))
    if identified and death:
        return Content(Grade.III, f"干部非正常死亡或涉及死亡事件（{who}：{'、'.join(death[:2])}）", tuple(death[:2]))
    inaction = _found(conduct, INACTION)
    resolved = _found(text, RESOLVED)
    if resolved and category == "政府回应":
        return Content(Grade.IV, f"投诉已获答复或解决（{'、'.join(resolved[:2])}）", tuple(resolved[:2]))
    if inaction and official:
        return Content(Grade.III, f"作风、不作为或办事投诉（{'、'.join(inaction[:3])}）", tuple(inaction[:3]))
    complained = _found(conduct.partition("\n")[0], COMPLAINED) if category in ("干部作风", "政府回应") else []
    if complained:
        # the headline itself complains of cadres' work style, the cadres implied (村里填表填到吐，
        # 谁来管管这种形式主义): a work-style complaint without a named body
        return Content(Grade.III, f"作风、不作为或办事投诉（{'、'.join(complained[:3])}）", tuple(complained[:3]))
    return Content(Grade.IV, "一般信息（会议、活动、任免、工作报道等）")


def content_sensitivity(content: Content, thresholds: Mapping[Grade, float]) -> float:
    """The sensitivity a content grade starts from, so that impact 1 (a forum, one source)
    lands exactly in that grade — grade I too: the rubric's deaths and mass incidents tied to
    official misconduct are I as told, and four blind analysts grade a single post of one I
    (it once needed spread: with this, grade exact 0.912 → 0.941 on the third battery, and one
    post better on the inews set)."""
    if content.grade is Grade.I:
        return thresholds[Grade.I]
    if content.grade is Grade.II:
        return thresholds[Grade.II]
    if content.grade is Grade.III:
        return thresholds[Grade.III]
    return max(thresholds[Grade.IV], thresholds[Grade.III] / 3.5)


_CEILING = re.compile(r"最多升至 (IV|III|II|I) 级")
_CONTENT_LINE = re.compile(CONTENT_PREFIX + r"(IV|III|II|I)（")


def content_reason(content: Content, base: float) -> Reason:
    """The content reason: the rubric's grade, why, the base sensitivity and the ceiling."""
    return Reason(
        "content",
        base,
        f"{CONTENT_PREFIX}{content.grade.value}（{content.grade.label}）：{content.why}；"
        f"基础分 {base:g}，影响最多升至 {content.ceiling.value} 级",
        {"grade": content.grade.value, "ceiling": content.ceiling.value},
    )


def _content_detail(reasons: Sequence[Reason | str], key: str) -> Grade | None:
    for r in reasons_from_json(reasons):
        if r.factor == "content" and r.detail.get(key):
            return Grade(r.detail[key])
    return None


def content_grade_of(reasons: Sequence[Reason | str]) -> Grade | None:
    """The content grade the content reason states (None for older stories)."""
    return _content_detail(reasons, "grade")


def ceiling_of(reasons: Sequence[Reason | str]) -> Grade | None:
    """The ceiling the content reason states; None when there is none (older stories)."""
    return _content_detail(reasons, "ceiling")


# ---------------------------------------------------------------- sensitivity rules
# Each signal point (topic weight, watched cadre, sensitive word, tone) adds this much to the
# sensitivity its content grade starts from, up to SIGNAL_CAP points: enough to order posts
# within a grade, never enough to move one across a grade on its own.
SIGNAL_STEP, SIGNAL_CAP = 0.15, 8


def sensitivity_of(
    content: Content,
    thresholds: Mapping[Grade, float],
    *,
    category: str | None = None,
    category_weight: float = 0,
    cadres: Sequence[str] = (),
    leading_cadres: Sequence[str] = (),
    units: Sequence[str] = (),
    sensitive: Sequence[str] = (),
    tone: tuple[float, str] | None = None,
) -> tuple[float, tuple[Reason, ...]]:
    """The sensitivity rules: the content's base, then one signal reason per watch-list signal
    (topic, named cadres, a leading cadre, units, sensitive words, tone as (points, words)) and
    what they add together. Returns (sensitivity, reasons).

    >>> s, rs = sensitivity_of(Content(Grade.III, "x"), {Grade.I: 24, Grade.II: 14, Grade.III: 7, Grade.IV: 0})
    >>> s, [r.factor for r in rs]
    (7.15, ['content', 'signal', 'signals'])
    """
    signals: list[tuple[float, str]] = []
    signals.append((float(category_weight or 1), f"{category}类 +{category_weight}" if category else "涉及关注对象 +1"))
    if cadres:
        signals.append((2, f"涉及具名干部（{'、'.join(cadres)}）+2"))
        if leading_cadres:
            signals.append((1, "涉及领导干部 +1"))
    elif units:
        signals.append((1, f"涉及单位（{'、'.join(units)}）+1"))
    if sensitive:
        n_words = min(2, len(sensitive))
        signals.append((n_words, f"敏感词（{'、'.join(sensitive[:4])}）+{n_words}"))
    if tone is not None:
        signals.append(tone)
    points = sum(p for p, _ in signals)
    base = content_sensitivity(content, thresholds)
    n = min(points, SIGNAL_CAP)
    bonus = round(SIGNAL_STEP * n, 2)
    out = [content_reason(content, base)]
    out += [Reason("signal", 0.0, words, {"points": p}) for p, words in signals]
    out.append(Reason("signals", bonus, f"以上信号共 {n:g} 分，每分计 {SIGNAL_STEP:g}，+{bonus:g}"))
    return sum(r.weight for r in out if r.factor in ("content", "signals")), tuple(out)
