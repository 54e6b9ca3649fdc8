"""Wiring: one `App` holds the database, the config, the services, the platforms and the
scheduler. Registries are explicit here; nothing registers itself by import."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import logging
import random
import threading
import urllib.request
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.platforms import AVAILABLE
from bot.settings import Settings
from core import memory
from core.clock import Clock, system_clock
from core.cluster import warm as warm_clustering
from core.config import Config, Person, quiet_window
from core.deadlines import deadlines_for, is_overdue, next_deadline
from core.errors import FieldProblem, SettingsError
from core.incidents import IncidentService
from core.logsafe import redact, settings_secrets
from core.models import Incident, Role
from core.officials import pos_tables
from core.platform import ChatPlatform
from core.render import Card, RenderContext, render_card
from core.routing import Router
from core.text import Segmenter, configure_jieba, preload_compiled_segmenter
from core.tls import tls_context
from handlers import ChatHost, Deps, Reply, Request, handle
from handlers.permissions import allowed
from jobs import offload
from jobs.analyse import Analyzer
from jobs.deadlines import sweep_async as deadline_sweep
from jobs.deliver import STUCK_AFTER, Deliverer
from jobs.fetch import Fetcher, PerHostTransport, Politeness
from jobs.pipeline import Pipeline, SourceRun, index_off_loop
from jobs.report import report_with_chart, send_scheduled_report
from jobs.report_docs import with_document
from jobs.retention import archive_path, prune
from jobs.tips import system_resolver
from storage import SQLITE, Checkpointer, coord, open_db, write_tx
from storage import outbox as outbox_store
from storage import posts as post_store

__all__ = ["App", "build_platform", "routed_platforms"]

log = logging.getLogger(__name__)


class _WhenReady:
    """What the pipeline sees of the App's analyser before it is built: `analyse` waits for it."""

    def __init__(self, app: App):
        self._app = app

    def analyse(self, post, source):
        return self._app.analyzer.analyse(post, source)

    def __getattr__(self, name: str):
        return getattr(self._app.analyzer, name)


class _SegmenterWhenReady(Segmenter):
    """The analyser's segmenter, once it is built."""

    def __init__(self, app: App):  # no words of its own: the analyser's segmenter has them
        self._app = app

    def tokens(self, text: str) -> list[str]:
        return self._app.analyzer.segmenter.tokens(text)


def build_platform(name: str, config: Config, **kwargs: Any) -> ChatPlatform:
    """Create a platform adapter by name.

    :raises SettingsError: for a platform this version cannot run yet.
    """
    if name not in AVAILABLE:
        raise SettingsError(
            "platform",
            [
                FieldProblem(
                    "YUQING_PLATFORM",
                    f"平台 {name} 尚未提供，目前可用：{', '.join(AVAILABLE)}",
                    f"platform {name} is not available yet; available: {', '.join(AVAILABLE)}",
                )
            ],
        )
    module, _, factory = AVAILABLE[name].partition(":")
    cls = getattr(importlib.import_module(module), factory)
    if name == "console":
        kwargs.pop("settings", None)
    return cls(config, **kwargs)


def routed_platforms(settings: Settings, opened: Iterable[str]) -> list[str]:
    """The platforms alerts are queued for: those the settings choose (plus any opened here)."""
    names = [*settings.platform, *opened] or list(settings.chosen_platforms)
    return list(dict.fromkeys(names))


def team_chat_defaults(settings: Settings, config: Config, opened: dict) -> dict[str, dict[str, str]]:
    """Per platform, a team's group chat when the config names none: WeCom's robot for the
    team, known from the settings' robot keys whether or not the adapter is open here."""
    out = {n: dict(getattr(a, "team_chats", {}) or {}) for n, a in opened.items()}
    if "wecom" in routed_platforms(settings, opened) and "wecom" not in opened and settings.wecom_robot_keys:
        from bot.platforms.wecom import ROBOT_PREFIX

        teams = {t.id for t in config.teams}
        out["wecom"] = {t: f"{ROBOT_PREFIX}{t}" for t in settings.wecom_robot_keys if t in teams}
    return out


# at most one notice an hour about the same chat refusing the bot (App._undeliverable)
UNDELIVERABLE_QUIET = timedelta(hours=1)


class App:
    """The running bot.

    Example::

        app = App(settings, config, platforms={"console": ConsolePlatform(config)})
        await app.collect_once()
        await app.deliverer.drain()
    """

    def __init__(
        self,
        settings: Settings,
        config: Config,
        *,
        platforms: dict[str, ChatPlatform],
        clock: Clock = system_clock,
        db=None,
        collect: bool = True,
    ):
        self.settings = settings
        self.config = config
        self.clock = clock
        self.tz = settings.tz
        self.db = db if db is not None else open_db(settings.db)
        # the write-ahead log copied into the file off the collecting thread (storage.db)
        self.checkpointer = Checkpointer(self.db)
        self.platforms = platforms
        # False for `yuqing run --role bot`: collectors (`yuqing collect`) read the sources
        self.collects = collect
        # Who hears about an incident follows from the settings and the config, never from the
        # adapters this process opened: `scrape --once` (no adapter) queues the same alerts as
        # `run`, and the process running each platform delivers them.
        self.router = Router(
            config,
            routed_platforms(settings, platforms),
            self.db,
            defaults=team_chat_defaults(settings, config, platforms),
            store=SQLITE,
        )
        self.service = IncidentService(self.db, config, self.router, clock, self.tz, store=SQLITE)
        # The analyser (jieba's dictionary, the area matchers) is built in a thread of its own,
        # started at the end of `start` (or by whoever needs it first): chats are answered
        # meanwhile, and collection waits for it (`analyser_loaded`).
        self.analyzer_ready = threading.Event()
        self._analyzer: Analyzer | None = None
        self._analyzer_error: BaseException | None = None
        self._analyser_thread: threading.Thread | None = None
        self._analyser_lock = threading.Lock()
        self.client: httpx.AsyncClient | None = None
        # the stand-in forwards every use to the analyser once built (it waits for it)
        self.pipeline = Pipeline(config, cast(Analyzer, _WhenReady(self)), self.service, None)
        quiet = quiet_window(config.organization.quiet_hours) if config.organization.quiet_hours else None
        self.deliverer = Deliverer(self.db, platforms, self.render, clock, tz=self.tz, quiet_hours=quiet)
        self.deliverer.on_dead = self._undeliverable
        self.deliverer.on_stuck = functools.partial(self._undeliverable, given_up=False)
        self._undeliverable_told: dict[tuple[str, str], datetime] = {}
        self.deps = Deps(
            db=self.db,
            config=config,
            service=self.service,
            router=self.router,
            segmenter=_SegmenterWhenReady(self),
            clock=clock,
            tz=self.tz,
            render_card=self.render,
            pipeline=self.pipeline,
            http=self._http_client,
            resolve=system_resolver,
            data_dir=settings.data_dir,
        )
        # all that platform adapters see of the bot (`handlers.Host`)
        self.host = ChatHost(
            self.deps,
            deliver_now=self.deliverer.kick,
            settle=self._settle,
            console_person=self.console_person,
            warn_admins=self.warn_admins,
        )
        self.scheduler: AsyncIOScheduler | None = None
        self._deliver_task: asyncio.Task | None = None
        self._first_collect: asyncio.Task | None = None
        self._jobs: set[asyncio.Task] = set()

    # ------------------------------------------------------------------ the analyser
    def start_analyser(self) -> None:
        """Begin building the analyser in the background (once)."""
        with self._analyser_lock:
            if self._analyser_thread is None:
                self._analyser_thread = threading.Thread(
                    target=self._build_analyzer, name="yuqing-analyser", daemon=True
                )
                self._analyser_thread.start()

    def _build_analyzer(self) -> None:
        try:
            # Its tables are ~200,000 long-lived objects. Built with the cyclic collector paused
            # (each full collection their allocation set off walked them all, 100-150 ms with the
            # GIL held: the loop stalled while the first collection ran), then frozen, so that no
            # later full collection walks them again (core.memory).
            with memory.paused():
                configure_jieba(self.settings.data_dir)
                # the officials tagger's tables first (~0.7 s; ~30 MB while built, 10 MB kept): while
                # the bot is small, not on the first post that needs them, in collection's peak
                pos_tables()
                self._analyzer = Analyzer(self.config)
                warm_clustering()
            memory.freeze()
        except BaseException as e:  # handed to whoever waits for the analyser
            self._analyzer_error = e
            log.exception("the analyser could not be built")
        finally:
            self.analyzer_ready.set()

    @property
    def analyzer(self) -> Analyzer:
        """The analyser; waits (blocking) while it is still being built."""
        self.start_analyser()
        self.analyzer_ready.wait()
        if self._analyzer is None:
            raise RuntimeError("the analyser could not be built") from self._analyzer_error
        return self._analyzer

    async def analyser_loaded(self) -> Analyzer:
        """The analyser, waited for without blocking the loop."""
        if not self.analyzer_ready.is_set():
            self.start_analyser()
            await asyncio.to_thread(self.analyzer_ready.wait)
        return self.analyzer

    # ------------------------------------------------------------------ rendering
    def render(self, inc: Incident, where: tuple[str, str] | None = None, *, facts_only: bool = False) -> Card:
        """The card of an incident; `where` (platform, chat) it is shown: a facts-only chat of the
        incident's escalation chain (a partner department) gets no internal assessment and no
        names of the team's people — nor does anyone when `facts_only` (a partner's /show)."""
        now = self.clock()
        dl = deadlines_for(inc, self.config.grades, self.tz)
        facts_only = facts_only or (
            where is not None
            and where in self.router.facts_only_chats(inc.team, self.config.chain(inc.grade, inc.category))
        )
        names = {p.id: p.name for p in self.config.people}
        marks = SQLITE.incidents.events_of(self.db, inc.id, ("instruct", "read"))
        ctx = RenderContext(
            tz=self.tz,
            now=now,
            names=names,
            deadline=next_deadline(inc, dl, now),
            overdue=is_overdue(inc, dl, now),
            facts_only=facts_only,
            leader=where is not None and self._leader_chat(where),
            instructions=tuple(
                (names.get(e.actor or "", e.actor or "—"), e.at, e.detail.get("text") or "")
                for e in marks
                if e.action == "instruct"
            ),
            readers=tuple(dict.fromkeys(names.get(e.actor or "", e.actor or "—") for e in marks if e.action == "read")),
        )
        card = render_card(inc, ctx)
        # offer only what the reader may do: a partner department's chat nothing, a person's
        # private chat what their role allows (a leader does not claim or close)
        role = Role.PARTNER if facts_only else self._private_role(where)
        if role is not None:
            card = replace(card, buttons=tuple(b for b in card.buttons if allowed(b.action.value, role)))
        return card

    def _private_role(self, where: tuple[str, str] | None) -> Role | None:
        """The role of the person whose private chat `where` is, or None (a group chat)."""
        if where is None:
            return None
        for person in self.config.people:
            if where in self.router.private_chats(person):
                return Role(person.role)
        return None

    def _leader_chat(self, where: tuple[str, str]) -> bool:
        """Is `where` a leader's private chat (their card offers 已阅 and 批示, not 认领/关闭)?"""
        return any(where in self.router.private_chats(p) for p in self.router.people_with_role(Role.LEADER))

    # ------------------------------------------------------------------ entry points
    async def handle(self, req: Request) -> list[Reply]:
        return await handle(self.deps, req)

    def console_person(self) -> Person | None:
        """Who types at the console when it starts: YUQING_CONSOLE_USER, else the first admin,
        else the first person configured (None when nobody is)."""
        s = self.settings.console_user
        if s:
            p = self.config.person(s)
            if p:
                return p
            log.warning("YUQING_CONSOLE_USER=%s is not a configured person; using the first admin", s)
        admins = [p for p in self.config.people if p.role == "admin"]
        everyone = admins or self.config.people
        return everyone[0] if everyone else None

    def resume_sources(self) -> None:
        """At start-up: the sources switched off after repeated failures are read again (their
        notice says a restart resumes them); each is switched off again after as many failures."""
        with write_tx(self.db):
            resumed = post_store.resume_sources(self.db)
        if resumed:
            log.info("resuming %d source(s) switched off after repeated failures: %s", len(resumed), ", ".join(resumed))

    async def collect_once(self) -> list[SourceRun]:
        """Read every enabled source once (when the analyser is ready)."""
        await self.analyser_loaded()
        return await self.pipeline.run_all()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Open the HTTP client, start delivery (the backlog goes out at once) and the scheduled
        jobs, and return: the first collection cycle runs in the background, so chats are
        served and the outbox delivered while sources are still being read."""
        s = self.settings
        # jieba-rs builds its dictionary when imported, in one call that holds the GIL (0.15-0.3 s):
        # here, before chats are served, not in the analyser's thread while they are
        preload_compiled_segmenter()
        self.attach_http(self.new_http_client())
        if self.collects and (others := coord.live_collectors(self.db, self.clock())):
            log.warning(
                "collectors (%s) are reading the sources of this database; this bot reads them too, on its own "
                "schedule. Start it with --role bot to leave collection to them",
                ", ".join(others[:5]),
            )
        if self.collects:
            self.resume_sources()
        self.scheduler = AsyncIOScheduler(timezone=self.tz)
        for src in self.config.sources if self.collects else ():
            if not src.enabled:
                continue
            interval = src.interval_td
            # spread first runs over the interval so sources do not all fire at once; each later run
            # at most a second late, so a new post waits no longer than its source's interval
            first = self.clock() + timedelta(seconds=random.uniform(0.1, 1.0) * interval.total_seconds())
            self.scheduler.add_job(
                self._collect_job,
                IntervalTrigger(
                    seconds=interval.total_seconds(), start_date=first, jitter=min(1, interval.total_seconds() / 10)
                ),
                args=[src.id],
                id=f"collect:{src.id}",
                replace_existing=True,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        self.scheduler.add_job(
            self._index_job,
            IntervalTrigger(seconds=5),
            id="index",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self._deadline_job,
            IntervalTrigger(seconds=60),
            id="deadlines",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
        )
        # 日报 at 08:30 every day, 周报 on Monday 08:30, in the configured zone
        self.scheduler.add_job(
            self._report_job,
            CronTrigger(hour=8, minute=30, timezone=self.tz),
            args=["yesterday"],
            id="report:daily",
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=3600,
        )
        self.scheduler.add_job(
            self._report_job,
            CronTrigger(day_of_week="mon", hour=8, minute=30, timezone=self.tz),
            args=["lastweek"],
            id="report:weekly",
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=3600,
        )
        if self.config.retention.posts_days:  # [retention]: prune old raw posts at night, in small batches
            self.scheduler.add_job(
                self._retention_job,
                CronTrigger(hour=3, minute=30, timezone=self.tz),
                id="retention",
                replace_existing=True,
                coalesce=True,
                misfire_grace_time=3600,
            )
        self.scheduler.start()
        self.service.on_queued = self.deliverer.kick
        self._deliver_task = asyncio.create_task(self.deliverer.serve(s.deliver_interval), name="deliver")
        if s.collect_on_start and self.collects:
            self.deliverer.hold_digests_after = outbox_store.max_id(self.db)
            self._first_collect = asyncio.create_task(self._first_collection(), name="collect:first")
        self.deliverer.kick()  # the backlog goes out now, not at the first sweep
        self.start_analyser()  # after the rest of start-up, which it would slow down

    async def _first_collection(self) -> None:
        try:
            runs = await self.collect_once()
            log.info("first collection done: %d sources, %d new posts", len(runs), sum(r.new_posts for r in runs))
        except Exception:
            log.exception("the first collection cycle failed")
        finally:
            self.deliverer.hold_digests_after = None
            self.deliverer.kick()

    async def first_collection(self) -> None:
        """Wait for the start-up collection cycle, if one is running (scripted console sessions
        act on what it found)."""
        if self._first_collect is not None:
            await asyncio.gather(asyncio.shield(self._first_collect), return_exceptions=True)

    async def _settle(self, after_collection: bool) -> None:
        if after_collection:
            await self.first_collection()
        await self.deliverer.drain()

    def new_http_client(self) -> httpx.AsyncClient:
        """The client collection and tips use: settings' timeout, proxy and User-Agent."""
        s = self.settings
        # without a proxy, one small pool per host (jobs.fetch.PerHostTransport); through a proxy
        # (the settings' or the environment's) every request goes to the proxy: one pool, as before
        direct = not s.http_proxy and not urllib.request.getproxies()
        return httpx.AsyncClient(
            timeout=httpx.Timeout(s.http_timeout),
            follow_redirects=True,
            max_redirects=5,
            proxy=s.http_proxy,
            headers={"User-Agent": s.user_agent},
            limits=httpx.Limits(max_connections=50),
            verify=tls_context(),  # (the proxies' transports; PerHostTransport uses it too)
            transport=PerHostTransport(max_connections=50, per_host=self.config.collection.per_host + 1)
            if direct
            else None,
        )

    def _http_client(self) -> httpx.AsyncClient:
        """The shared client; made on first use when the app was not started (tests, CLI)."""
        if self.client is None or self.client.is_closed:
            client = self.new_http_client()
            self.attach_http(client)
            return client
        return self.client

    def attach_http(self, client: httpx.AsyncClient) -> None:
        """Use this client (and the config's politeness rules) for collection."""
        c = self.config.collection
        self.client = client
        self.pipeline.fetcher = Fetcher(
            client,
            Politeness(
                min_interval=c.min_interval,
                jitter=c.jitter,
                per_host=c.per_host,
                max_bytes=c.max_bytes,
                max_seconds=self.settings.http_timeout,
                retries=c.retries,
                respect_robots=c.respect_robots,
            ),
            user_agent=self.settings.user_agent,
            clock=self.clock,
        )

    async def _report_job(self, period: str) -> None:
        async with self._job(f"scheduled {period} report"):
            # figures and chart on the read worker (its own connection); the rows to send on the loop
            prepared = await offload.read_only(
                self.db, report_with_chart, self.config, period, self.clock(), self.tz, self.settings.data_dir
            )
            prepared = await with_document(
                self.db, self.config, period, self.clock(), self.tz, self.settings.data_dir, prepared
            )
            send_scheduled_report(self.service, period, self.tz, self.settings.data_dir, prepared=prepared)

    async def _deadline_job(self) -> None:
        async with self._job("deadline sweep"):
            await deadline_sweep(self.service, self.tz)

    async def _index_job(self) -> None:
        """Segment a few batches of newly collected posts for search; yields between batches."""
        async with self._job("search indexing"):
            await index_off_loop(self.db, limit=1000, batch=50)

    async def _retention_job(self) -> None:
        async with self._job("retention"):
            r = self.config.retention
            report = await prune(
                self.db, self.clock(), r.posts_days, archive_dir=archive_path(r.archive_dir, self.settings.data_dir)
            )
            log.info("retention: %s", "; ".join(report.lines()))

    async def _collect_job(self, source_id: str) -> None:
        if self._first_collect is not None and not self._first_collect.done():
            return  # the start-up cycle is reading every source right now
        async with self._job(f"collect job for {source_id}"):
            await self.analyser_loaded()
            await self.pipeline.run_source(source_id)

    @contextlib.asynccontextmanager
    async def _job(self, what: str):
        """A scheduled job's body: its failure is logged, and `stop` cancels it between two steps
        (each database write is its own transaction) instead of leaving it to the loop's end."""
        task = asyncio.current_task()
        assert task is not None, "a job's body runs inside a task"
        self._jobs.add(task)
        try:
            yield
        except asyncio.CancelledError:
            log.info("%s stopped (shutting down)", what)
        except Exception:
            log.exception("%s failed", what)
        finally:
            self._jobs.discard(task)

    async def stop(self) -> None:
        if self._first_collect is not None:
            self._first_collect.cancel()  # between posts: each post is its own transaction
            await asyncio.gather(self._first_collect, return_exceptions=True)
            self._first_collect = None
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        for task in list(self._jobs):
            task.cancel()
        await asyncio.gather(*self._jobs, return_exceptions=True)
        if self._deliver_task is not None:
            self.deliverer.stop()
            try:
                await asyncio.wait_for(asyncio.shield(self._deliver_task), timeout=15)
            except TimeoutError:
                log.warning("delivery did not finish its current message in time; cancelling")
                self._deliver_task.cancel()
                await asyncio.gather(self._deliver_task, return_exceptions=True)
            self._deliver_task = None
            self.service.on_queued = lambda: None
        if self.client is not None:
            await self.client.aclose()
            self.client = None
        await asyncio.sleep(0)

    def _undeliverable(self, row: Any, reason: str, *, given_up: bool = True) -> None:
        """An outbox row was given up (the bot was removed from a group, a person blocked it, a
        platform kept refusing), or (`given_up=False`) the platform has kept it waiting for
        hours (a rate limit it keeps answering): the admins hear of it through every other chat
        they have — their private chats and the teams' admin chats, never the chat that
        failed — at most once an hour per failing chat, and never about such a notice itself."""
        if row.payload.get("undeliverable"):
            return
        now = self.clock()
        key = (row.platform, row.chat)
        last = self._undeliverable_told.get(key)
        if last is not None and now - last < UNDELIVERABLE_QUIET:
            return
        # the platform's error may quote a request URL: no token or key goes into a chat
        reason = redact(reason, settings_secrets(self.settings))
        what = (
            f"事件 #{row.incident_id} 的{'卡片' if row.kind == outbox_store.CARD else '通知'}"
            if row.incident_id
            else "一条消息"
        )
        show = f"可用 /show {row.incident_id} 查看该事件。" if row.incident_id else ""
        if given_up:
            text = (
                f"⚠️ 投递失败：{what}无法送达 {row.platform} 会话 {row.chat}（{reason[:200]}），已停止重试。"
                "请检查：机器人是否仍在该群（企业微信群机器人是否被移除或停用），对方是否屏蔽了机器人或已不在应用"
                "可见范围，或会话编号是否有变。" + show
            )
        else:
            hours = int(STUCK_AFTER.total_seconds() // 3600)
            text = (
                f"⚠️ 投递受阻：{what}发往 {row.platform} 会话 {row.chat} 已等待 {hours} 小时以上仍未送达"
                f"（平台要求稍后再试：{reason[:200]}），仍会继续重试。请检查是否有其他程序共用同一个机器人或应用。"
                + show
            )
        if self.warn_admins(text, skip=key):
            self._undeliverable_told[key] = now

    def warn_admins(self, text: str, *, skip: tuple[str, str] | None = None) -> bool:
        """Tell the admins of a problem with the bot itself through every chat they have: their
        private chats and the teams' admin chats (but `skip`, the chat that fails). Such a notice
        that cannot be delivered raises no notice of its own. False when there is no chat to tell."""
        targets: set[tuple[str, str]] = set()
        for person in self.config.people:
            if person.role == "admin":
                targets.update(self.router.private_chats(person))
        for team in self.config.teams:
            targets.update(self.router.admin_chats(team.id))
        if skip is not None:
            targets.discard(skip)
        now = self.clock()
        for platform, chat in sorted(targets):
            outbox_store.enqueue(
                self.db,
                now,
                platform=platform,
                chat=chat,
                kind=outbox_store.TEXT,
                payload={"text": text, "undeliverable": True},
                priority=1,
            )
        if targets:
            self.deliverer.kick()
        return bool(targets)

    def close(self) -> None:
        self.checkpointer.close()
        self.db.close()
