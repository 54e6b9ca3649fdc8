"""One leading bot per database, a standby that takes over (issue 16.3).

Only the leader polls the chat platform (Telegram allows one `getUpdates` poller per token),
runs the scheduled jobs (日报, reminders, the deadline sweep) and delivers the outbox. The
leader is whoever holds the lease row `storage.coord.LEADER`:

* a bot takes the lease when nobody holds it or its holder's time ran out (TTL, default 15 s),
  and renews it every `renew_every` (5 s); each change of holder raises the lease's epoch;
* a standby tries every `renew_every`: it takes over at most TTL + `renew_every` after the
  leader's last renewal (≤ 20 s with the defaults);
* the leader counts itself deposed as soon as a renewal fails because another holds the lease,
  or when it has not renewed for a TTL (the database unreachable): `is_leader()` turns false
  on its own clock *before* a standby can take the lease, and delivery checks it before every
  batch. The epoch fences what is left: a deposed leader's attempt to mark an outbox row as
  being sent fails in the database (`storage.coord.lease_outbox_rows`).

The election is the same on both engines. On SQLite a second `yuqing run` is refused by the
file lock (bot.instance) before it gets here; the standby path serves PostgreSQL deployments.
Clocks of the machines are assumed in step (NTP) to well under the TTL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from core.clock import Clock, system_clock
from storage import coord, write_tx

__all__ = ["DEFAULT_RENEW", "DEFAULT_TTL", "Elector", "uses_election"]

log = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(seconds=15)
DEFAULT_RENEW = timedelta(seconds=5)


class Elector:
    """Campaigns for lease `name` on `db` as `owner`.

    Example::

        elector = Elector(db, "host:1234")
        elector.step()              # one round: take or renew the lease
        if elector.is_leader(): ...
        await elector.run()         # rounds every `renew_every` until cancelled
    """

    def __init__(
        self,
        db,
        owner: str,
        *,
        name: str = coord.LEADER,
        ttl: timedelta = DEFAULT_TTL,
        renew_every: timedelta = DEFAULT_RENEW,
        clock: Clock = system_clock,
        on_elected: Callable[[int], None] | None = None,
        on_deposed: Callable[[str], None] | None = None,
    ):
        self.db = db
        self.owner = owner
        self.name = name
        self.ttl = ttl
        self.renew_every = renew_every
        self.clock = clock
        self.on_elected = on_elected or (lambda epoch: None)
        self.on_deposed = on_deposed or (lambda why: None)
        self.epoch: int | None = None
        self._valid_until: datetime | None = None  # on our own clock: the start of the last renewal + TTL
        self._waiting_logged = False
        self.elected = asyncio.Event()
        self.deposed = asyncio.Event()

    # ---------------------------------------------------------------- state
    def is_leader(self) -> bool:
        """Do we lead now? False once a TTL has passed since the last successful renewal,
        even before the next round notices."""
        if self.epoch is None or self._valid_until is None:
            return False
        if self.clock() >= self._valid_until:
            self._lose(f"not renewed for {self.ttl.total_seconds():.0f} s")
            return False
        return True

    def fence(self) -> tuple[str, int]:
        """(lease name, epoch) for `storage.coord.lease_outbox_rows`.

        :raises LeaseLost: when we do not lead.
        """
        if not self.is_leader() or self.epoch is None:
            raise coord.LeaseLost(f"{self.owner} does not hold the lease {self.name!r}")
        return self.name, self.epoch

    def holds(self) -> bool:
        """`is_leader()`, confirmed by the database (the check before each delivery batch)."""
        if not self.is_leader() or self.epoch is None:
            return False
        try:
            ok = coord.holds_lease(self.db, self.name, self.owner, self.epoch, self.clock())
        except Exception:
            log.exception("the leader lease could not be read")
            return False
        if not ok:
            self._lose("the lease is no longer ours")
        return ok

    # ---------------------------------------------------------------- rounds
    def step(self) -> bool:
        """One round: renew the lease we hold, or try to take it. Returns `is_leader()`."""
        started = self.clock()
        try:
            with write_tx(self.db):
                if self.epoch is not None:
                    lease = coord.renew_lease(self.db, self.name, self.owner, self.epoch, started, self.ttl)
                else:
                    lease = coord.acquire_lease(self.db, self.name, self.owner, started, self.ttl)
        except Exception as e:  # the database is unreachable or locked: the lease runs out on its own
            log.warning("leader lease round failed (%s: %s)", type(e).__name__, e)
            return self.is_leader()
        if lease is None:
            if self.epoch is not None:
                self._lose("another bot took the lease")
            elif not self._waiting_logged:
                state = coord.lease_state(self.db, self.name)
                log.warning(
                    "standby: another bot leads on this database (%s); waiting to take over when its lease runs out",
                    state[0] if state else "?",
                )
                self._waiting_logged = True
            return False
        was = self.epoch
        self.epoch, self._valid_until = lease.epoch, started + self.ttl
        if was is None:
            log.warning("elected leader (%s, epoch %d)", self.owner, lease.epoch)
            self._waiting_logged = False
            self.deposed.clear()
            self.elected.set()
            self.on_elected(lease.epoch)
        return True

    def _lose(self, why: str) -> None:
        if self.epoch is None:
            return
        log.warning(
            "no longer the leader (%s, epoch %d): %s; stopping polling, jobs and delivery", self.owner, self.epoch, why
        )
        self.epoch, self._valid_until = None, None
        self.elected.clear()
        self.deposed.set()
        self.on_deposed(why)

    async def run(self) -> None:
        """Rounds every `renew_every` until cancelled."""
        while True:
            self.step()
            await asyncio.sleep(self.renew_every.total_seconds())

    def resign(self) -> None:
        """A clean stop: give the lease up so a standby takes over at once."""
        if self.epoch is None:
            return
        epoch = self.epoch
        self._lose("stopping")
        try:
            with write_tx(self.db):
                coord.release_lease(self.db, self.name, self.owner, epoch)
        except Exception:
            log.exception("could not give the leader lease up; it runs out by itself")


def uses_election(db_setting: object) -> bool:
    """Is the database one several bots may share (a PostgreSQL URL)? There `run` elects a
    leader; on SQLite the file lock of bot.instance keeps one bot per database."""
    text = str(db_setting)
    return text.startswith(("postgresql:", "postgres:", "postgresql+"))
