"""Coordination between processes on one database: leased sources and hosts for collectors,
the leader's lease, leased outbox rows.

Everything here is a short statement in the portable subset (storage/README rules of issue 16):
the same SQL on SQLite and PostgreSQL, except the row locks of `claim_sources`, which on
PostgreSQL add `FOR UPDATE OF s SKIP LOCKED`, and the host rows an update of several locks
first in host order (on SQLite the write transaction is already exclusive: BEGIN IMMEDIATE
serialises writers).

Lock order on PostgreSQL: source rows are only ever waited for by a transaction that holds no
host row yet (claims skip locked sources; releases and heartbeats change their sources first),
and host rows are taken in host order by everyone, so no two transactions wait for each other. Call each write function inside
`storage.db.write_tx`.

Times are stored as ISO-8601 UTC text with microseconds (`stamp`), in these columns only
(compared with each other, never with a `to_iso` column): a host's minimum interval is often
under a second. '' (sorts before any time) means "free" for a lease and "now" for a due time.

Example::

    with write_tx(db):
        claims = claim_sources(db, "w1", now, ttl=timedelta(seconds=30), limit=8)
    ...  # read each source (one worker per host)
    with write_tx(db):
        release_source(db, "s1", "w1", next_due=now + interval)
        release_host(db, claims[0].host, "w1", next_fetch=now + timedelta(seconds=2))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.errors import YuqingError
from storage.db import dialect

__all__ = [
    "LEADER",
    "Claim",
    "LeaderLease",
    "LeaseLost",
    "acquire_lease",
    "anything_due",
    "claim_sources",
    "expire",
    "holds_lease",
    "lease_outbox_rows",
    "lease_state",
    "live_collectors",
    "release_all",
    "release_expired_sending",
    "release_host",
    "release_lease",
    "release_source",
    "renew",
    "renew_lease",
    "set_source_hosts",
    "source_leases",
    "stamp",
]

LEADER = "bot"  # the leading bot's lease: polls the chat platform, runs the jobs, delivers


class LeaseLost(YuqingError):
    """This process no longer holds the lease it acted under (another took it, or it ran out)."""


def stamp(dt: datetime) -> str:
    """The time as stored in the coordination columns: UTC, microseconds, fixed width."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _marks(n: int) -> str:
    return ",".join("?" * n)


# --------------------------------------------------------------------------- collectors


@dataclass(frozen=True)
class Claim:
    source_id: str
    host: str
    taken_from: str | None  # the worker whose lease had run out, if any


def set_source_hosts(db, hosts: dict[str, str]) -> None:
    """Record each source's politeness lane (`jobs.collect.host_key`); only sources with a
    host are ever claimed."""
    for source_id, host in hosts.items():
        db.execute("UPDATE sources SET host = ? WHERE id = ? AND host != ?", [host, source_id, host])


def claim_sources(
    db,
    owner: str,
    now: datetime,
    *,
    ttl: timedelta,
    limit: int,
    per_host: int = 4,
    skip_hosts: Iterable[str] = (),
) -> list[Claim]:
    """Lease up to `limit` due sources (enabled, `next_due_at` passed, lease free or run out)
    whose host is free for `owner` (nobody else's live lease, its `next_fetch_at` passed; a
    host `owner` already holds stays its own), at most `per_host` of one host and none of
    `skip_hosts` (those the caller has enough of in flight); the hosts are leased with them.
    Oldest due first. One transaction (the caller's `write_tx`).

    On PostgreSQL the candidate source rows are locked `FOR UPDATE OF s SKIP LOCKED`, so
    concurrent claimers pass over each other's candidates instead of queueing; the host is
    taken by a conditional upsert, so two claimers never both get one host."""
    if limit <= 0:
        return []
    n, until = stamp(now), stamp(now + ttl)
    skip = list(skip_hosts)
    sql = f"""
        SELECT s.id, s.host, s.lease_owner FROM sources s LEFT JOIN hosts h ON h.host = s.host
        WHERE s.enabled = 1 AND s.host != '' AND s.next_due_at <= ?
          AND (s.lease_until = '' OR s.lease_until <= ?)
          AND (h.host IS NULL OR h.owner = ?
               OR ((h.owner IS NULL OR h.lease_until <= ?) AND h.next_fetch_at <= ?))
          {f"AND s.host NOT IN ({_marks(len(skip))})" if skip else ""}
        ORDER BY s.next_due_at, s.id
        LIMIT ?"""
    if dialect(db) == "postgresql":
        sql += " FOR UPDATE OF s SKIP LOCKED"
    rows = db.execute(sql, [n, n, owner, n, n, *skip, limit * per_host]).fetchall()
    per: dict[str, list[tuple[str, str | None]]] = {}
    for source_id, host, prev in rows:
        lane = per.setdefault(host, [])
        if len(lane) < per_host and sum(map(len, per.values())) < limit:
            lane.append((source_id, prev))
    out: list[Claim] = []
    for host, lane in sorted(per.items()):  # hosts locked in one order by every claimer: no deadlock
        if not lane:
            continue
        got = db.execute(
            """INSERT INTO hosts (host, owner, lease_until, next_fetch_at) VALUES (?, ?, ?, '')
               ON CONFLICT (host) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
               WHERE hosts.owner = excluded.owner
                  OR ((hosts.owner IS NULL OR hosts.lease_until <= ?) AND hosts.next_fetch_at <= ?)
               RETURNING host""",
            [host, owner, until, n, n],
        ).fetchall()
        if not got:  # another worker took the host meanwhile (PostgreSQL); its sources wait
            continue
        ids = [sid for sid, _ in lane]
        db.execute(
            f"UPDATE sources SET lease_owner = ?, lease_until = ? WHERE id IN ({_marks(len(ids))})",
            [owner, until, *ids],
        )
        out += [Claim(sid, host, prev if prev and prev != owner else None) for sid, prev in lane]
    return out


def anything_due(db, now: datetime) -> bool:
    """Is some source due with its lease free? A read before the write transaction of a
    claim, so an idle collector does not take the write lock."""
    n = stamp(now)
    return (
        db.execute(
            """SELECT 1 FROM sources WHERE enabled = 1 AND host != '' AND next_due_at <= ?
               AND (lease_until = '' OR lease_until <= ?) LIMIT 1""",
            [n, n],
        ).fetchone()
        is not None
    )


def live_collectors(db, now: datetime) -> list[str]:
    """The workers holding an unexpired source or host lease now."""
    n = stamp(now)
    rows = db.execute(
        """SELECT lease_owner FROM sources WHERE lease_owner IS NOT NULL AND lease_until > ?
           UNION SELECT owner FROM hosts WHERE owner IS NOT NULL AND lease_until > ?""",
        [n, n],
    ).fetchall()
    return sorted(r[0] for r in rows)


def renew(db, owner: str, now: datetime, ttl: timedelta, *, sources: list[str], hosts: list[str]) -> tuple[int, int]:
    """Extend the leases of the sources and hosts `owner` is working on (its heartbeat);
    returns how many of each are still its own. Only those named: a lease left under the
    same name by an earlier life of the worker is not kept alive by this one."""
    until = stamp(now + ttl)
    s = h = 0
    if sources:
        s = db.execute(
            f"UPDATE sources SET lease_until = ? WHERE lease_owner = ? AND id IN ({_marks(len(sources))})",
            [until, owner, *sources],
        ).rowcount
    if hosts:
        _lock_hosts(db, f"owner = ? AND host IN ({_marks(len(hosts))})", [owner, *hosts])
        h = db.execute(
            f"UPDATE hosts SET lease_until = ? WHERE owner = ? AND host IN ({_marks(len(hosts))})",
            [until, owner, *hosts],
        ).rowcount
    return s, h


def _lock_hosts(db, where: str, params: list) -> None:
    """On PostgreSQL, lock the host rows an UPDATE of several is about to change in host order,
    the order `claim_sources` takes them in: an UPDATE locks rows in whatever order its plan
    meets them (a sequential scan: storage order), and two transactions taking two hosts in
    opposite orders deadlock. On SQLite the write transaction is exclusive already."""
    if dialect(db) == "postgresql":
        db.execute(f"SELECT host FROM hosts WHERE {where} ORDER BY host FOR UPDATE", params).fetchall()


def release_all(db, owner: str) -> int:
    """Free every lease held under `owner` (a collector starting: a name is unique among live
    collectors, so such leases are left from its previous life). Returns the sources freed;
    they keep their due time, so they are read at once."""
    n = db.execute("UPDATE sources SET lease_owner = NULL, lease_until = '' WHERE lease_owner = ?", [owner]).rowcount
    _lock_hosts(db, "owner = ?", [owner])
    db.execute("UPDATE hosts SET owner = NULL, lease_until = '' WHERE owner = ?", [owner])
    return n


def release_source(db, source_id: str, owner: str, *, next_due: datetime) -> bool:
    """A run is over: the source is free again and due at `next_due`. False when the lease
    was no longer `owner`'s (it ran out and another worker took the source)."""
    cur = db.execute(
        "UPDATE sources SET lease_owner = NULL, lease_until = '', next_due_at = ? WHERE id = ? AND lease_owner = ?",
        [stamp(next_due), source_id, owner],
    )
    return cur.rowcount > 0


def release_host(db, host: str, owner: str, *, next_fetch: datetime) -> bool:
    """`owner` is done with the host for now: free, and not to be fetched before `next_fetch`
    (by anyone: the minimum interval holds across workers)."""
    cur = db.execute(
        "UPDATE hosts SET owner = NULL, lease_until = '', next_fetch_at = ? WHERE host = ? AND owner = ?",
        [stamp(next_fetch), host, owner],
    )
    return cur.rowcount > 0


def expire(db, now: datetime) -> int:
    """Free the source and host leases that ran out (their holder died or stalled); returns how
    many sources were freed. Claims treat a run-out lease as free anyway: this is tidying, so
    that `source_leases` shows who really holds what."""
    n = stamp(now)
    freed = db.execute(
        "UPDATE sources SET lease_owner = NULL, lease_until = '' WHERE lease_until != '' AND lease_until <= ?", [n]
    ).rowcount
    _lock_hosts(db, "lease_until != '' AND lease_until <= ?", [n])
    db.execute("UPDATE hosts SET owner = NULL, lease_until = '' WHERE lease_until != '' AND lease_until <= ?", [n])
    return freed


def source_leases(db) -> dict[str, tuple[str | None, str, str]]:
    """Every source's (lease owner, lease until, next due), for status and tests."""
    return {
        r[0]: (r[1], r[2], r[3])
        for r in db.execute("SELECT id, lease_owner, lease_until, next_due_at FROM sources").fetchall()
    }


# --------------------------------------------------------------------------- the leader


@dataclass(frozen=True)
class LeaderLease:
    owner: str
    epoch: int
    until: datetime


def acquire_lease(db, name: str, owner: str, now: datetime, ttl: timedelta) -> LeaderLease | None:
    """Take lease `name` when nobody holds it or its holder's time ran out; the epoch goes up
    by one at every change of holder (the fencing token). None when another holds it.
    `owner` already holding it: use `renew_lease`."""
    until = now + ttl
    row = db.execute(
        """INSERT INTO leases (name, owner, until, epoch, since) VALUES (?, ?, ?, 1, ?)
           ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until,
               epoch = leases.epoch + 1, since = excluded.since
           WHERE leases.owner IS NULL OR leases.until <= ?
           RETURNING epoch""",
        [name, owner, stamp(until), stamp(now), stamp(now)],
    ).fetchone()
    return LeaderLease(owner, int(row[0]), until) if row else None


def renew_lease(db, name: str, owner: str, epoch: int, now: datetime, ttl: timedelta) -> LeaderLease | None:
    """Extend the lease `owner` holds at `epoch`; None when it is no longer its own (taken over:
    the epoch moved on). A lease that ran out but was not taken is still the holder's."""
    until = now + ttl
    cur = db.execute(
        "UPDATE leases SET until = ? WHERE name = ? AND owner = ? AND epoch = ?", [stamp(until), name, owner, epoch]
    )
    return LeaderLease(owner, epoch, until) if cur.rowcount > 0 else None


def release_lease(db, name: str, owner: str, epoch: int) -> None:
    """Give the lease up at once (a clean stop): a standby takes over without waiting the TTL."""
    db.execute(
        "UPDATE leases SET until = '', owner = NULL WHERE name = ? AND owner = ? AND epoch = ?", [name, owner, epoch]
    )


def holds_lease(db, name: str, owner: str, epoch: int, now: datetime) -> bool:
    """Does `owner` hold lease `name` at `epoch`, unexpired at `now`?"""
    return (
        db.execute(
            "SELECT 1 FROM leases WHERE name = ? AND owner = ? AND epoch = ? AND until > ?",
            [name, owner, epoch, stamp(now)],
        ).fetchone()
        is not None
    )


def lease_state(db, name: str) -> tuple[str | None, str, int] | None:
    """(owner, until, epoch) of lease `name`, or None when it was never taken."""
    row = db.execute("SELECT owner, until, epoch FROM leases WHERE name = ?", [name]).fetchone()
    return (row[0], row[1], int(row[2])) if row else None


# --------------------------------------------------------------------------- outbox rows


def lease_outbox_rows(
    db, row_ids: list[int], owner: str, until: datetime, *, fence: tuple[str, int], now: datetime
) -> None:
    """Stamp rows just marked 'sending' (`storage.outbox.begin`, same transaction) with the
    sender and how long its send may take — only while `owner` holds lease `fence` =
    (name, epoch) unexpired: a deposed leader's attempt fails here, before anything is sent.

    :raises LeaseLost: the fence does not hold (the caller's transaction must roll back).
    """
    if not row_ids:
        return
    name, epoch = fence
    cur = db.execute(
        f"""UPDATE outbox SET lease_owner = ?, lease_until = ?
            WHERE id IN ({_marks(len(row_ids))})
              AND EXISTS (SELECT 1 FROM leases l WHERE l.name = ? AND l.owner = ? AND l.epoch = ? AND l.until > ?)""",
        [owner, stamp(until), *row_ids, name, owner, epoch, stamp(now)],
    )
    if cur.rowcount != len(row_ids):
        raise LeaseLost(f"lease {name!r} (epoch {epoch}) is no longer held by {owner}")


def release_expired_sending(db, platforms: list[str], now: datetime) -> list[int]:
    """Rows of these platforms left in 'sending' whose sender's lease ran out (or that carry
    none, from a process without leases): back to 'pending',
    marked uncertain the way `storage.outbox.release_uncertain` marks them. Rows another
    process may still be sending are left alone until their lease runs out."""
    if not platforms:
        return []
    ids = [
        r[0]
        for r in db.execute(
            f"""SELECT id FROM outbox WHERE state = 'sending' AND platform IN ({_marks(len(platforms))})
                AND (lease_until = '' OR lease_until <= ?)""",
            [*platforms, stamp(now)],
        ).fetchall()
    ]
    if ids:
        from storage import outbox  # the uncertain marking has one home

        outbox.unbegin(db, ids, uncertain=True)
        db.execute(f"UPDATE outbox SET lease_owner = NULL, lease_until = '' WHERE id IN ({_marks(len(ids))})", ids)
    return ids
