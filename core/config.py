"""The configuration schema: teams, people, sources, watch-list, grades, playbooks, escalation.

Pydantic models every room may read (core, storage, jobs, handlers, bot). Reading the TOML
file and turning validation errors into bilingual messages stays in `bot.config.load_config`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.clock import MAX_DURATION, DurationTooLong, parse_duration
from core.grades import Grade
from core.models import Role

__all__ = [
    "DEFAULT_CHAIN",
    "DUTY_ROLES",
    "MAX_RETENTION_DAYS",
    "MIN_RETENTION_DAYS",
    "Cadre",
    "Collection",
    "Config",
    "ConfigProblems",
    "Duty",
    "EscalationChain",
    "EscalationStep",
    "GradeRule",
    "JsonFields",
    "Near",
    "Organization",
    "Person",
    "Playbook",
    "Retention",
    "Selectors",
    "Source",
    "Team",
    "Topic",
    "Unit",
    "Watchlist",
    "quiet_window",
]


def _duration(v: str) -> str:
    try:
        parse_duration(v)
    except DurationTooLong as exc:
        raise ValueError(_too_long(v)) from exc
    except ValueError as exc:
        raise ValueError(
            f"时长格式应为 90s、15m、2h 或 1d，而不是 {v!r} / duration must look like 90s, 15m, 2h or 1d, not {v!r}"
        ) from exc
    return v


def _too_long(v: str) -> str:
    days = MAX_DURATION.days
    return f"时长过长：{v!r}，最多 {days} 天 / duration too long: {v!r}, at most {days} days"


def _positive_duration(v: str) -> str:
    if parse_duration(_duration(v)) <= timedelta(0):
        raise ValueError(f"时长须大于 0，而不是 {v!r} / duration must be more than 0, not {v!r}")
    return v


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _area(v: str | None) -> str | None:
    """An area must name exactly one division of the gazetteer (or the whole country)."""
    if v is None or not v.strip():
        return None
    from core.gazetteer import AreaError, gazetteer

    try:
        gazetteer().area(v)
    except AreaError as e:
        raise ValueError(str(e)) from e
    return v.strip()


DUTY_ROLES = frozenset({Role.ADMIN, Role.STAFF, Role.LEADER})  # who may be on duty (值班): the team


class Duty(_Model):
    """The duty rota (值班): `rotation` takes shifts of `shift` in turn from `start`, handing
    over at `handover` in the organisation's zone; `overrides` name the person of a date
    (more are taken or assigned with /duty and kept in the database). The on-duty person hears
    the claim reminders and the first auto-escalation, `escalate_after` before the chain's next role."""

    rotation: list[str]  # person ids
    start: date
    shift: str = "1d"
    handover: str = "08:30"
    overrides: dict[date, str] = Field(default_factory=dict)
    escalate_after: str = "15m"

    @field_validator("rotation")
    @classmethod
    def _rotation(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("值班轮换名单不能为空 / the rotation must name at least one person")
        return v

    @field_validator("shift")
    @classmethod
    def _shift(cls, v: str) -> str:
        _duration(v)
        if parse_duration(v) <= timedelta(0):
            raise ValueError(f"班次时长须大于 0，而不是 {v!r} / a shift must be longer than 0, not {v!r}")
        return v

    @field_validator("escalate_after")
    @classmethod
    def _escalate_after(cls, v: str) -> str:
        return _duration(v)

    @field_validator("handover")
    @classmethod
    def _handover(cls, v: str) -> str:
        try:
            time.fromisoformat(v.strip())
        except ValueError as exc:
            raise ValueError(f"交班时间应写成 08:30，而不是 {v!r} / handover must look like 08:30") from exc
        return v.strip()


class Organization(_Model):
    name: str = Field(min_length=1)
    city: str = ""
    # The team's area: a division's name (抚州市, 江西省, 临川区), a path (北京市朝阳区), a code
    # (361000) or 全国. Every district, county and township in it counts as a place of ours;
    # a post naming only places elsewhere is out of area unless `out_of_area = "keep"`.
    area: str | None = None
    out_of_area: Literal["drop", "keep"] = "drop"
    # "22:00-07:30": new grade III–IV alerts and their reminders wait until the end and then
    # go out together (a digest where the platform batches); grades I–II are never held.
    quiet_hours: str | None = None
    # report documents (日报/周报/月报/专报 as DOCX): the 编发 unit (default: the department's
    # name), whom the reports go to (报送) and are copied to (抄送), and whether the scheduled
    # 日报/周报 go out as text only or as text plus the document
    report_unit: str = ""
    report_to: list[str] = Field(default_factory=lambda: ["部领导"])
    report_cc: list[str] = Field(default_factory=lambda: ["本部各科室"])
    scheduled_report: Literal["text", "text+file"] = "text+file"
    # a subscribed leader gets, for an open grade I–II incident, one status summary per this
    # interval (when anything happened in it) instead of every claim and note
    subscriber_summary: str = "2h"
    duty: Duty | None = None  # the duty rota (值班)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            quiet_window(v)
        except ValueError as exc:
            raise ValueError(
                f"免打扰时段应写成 22:00-07:30，而不是 {v!r} / quiet_hours must look like 22:00-07:30"
            ) from exc
        return v

    @field_validator("subscriber_summary")
    @classmethod
    def _summary_every(cls, v: str) -> str:
        try:
            every = parse_duration(v)
        except DurationTooLong as exc:
            raise ValueError(_too_long(v)) from exc
        except ValueError as exc:
            raise ValueError(
                f"订阅小结间隔应写成 2h、90m 等，而不是 {v!r} / subscriber_summary must be a duration like 2h"
            ) from exc
        if every <= timedelta(0):
            raise ValueError(f"订阅小结间隔必须大于 0，而不是 {v!r} / subscriber_summary must be more than 0")
        return v

    @field_validator("area")
    @classmethod
    def _area_ok(cls, v: str | None) -> str | None:
        return _area(v)


def quiet_window(text: str) -> tuple[time, time]:
    """'22:00-07:30' -> (22:00, 07:30). :raises ValueError:"""
    a, _, b = text.partition("-")
    return time.fromisoformat(a.strip()), time.fromisoformat(b.strip())


class Team(_Model):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    parent: str | None = None
    chats: dict[str, str] = Field(default_factory=dict)
    admin_chat: dict[str, str] = Field(default_factory=dict)
    area: str | None = None  # a district team's own area; empty = the organization's

    @field_validator("area")
    @classmethod
    def _area_ok(cls, v: str | None) -> str | None:
        return _area(v)


class Person(_Model):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    role: Role
    team: str | None = None
    handles: dict[str, str] = Field(default_factory=dict)


class Selectors(_Model):
    """CSS selectors for an HTML list page (selectolax). `item` selects each post; the others
    are looked up inside it. `body` is looked up on the post's own page (a detail fetch)."""

    item: str = Field(min_length=1)
    title: str = "a"
    link: str = "a"
    time: str | None = None
    text: str | None = None
    body: str | None = None
    replies: str | None = None
    views: str | None = None


class JsonFields(_Model):
    """Dotted paths into a JSON answer: `items` to the list, the rest inside each item."""

    items: str = ""
    title: str = "title"
    link: str = "url"
    time: str | None = None
    text: str | None = None
    replies: str | None = None
    views: str | None = None
    reposts: str | None = None


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class Source(_Model):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    kind: Literal["rss", "html", "json", "search"] = "rss"
    url: str = Field(min_length=1)
    tier: int = Field(default=3, ge=1, le=4)
    interval: str = "10m"
    team: str | None = None
    enabled: bool = True
    selectors: Selectors | None = None
    fields: JsonFields | None = None
    format: Literal["rss", "html", "json"] = "html"  # how a search source's result pages read
    queries: list[str] = Field(default_factory=list)  # search terms; empty = watched cadres and units
    expected_period: str | None = None  # silence longer than this counts as a failure

    @field_validator("expected_period")
    @classmethod
    def _period(cls, v: str | None) -> str | None:
        return None if v is None else _duration(v)

    @field_validator("url")
    @classmethod
    def _scheme(cls, v: str) -> str:
        """An http(s) URL or a file path: any other scheme (ftp://, file://) is refused by name,
        not taken for a file that does not exist."""
        m = _SCHEME.match(v.strip())
        if m and m.group(1).lower() not in ("http", "https"):
            scheme = m.group(1)
            raise ValueError(
                f"不支持 {scheme}:// 地址，请写 http(s):// 网址或本地文件路径 / "
                f"the {scheme}:// scheme is not supported; use an http(s):// URL or a file path"
            )
        return v

    @model_validator(mode="after")
    def _kind_needs(self) -> Source:
        page = self.format if self.kind == "search" else self.kind
        if page == "html" and self.selectors is None:
            raise ValueError(
                "html 来源需要 selectors（至少 item） / an html source needs `selectors` (at least `item`)"
            )
        if page == "json" and self.fields is None:
            raise ValueError("json 来源需要 fields / a json source needs `fields`")
        if self.kind == "search" and "{query}" not in self.url:
            raise ValueError("search 来源的 url 需要包含 {query} / a search url needs a {query} placeholder")
        return self

    @field_validator("interval")
    @classmethod
    def _interval(cls, v: str) -> str:
        return _positive_duration(v)

    @property
    def interval_td(self) -> timedelta:
        return parse_duration(self.interval)

    @property
    def is_http(self) -> bool:
        return self.url.lower().startswith(("http://", "https://"))


class Collection(_Model):
    """Politeness and health settings for collection."""

    # seconds between requests to one host, and up to this many more; at most an hour (a larger
    # or infinite value is a typo, and would overflow the collector's date arithmetic)
    min_interval: float = Field(default=2.0, ge=0, le=3600)
    jitter: float = Field(default=1.0, ge=0, le=3600)
    per_host: int = Field(default=1, ge=1, le=8)
    max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    retries: int = Field(default=2, ge=0, le=5)
    respect_robots: bool = True
    host_aliases: dict[str, str] = Field(default_factory=dict)  # mobile/mirror host -> canonical host
    break_after: int = Field(default=3, ge=1)  # failures before the admin chat is told and runs back off
    deactivate_after: int = Field(default=10, ge=2)  # failures before the source is switched off
    # the most items one run of a source reads (the newest by their time, else the first on the
    # page): an archive page or a feed listing thousands would hold the host's lane for days
    # fetching detail pages, and the analysis worker with them
    max_items: int = Field(default=300, ge=10, le=10000)


# Source health (storage.posts.source_volume) compares a source's last day with the 14 days
# before it: a shorter window would prune posts it counts.
MIN_RETENTION_DAYS = 15
# a century: anything longer is a typo, and the cutoffs (KEY_FACTOR windows back) must stay a date
MAX_RETENTION_DAYS = 36500


class Retention(_Model):
    """`[retention]`: raw posts older than `posts_days` (by fetch time) that belong to no
    incident are pruned daily (jobs.retention); 0 keeps them for ever (a city's default; a
    province suggestion: 90). Before a post goes, it is appended to `archive_dir` (when set;
    relative to the data folder) as a JSON line of `posts-YYYY-MM.jsonl.gz`, its month of fetch."""

    posts_days: int = Field(default=0, ge=0)
    archive_dir: str | None = None

    @field_validator("posts_days")
    @classmethod
    def _days(cls, v: int) -> int:
        if 0 < v < MIN_RETENTION_DAYS:
            raise ValueError(
                f"posts_days 须为 0（永久保留）或至少 {MIN_RETENTION_DAYS} 天（来源健康检查要用最近 15 天的帖文），"
                f"而不是 {v} / posts_days must be 0 (keep for ever) or at least {MIN_RETENTION_DAYS} "
                f"(source health counts the last 15 days of posts), not {v}"
            )
        if v > MAX_RETENTION_DAYS:
            raise ValueError(
                f"posts_days 最多 {MAX_RETENTION_DAYS} 天（0 表示永久保留），而不是 {v} / "
                f"posts_days must be at most {MAX_RETENTION_DAYS} (0 keeps for ever), not {v}"
            )
        return v

    @field_validator("archive_dir")
    @classmethod
    def _dir(cls, v: str | None) -> str | None:
        return v.strip() or None if v is not None else None


class Cadre(_Model):
    name: str = Field(min_length=1)
    post: str = ""
    unit: str = ""
    leading: bool = False
    aliases: list[str] = Field(default_factory=list)


class Unit(_Model):
    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)


class Near(_Model):
    """Proximity: a term of `a` within `within` characters of a term of `b` (with `ordered`,
    the `a` term first: 协管员掀翻… is the officer's act, 男子掀翻城管执法车 is not).
    `$cadres`, `$units` and `$places` stand for every watched name of that kind."""

    a: list[str] = Field(min_length=1)
    b: list[str] = Field(min_length=1)
    within: int = Field(default=20, ge=1, le=500)
    ordered: bool = False

    def holds(self, a: list[int], b: list[int]) -> bool:
        """Whether start offsets `a` and `b` of the two sides' terms are near enough."""
        if self.ordered:
            return any(0 < j - i <= self.within for i in a for j in b)
        return any(abs(i - j) <= self.within for i in a for j in b)


class Topic(_Model):
    """A topic rule: matches when at least one `any` term (or a `near` clause) is present,
    every `all` term is present, and no `none` term is."""

    category: str = Field(min_length=1)
    weight: int = Field(default=1, ge=1, le=5)
    any: list[str] = Field(default_factory=list)
    all: list[str] = Field(default_factory=list)
    none: list[str] = Field(default_factory=list)
    near: list[Near] = Field(default_factory=list)
    team: str | None = None  # only for posts from this team's sources; empty = every team
    # the content grade a post this rule decides has at least (a class the rubric grades III,
    # like a village's levy on households, whatever words its lead has); impact adds as usual
    at_least: Grade | None = None

    @model_validator(mode="after")
    def _has_a_trigger(self) -> Topic:
        if not self.any and not self.near:
            raise ValueError("规则至少需要 any 或 near 之一 / a rule needs `any` or `near`")
        return self


class Watchlist(_Model):
    cadres: list[Cadre] = Field(default_factory=list)
    units: list[Unit] = Field(default_factory=list)
    places: list[str] = Field(default_factory=list)
    sensitive: list[str] = Field(default_factory=list)
    negative: list[str] = Field(default_factory=list)
    topics: list[Topic] = Field(default_factory=list)
    # rule packs read into `sensitive`, `negative` and `topics` when the file is loaded
    # (bot.config.load_config), kept as written to show where the rules came from
    rules: list[str] = Field(default_factory=list)
    # the relevance model (jobs/relevance.py, trained on the shipped labels) may find relevant a
    # post in the area that the topic rules or the subject test turned down; its card says so
    relevance_model: bool = True

    @property
    def categories(self) -> list[str]:
        seen: dict[str, None] = {}
        for t in self.topics:
            seen.setdefault(t.category)
        return list(seen)


class GradeRule(_Model):
    threshold: float = Field(ge=0)
    claim: str = "2h"
    first_response: str | None = None
    full_response: str | None = None
    remind_before: str | None = None  # reminder this long before each deadline; default a third of it, at most 30m
    quiet_after: str | None = None  # remind the assignee when a claimed incident has had no action this long
    auto_escalate: bool = True  # escalate by itself when nobody claims it in time

    @field_validator("claim")
    @classmethod
    def _claim(cls, v: str) -> str:
        return v if v == "next_workday" else _duration(v)

    @field_validator("first_response", "full_response", "remind_before")
    @classmethod
    def _opt_duration(cls, v: str | None) -> str | None:
        return None if v is None else _duration(v)

    @field_validator("quiet_after")
    @classmethod
    def _quiet(cls, v: str | None) -> str | None:
        return None if v is None else _positive_duration(v)


class EscalationStep(_Model):
    """One level of an escalation chain: who hears about it."""

    name: str = Field(min_length=1)
    people: list[str] = Field(default_factory=list)  # person ids, told privately
    roles: list[Role] = Field(default_factory=list)
    chats: dict[str, str] = Field(default_factory=dict)  # platform -> chat id (a partner department's group)
    parent_team: bool = False  # the parent team's group (township -> district -> city)
    facts_only: bool = False  # the card and the facts, not the team's internal notes
    # the lowest grade whose full card this step's people get privately when it is reached;
    # below it they get the notice (with /show N) unless their /subscribe covers the grade.
    # None: the notice only. (A facts-only step always gets the card: it is all they see.)
    card_from: Grade | None = Grade.II


class EscalationChain(_Model):
    grades: list[Grade] = Field(default_factory=list)  # empty: every grade
    categories: list[str] = Field(default_factory=list)  # empty: every category
    steps: list[EscalationStep] = Field(min_length=1)


DEFAULT_CHAIN = EscalationChain(
    steps=[
        EscalationStep(name="组长", roles=[Role.ADMIN]),
        EscalationStep(name="分管领导", roles=[Role.LEADER]),
        EscalationStep(name="协作部门", roles=[Role.PARTNER], facts_only=True),
    ]
)


class Playbook(_Model):
    category: str = Field(min_length=1)
    role: Role = Role.STAFF
    principles: str = ""
    steps: list[str] = Field(default_factory=list)


class Config(_Model):
    """The whole configuration file."""

    organization: Organization
    teams: list[Team] = Field(min_length=1)
    people: list[Person] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    watchlist: Watchlist = Field(default_factory=Watchlist)
    grades: dict[Grade, GradeRule]
    playbooks: list[Playbook] = Field(default_factory=list)
    collection: Collection = Field(default_factory=Collection)
    escalation: list[EscalationChain] = Field(default_factory=list)
    retention: Retention = Field(default_factory=Retention)
    # Set by load_config: the folder relative paths are resolved against.
    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        problems = []
        with_ids: tuple[tuple[str, Sequence[Team | Person | Source]], ...] = (
            ("teams", self.teams),
            ("people", self.people),
            ("sources", self.sources),
        )
        for field, items in with_ids:
            seen = set()
            for i, item in enumerate(items):
                if item.id in seen:
                    problems.append((f"{field}[{i}].id", f"重复的 id {item.id!r}", f"duplicate id {item.id!r}"))
                seen.add(item.id)
        team_ids = {t.id for t in self.teams}
        with_teams: tuple[tuple[str, Sequence[Person | Source]], ...] = (
            ("people", self.people),
            ("sources", self.sources),
        )
        for field, items in with_teams:
            for i, item in enumerate(items):
                if item.team is not None and item.team not in team_ids:
                    problems.append(
                        (f"{field}[{i}].team", f"没有名为 {item.team!r} 的团队", f"no team named {item.team!r}")
                    )
        for i, topic in enumerate(self.watchlist.topics):
            if topic.team is not None and topic.team not in team_ids:
                problems.append(
                    (f"watchlist.topics[{i}].team", f"没有名为 {topic.team!r} 的团队", f"no team named {topic.team!r}")
                )
        for i, t in enumerate(self.teams):
            if t.parent is not None and t.parent not in team_ids:
                problems.append((f"teams[{i}].parent", f"没有名为 {t.parent!r} 的团队", f"no team named {t.parent!r}"))
        missing = [g.value for g in Grade if g not in self.grades]
        if missing:
            problems.append(("grades", f"缺少等级 {', '.join(missing)}", f"missing grade(s) {', '.join(missing)}"))
        else:
            th = [self.grades[g].threshold for g in Grade]
            if any(a <= b for a, b in pairwise(th)):
                problems.append(("grades", "阈值须满足 I > II > III > IV", "thresholds must satisfy I > II > III > IV"))
        ids = {p.id for p in self.people}
        for ci, chain in enumerate(self.escalation):
            for si, step in enumerate(chain.steps):
                for pid in step.people:
                    if pid not in ids:
                        problems.append(
                            (
                                f"escalation[{ci}].steps[{si}].people",
                                f"没有 id 为 {pid!r} 的成员",
                                f"no person with id {pid!r}",
                            )
                        )
        duty = self.organization.duty
        if duty is not None:
            for where, pid in [(f"organization.duty.rotation[{i}]", p) for i, p in enumerate(duty.rotation)] + [
                (f"organization.duty.overrides.{d.isoformat()}", p) for d, p in duty.overrides.items()
            ]:
                if pid not in ids:
                    problems.append((where, f"没有 id 为 {pid!r} 的成员", f"no person with id {pid!r}"))
                elif (p := self.person(pid)) is not None and p.role not in DUTY_ROLES:
                    problems.append(
                        (
                            where,
                            f"{p.name}（{p.role.label}）不能值班，值班员须为管理员、监测人员或领导",
                            f"a {p.role.value} cannot be on duty: only admin, staff or leader",
                        )
                    )
        cats = set(self.watchlist.categories)
        for i, pb in enumerate(self.playbooks):
            if pb.category not in cats:
                problems.append(
                    (
                        f"playbooks[{i}].category",
                        f"watchlist.topics 中没有类别 {pb.category!r}",
                        f"no topic category {pb.category!r} in watchlist.topics",
                    )
                )
        if problems:
            raise ConfigProblems(problems)
        return self

    # ---- lookups used across the app
    def team(self, team_id: str | None) -> Team:
        """The team with this id; the first (default) team for None or an unknown id."""
        for t in self.teams:
            if t.id == team_id:
                return t
        return self.teams[0]

    def person(self, key: str) -> Person | None:
        """Find a person by id or name (a leading @ is ignored)."""
        key = key.strip().lstrip("@")
        for p in self.people:
            if key in (p.id, p.name):
                return p
        return None

    def duty_person(self, person_id: str) -> Person | None:
        """The configured person of this id if they may be on duty (DUTY_ROLES), else None: one
        who left the config, or is no longer admin, staff or leader."""
        p = next((p for p in self.people if p.id == person_id), None)
        return p if p is not None and p.role in DUTY_ROLES else None

    def person_by_handle(self, platform: str, handle: str) -> Person | None:
        """The person whose configured `handles[platform]` is `handle` (a user id or @name)."""
        for p in self.people:
            if p.handles.get(platform) == str(handle):
                return p
        return None

    def source(self, source_id: str) -> Source | None:
        """The configured source with this id, or None."""
        return next((s for s in self.sources if s.id == source_id), None)

    def chain(self, grade: Grade, category: str | None) -> EscalationChain:
        """The first escalation chain that covers this grade and category, else the default
        (组长 → 分管领导 → 协作部门)."""
        for c in self.escalation:
            if (not c.grades or grade in c.grades) and (not c.categories or category in c.categories):
                return c
        return DEFAULT_CHAIN

    def playbook(self, category: str | None) -> Playbook | None:
        """The playbook (处置预案) of a category, or None."""
        return next((p for p in self.playbooks if p.category == category), None)

    def resolve_path(self, url: str) -> Path:
        """A path from the config, relative ones taken from the config file's folder."""
        p = Path(url)
        return p if p.is_absolute() else self.base_dir / p


class ConfigProblems(ValueError):
    """Cross-field problems of a whole configuration: (where, zh, en) triples, turned into
    `core.errors.ConfigError` by `bot.config.load_config`."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("; ".join(f"{w}: {zh} / {en}" for w, zh, en in problems))
