"""A collection cycle has one lane per host (issue 17.7): a host with many sources, or one that
is slow to answer, does not hold up the sources of other hosts."""

from __future__ import annotations

import asyncio

import jobs.pipeline
from bot.config import load_config
from jobs.collect import SourceRead, host_key, host_lanes


def many_sources_config(config_dir, per_host: dict[str, int]):
    p = config_dir / "example.toml"
    text = p.read_text(encoding="utf-8")
    start = text.index("[[sources]]")
    end = text.index("# ---------------------------------------------------------------- watch-list")
    sources = "".join(
        f'[[sources]]\nid = "{host}{i}"\nname = "{host} {i}"\nurl = "http://{host}.example/feed/{i}.xml"\n'
        f'tier = 4\ninterval = "10m"\n\n'
        for host, n in per_host.items()
        for i in range(n)
    )
    p.write_text(text[:start] + sources + text[end:], encoding="utf-8")
    return load_config(p)


def test_sources_are_grouped_by_host(config_dir):
    cfg = many_sources_config(config_dir, {"a": 3, "b": 2})
    lanes = host_lanes(cfg.sources)
    assert list(lanes) == ["http://a.example", "http://b.example"]
    assert [s.id for s in lanes["http://a.example"]] == ["a0", "a1", "a2"]
    assert host_key(cfg.sources[0]) == "http://a.example"


async def test_a_busy_host_does_not_hold_up_the_others(config_dir, make_app, monkeypatch):
    # 30 sources on a host that does not answer, listed first; 5 on another host
    cfg = many_sources_config(config_dir, {"slow": 30, "fast": 5})
    h = make_app(cfg)
    h.app.analyzer  # noqa: B018
    release = asyncio.Event()
    fast_done: list[str] = []

    async def read(source, config, fetcher, **kw):
        if source.id.startswith("slow"):
            await release.wait()
        else:
            fast_done.append(source.id)
        return SourceRead()

    monkeypatch.setattr(jobs.pipeline, "read_source", read)
    cycle = asyncio.create_task(h.app.pipeline.run_all())
    try:
        await asyncio.wait_for(_until(lambda: len(fast_done) == 5), 30)
        assert not cycle.done()
    finally:
        release.set()
    runs = await asyncio.wait_for(cycle, 30)
    assert [r.source_id for r in runs] == [s.id for s in cfg.sources]  # config order in the result


async def _until(cond) -> None:
    while not cond():
        await asyncio.sleep(0.01)
