"""Backtest: exactly the live analysis, grading and clustering over a file of posts, in a
database of its own and with no chat, so a team can tune rules on last month's posts.

Input, one JSON object a line: id, title, text, url, source, published (ISO time or null),
optional replies, views, reposts. Output, a line per post: id, relevant, category, grade,
incident, reasons, matched."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from bot.config import Source
from core.models import Post

__all__ = ["Backtest", "parse_line"]


def parse_line(line: str) -> dict:
    """:raises ValueError: with the reason, for a line that is not a usable post."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"不是 JSON / not JSON ({e.msg})") from None
    if not isinstance(item, dict):
        raise ValueError("应为 JSON 对象 / expected an object")
    if item.get("id") in (None, ""):
        raise ValueError("缺少 id / missing id")
    if not (item.get("title") or item.get("text")):
        raise ValueError("title 和 text 都为空 / title and text are both empty")
    published = item.get("published")
    if published:
        try:
            dt = datetime.fromisoformat(str(published).replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"published 不是 ISO 时间 / published is not an ISO time: {published!r}") from None
        item["published"] = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    for k in ("replies", "views", "reposts"):
        if item.get(k) is not None:
            try:
                item[k] = int(item[k])
            except (TypeError, ValueError):
                raise ValueError(f"{k} 应为整数 / {k} must be an integer") from None
    return item


class Backtest:
    def __init__(self, settings, config, db_path: Path):
        from bot.app import App  # noqa: PLC0415

        self._now = datetime.now(timezone.utc)
        self.app = App(settings.model_copy(update={"db": db_path}), config, platforms={}, clock=lambda: self._now)
        self.config = config
        self.relevant = 0

    def _source(self, name: str | None) -> Source:
        configured = self.config.source(name) if name else None
        if configured:
            return configured
        # An unknown source counts as a forum (the lowest tier) under its own name.
        return Source(id=name or "unknown", name=name or "unknown", url="backtest", tier=4)

    def run(self, item: dict) -> dict:
        if item.get("published"):
            self._now = item["published"]
        src = self._source(item.get("source"))
        url = item.get("url") or None
        post = Post(source_id=src.id, item_key=f"backtest:{item['id']}" if not url else "", title=item.get("title") or "",
                    text=item.get("text") or "", url=url, published_at=item.get("published"),
                    replies=item.get("replies"), views=item.get("views"), reposts=item.get("reposts"))
        if url:
            from jobs.collect import item_key  # noqa: PLC0415

            post = Post(**{**post.__dict__, "item_key": item_key(src.id, url, None, post.title)})
        analysis = self.app.analyzer.analyse(post, src)
        out = self.app.pipeline.ingest(post, src)
        f = analysis.finding
        iid = out.incident_id
        if out.post_id is None:  # the same URL was already in the file: report its incident
            row = self.app.db.execute(
                "SELECT ip.incident_id FROM posts p JOIN incident_posts ip ON ip.post_id = p.id WHERE p.item_key = ?",
                [post.item_key]).fetchone()
            iid = row[0] if row else None
        inc = self.app.service.get(iid) if iid else None
        self.relevant += int(f.relevant)
        return {"id": item["id"], "relevant": f.relevant, "category": f.category if f.relevant else None,
                "grade": inc.grade.value if inc else None, "incident": iid,
                "reasons": list(inc.reasons) if inc else [], "matched": f.matched if f.relevant else {}}

    def summary(self, n: int, bad: int, seconds: float) -> str:
        grades = Counter(r[0] for r in self.app.db.execute("SELECT grade FROM incidents"))
        incidents = sum(grades.values())
        per_grade = "，".join(f"{g} {grades.get(g, 0)}" for g in ("I", "II", "III", "IV"))
        return (f"回测完成 / backtest done: 帖文 posts {n}（跳过 skipped {bad}），相关 relevant {self.relevant}，"
                f"事件 incidents {incidents}；按等级 alerts per grade：{per_grade}；速度 {n / seconds:,.0f} 条/秒 posts/s")

    def close(self) -> None:
        self.app.close()
