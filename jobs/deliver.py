"""Delivery: outbox -> platform adapters. At-least-once, with the window for a repeat kept
as small as the platforms allow:

* before a message is sent its row is committed as 'sending'; the platform's message id is
  committed in the same transaction that marks the row sent, right after the call returns.
  A row found in 'sending' at start-up was cut off mid-send (the process died): it may or may
  not be in the chat, and none of our platforms can look a sent message up, so it is sent
  again (logged as uncertain). A lost alert is worse than a repeated one; the repeat rate per
  kill is measured by tests/test_fault_injection.py and stated in the README.
* a timed-out send (the platform may have the message) is likewise uncertain and retried;
  the adapters wait long enough (Telegram: 30 s) that a slow API is not mistaken for a failure;
* a card row sends the card the first time and edits the recorded message afterwards, so
  re-running a row never posts a second card once its id is recorded;
* a long text goes out as several messages (split once, here, by the platform's limit), in
  order, later parts threaded under the first; the parts sent are recorded one by one;
* rows of one incident and chat go strictly in order; a failing row holds back those after it;
* transient failures back off exponentially (or as long as the platform asked); permanent
  ones are marked dead and logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from sqlite_utils import Database

from core.clock import Clock, from_iso
from core.models import State
from core.platform import ChatPlatform, DeliveryError, MessageGone, Outgoing, PartlySent, text_parts
from core.render import Card, reminders_text, render_digest
from storage import coord, outbox, write_tx
from storage import incidents as store

__all__ = ["MAX_ATTEMPTS", "Deliverer"]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
# a row the platform keeps asking to wait for (45009, 429: not counted as attempts) is still
# tried, and the admins are told once it has waited this long (App._undeliverable, hourly)
STUCK_AFTER = timedelta(hours=3)
MAX_BACKOFF = timedelta(minutes=10)
DIGEST_PERIOD = timedelta(minutes=1)
DIGEST_RETRY = timedelta(seconds=30)
HIGH_BATCH = 5
# how long a row marked 'sending' stays ours when another leader could take over: longer than
# any adapter waits for a send (Telegram: 30 s), so a slow send is never sent twice
ROW_LEASE = timedelta(seconds=45)


class Leadership(Protocol):
    """What delivery asks of the leader election (bot.leader.Elector)."""

    owner: str

    def is_leader(self) -> bool: ...
    def holds(self) -> bool: ...
    def fence(self) -> tuple[str, int]: ...


def _incident_id(row: outbox.OutboxRow) -> int:
    """The incident of a card row (every card row names one).

    :raises IncidentNotFound: for a row that names none.
    """
    if row.incident_id is None:
        raise store.IncidentNotFound(None)
    return row.incident_id


class Deliverer:
    def __init__(
        self,
        db: Database,
        platforms: Mapping[str, ChatPlatform],
        render: Callable[..., Card],
        clock: Clock,
        *,
        tz=None,
        quiet_hours: tuple | None = None,
    ):
        self.db = db
        self.platforms = dict(platforms)
        self.render = render
        self.clock = clock
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self.tz = tz
        self.quiet_hours = quiet_hours
        self._stopping = False
        self._last_digest: dict[tuple[str, str], datetime] = {}
        # While the start-up collection runs: the last outbox id of the backlog. Newer grade III–IV
        # alerts wait to be digested once the collection is complete (grades I–II and the
        # backlog go out meanwhile).
        self.hold_digests_after: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop `serve` runs on (for `kick`)
        self._released = False
        # With several bots on one database (PostgreSQL): delivery only while this process
        # leads, checked before each batch; rows being sent are leased under the leader's epoch.
        self.leader: Leadership | None = None
        # Told, in the caller's transaction, of a row given up (`on_dead(row, reason)`): the app
        # tells the team's admins elsewhere, so an alert that never arrives does not go unseen.
        self.on_dead: Callable[[outbox.OutboxRow, str], None] | None = None
        # …and of a row the platform has asked to wait for longer than STUCK_AFTER (still tried)
        self.on_stuck: Callable[[outbox.OutboxRow, str], None] | None = None

    def release_uncertain(self) -> list[int]:
        """Rows a previous process left half-sent go back to the queue (once, at start)."""
        with write_tx(self.db):
            ids = outbox.release_uncertain(self.db, list(self.platforms))
        if ids:
            log.warning(
                "%d outbox row(s) were being sent when the bot last stopped (%s); they may already be "
                "in the chat and are sent again (at-least-once)",
                len(ids),
                ids[:20],
            )
        self._released = True
        return ids

    async def run_once(self, limit: int = 50) -> int:
        """Deliver what is due now; returns how many rows were completed. Grades I–II go
        first, then any digest of a low-grade burst, then everything else."""
        async with self._lock:
            if self.leader is not None:
                if not self.leader.holds():
                    return 0
                try:
                    return await self._round(limit)
                except coord.LeaseLost as e:
                    log.warning("delivery stopped: %s", e)
                    return 0
            if not self._released:
                self.release_uncertain()
            return await self._round(limit)

    async def _round(self, limit: int) -> int:
        if self.leader is not None:
            self._release_expired()
        platforms = list(self.platforms)
        self._hold_for_quiet_hours(platforms)
        # a bounded batch, so a burst of grade I–II cards on a rate-limited chat cannot
        # hold back the digest of everything else for minutes
        high = [r for r in outbox.due(self.db, platforms, self.clock(), limit) if r.priority <= 2][:HIGH_BATCH]
        done = await self._send_rows(high, yield_to_cards=True)
        done += await self._digests()
        rest = [r for r in outbox.due(self.db, platforms, self.clock(), limit) if not self._digest_candidate(r)]
        return done + await self._send_rows(rest, yield_to_cards=True)

    def _release_expired(self) -> None:
        """Rows another bot left in 'sending' whose lease ran out (it died or was deposed
        mid-send) go back to the queue, uncertain, in their place (per-chat order holds:
        they keep their ids)."""
        with write_tx(self.db):
            ids = coord.release_expired_sending(self.db, list(self.platforms), self.clock())
        if ids:
            log.warning(
                "%d outbox row(s) were being sent by a bot that stopped leading (%s); they may already be "
                "in the chat and are sent again (at-least-once)",
                len(ids),
                ids[:20],
            )

    def _begin(self, row_ids: list[int]) -> None:
        """Mark rows as being sent (committed before the platform is called); under a leader,
        leased to this process under its epoch.

        :raises LeaseLost: we no longer lead (nothing was marked).
        """
        with write_tx(self.db):
            now = self.clock()
            outbox.begin(self.db, row_ids, now)
            if self.leader is not None:
                fence = self.leader.fence()
                coord.lease_outbox_rows(self.db, row_ids, self.leader.owner, now + ROW_LEASE, fence=fence, now=now)

    def quiet_until(self, now: datetime) -> datetime | None:
        """The end of the current quiet hours, or None outside them."""
        if not self.quiet_hours:
            return None
        start, end = self.quiet_hours
        local = now.astimezone(self.tz)
        t = local.time()
        inside = (start <= t or t < end) if start > end else (start <= t < end)
        if not inside:
            return None
        day = local.date() if t < end else local.date() + timedelta(days=1)
        return datetime.combine(day, end, tzinfo=self.tz)

    def _hold_for_quiet_hours(self, platforms: list[str]) -> None:
        until = self.quiet_until(self.clock())
        if until is None:
            return
        held = [
            r.id
            for r in outbox.due(self.db, platforms, self.clock(), 1000)
            if r.priority >= 3 and (r.payload.get("first") or r.payload.get("reminder"))
        ]
        if held:
            with write_tx(self.db):
                outbox.hold(self.db, held, until)

    def _digest_candidate(self, row: outbox.OutboxRow) -> bool:
        """First alerts of grade III–IV on a digesting platform are sent only by `_digests`,
        which decides between a digest, single cards and waiting for the next minute."""
        return (
            row.kind == outbox.CARD
            and row.priority >= 3
            and bool(row.payload.get("first"))
            and bool(getattr(self.platforms.get(row.platform), "digest_after", None))
        )

    async def _send_rows(self, rows, *, yield_to_cards: bool = False) -> int:
        """Send rows in order. `yield_to_cards`: stop before a notice or text when a grade I–II
        card was queued meanwhile (each send may wait for the platform's rate limit), so the
        next round sends that card first (issue 17.3)."""
        done = 0
        blocked: set[tuple] = set()
        newest = max((r.id for r in rows), default=0)
        for row in rows:
            if self._stopping or (self.leader is not None and not self.leader.is_leader()):
                break
            if (
                yield_to_cards
                and done
                and row.kind != outbox.CARD
                and outbox.card_waiting(self.db, list(self.platforms), self.clock(), newest)
            ):
                log.info(
                    "a grade I–II card was queued; it goes before the %d notice(s) left in this round",
                    len(rows) - rows.index(row),
                )
                break
            key = (row.incident_id, row.platform, row.chat)
            if row.incident_id is not None and key in blocked:
                continue
            if await self._deliver(row):
                done += 1
            elif row.incident_id is not None:
                blocked.add(key)
        return done

    async def _digests(self) -> int:
        """On platforms with a per-chat rate limit (`digest_after` set), a burst of new grade
        III–IV alerts becomes one digest message per chat per minute; grades I–II never wait."""
        done = 0
        now = self.clock()
        for name, adapter in self.platforms.items():
            threshold = getattr(adapter, "digest_after", None)
            if not threshold:
                continue
            for chat, rows in outbox.new_low_grade_cards(self.db, name, now).items():
                if self.hold_digests_after is not None:
                    rows = [r for r in rows if r.id <= self.hold_digests_after]
                    if not rows:
                        continue
                last = self._last_digest.get((name, chat))
                if last is not None and now - last < DIGEST_PERIOD:
                    with write_tx(self.db):  # one digest a minute: the rest waits for the next one
                        outbox.hold(self.db, [r.id for r in rows], last + DIGEST_PERIOD)
                    continue
                if len(rows) < threshold:  # no burst: each goes out as its own card
                    done += await self._send_rows(rows)
                    continue
                incidents, gone = [], []
                for r in rows:
                    try:
                        incidents.append(store.get_incident(self.db, _incident_id(r)))
                    except store.IncidentNotFound:
                        gone.append(r)
                if gone:
                    with write_tx(self.db):
                        for r in gone:
                            outbox.mark_dead(self.db, r.id, f"incident #{r.incident_id} not found")
                by_incident = {r.incident_id: r for r in rows}
                messages = render_digest(incidents, adapter.max_length, total=len(incidents))
                per_minute = max(1, getattr(adapter, "digests_per_minute", 1))
                sent_ids: set[int] = set()
                for text, ids in messages[:per_minute]:
                    part = [by_incident[i].id for i in ids]
                    self._begin(part)  # recorded before the call: a kill now is an uncertain send
                    try:
                        message_id = await adapter.send(chat, Outgoing(text=text))
                    except DeliveryError as e:
                        wait = timedelta(seconds=e.retry_after or DIGEST_RETRY.total_seconds())
                        (log.info if e.retry_after else log.warning)(
                            "digest to %s/%s failed%s, cards stay queued for %ss: %s",
                            name,
                            chat,
                            " (it may have arrived; sent again)" if e.uncertain else "",
                            wait.total_seconds(),
                            e,
                        )
                        with write_tx(self.db):  # not again at every sweep while the platform is down
                            outbox.unbegin(self.db, part, uncertain=e.uncertain)
                            outbox.hold(
                                self.db, [r.id for r in rows if r.id not in sent_ids and r not in gone], now + wait
                            )
                        break
                    except BaseException:
                        with write_tx(self.db):
                            outbox.unbegin(self.db, part, uncertain=True)
                        raise
                    with write_tx(self.db):
                        outbox.mark_digested(self.db, part, self.clock(), message_id)
                    sent_ids.update(part)
                    log.info("digest of %d alerts to %s/%s", len(part), name, chat)
                if sent_ids:
                    self._last_digest[(name, chat)] = now
                    rest = [r.id for r in rows if r.id not in sent_ids and r not in gone]
                    if rest:  # named in the next minute's digest, not marked done unseen
                        with write_tx(self.db):
                            outbox.hold(self.db, rest, now + DIGEST_PERIOD)
                    done += len(sent_ids)
        return done

    def kick(self) -> None:
        """Something was queued: deliver now instead of at the next sweep. Safe from any thread."""
        loop = self._loop
        if loop is not None and loop.is_running():
            try:
                same = asyncio.get_running_loop() is loop
            except RuntimeError:
                same = False
            if not same:
                loop.call_soon_threadsafe(self._wake.set)
                return
        self._wake.set()

    async def serve(self, interval: float) -> None:
        """The delivery loop: runs when kicked, and at least every `interval` seconds
        (retries whose time has come). Cancel the task to stop it."""
        self._loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                while not self._stopping and await self.run_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery sweep failed")

    def stop(self) -> None:
        """Finish the row being sent, then leave `serve` (a send cut off half-way could
        reach the chat without its message id being recorded, and be sent again)."""
        self._stopping = True
        self._wake.set()

    async def drain(self, max_rounds: int = 1000) -> int:
        """Deliver until nothing is due (rows waiting for a retry later are left)."""
        total = 0
        for _ in range(max_rounds):
            n = await self.run_once()
            total += n
            if n == 0:
                break
        return total

    async def _deliver(self, row: outbox.OutboxRow) -> bool:
        adapter = self.platforms[row.platform]
        now = self.clock()
        if row.payload.get("uncertain"):
            log.warning(
                "outbox row %s (%s to %s/%s) may already be in the chat; sending it again",
                row.id,
                row.kind,
                row.platform,
                row.chat,
            )
        try:
            if row.kind == outbox.CARD:
                # Only edits coalesce: the first card of a chat is always sent, so the
                # notices queued behind it find it to reply to.
                if outbox.message_id_for(
                    self.db, row.incident_id, row.platform, row.chat
                ) and outbox.newer_card_pending(self.db, row):
                    with write_tx(self.db):
                        outbox.mark_superseded(self.db, row.id, now)
                    return True
                await self._card(adapter, row)
            else:
                if row.payload.get("lines") and not row.payload.get("parts_done"):
                    current = self._reminders_still_true(row, now)
                    if current is None:
                        return True
                    row = current
                reply_to = (
                    outbox.message_id_for(self.db, row.incident_id, row.platform, row.chat)
                    if row.kind == outbox.NOTICE
                    else None
                )
                await self._text(adapter, row, reply_to)
        except DeliveryError as e:
            if e.uncertain:
                log.warning(
                    "outbox row %s to %s/%s: the send timed out and may have arrived; it is sent again (at-least-once)",
                    row.id,
                    row.platform,
                    row.chat,
                )
            self._failed(row, e, permanent=e.permanent, retry_after=e.retry_after)
            return False
        except store.IncidentNotFound as e:
            self._failed(row, e, permanent=True)
            return False
        except asyncio.CancelledError:
            with write_tx(self.db):
                outbox.unbegin(self.db, [row.id], uncertain=True)
            raise
        except coord.LeaseLost:
            raise  # nothing was sent; the new leader sends it
        except Exception as e:  # an adapter bug must not stop delivery of everything else
            log.exception("outbox row %s: unexpected error from %s", row.id, row.platform)
            self._failed(row, e, permanent=False)
            return False
        return True

    def _reminders_still_true(self, row: outbox.OutboxRow, now: datetime) -> outbox.OutboxRow | None:
        """A reminder message as it is true now (it may be sent late: after a restart, or when
        the platform was down): without the reminders of incidents closed or waiting for 销号
        since, and without "还有 N 分钟" to a deadline that has passed (the sweep says what
        is due now). None, and marked as not to be sent, when nothing of it is left."""
        lines = row.payload["lines"]
        states = store.incident_states(self.db, sorted({int(line[0]) for line in lines}))
        kept = [
            line
            for line in lines
            if line[3]  # what was done (an auto-escalation) is said in any case
            or (
                states.get(int(line[0])) not in (None, State.CLOSED, State.PENDING_SIGNOFF)
                and (not line[2] or now < (from_iso(line[2]) or now))
            )
        ]
        if len(kept) == len(lines):
            return row
        dropped = [f"#{line[0]}" for line in lines if line not in kept]
        if not kept:
            log.info("reminder to %s/%s no longer true, not sent (%s)", row.platform, row.chat, "、".join(dropped))
            with write_tx(self.db):
                outbox.mark_superseded(self.db, row.id, now)
            return None
        log.info(
            "reminder to %s/%s sent without what is no longer true (%s)", row.platform, row.chat, "、".join(dropped)
        )
        text = reminders_text([(int(line[0]), line[1]) for line in kept])
        return replace(row, payload={**row.payload, "text": text, "lines": kept})

    async def _card(self, adapter: ChatPlatform, row: outbox.OutboxRow) -> None:
        inc = store.get_incident(self.db, _incident_id(row))
        msg = Outgoing(card=self.render(inc, (row.platform, row.chat)), incident_id=inc.id)
        existing = outbox.message_id_for(self.db, inc.id, row.platform, row.chat)
        if existing:
            try:
                await adapter.edit(row.chat, existing, msg)  # an edit repeated is harmless
                with write_tx(self.db):
                    outbox.mark_sent(self.db, row.id, self.clock(), existing)
                return
            except MessageGone:
                log.info("card for #%s in %s/%s was deleted; sending a new one", inc.id, row.platform, row.chat)
        self._begin([row.id])
        message_id = await adapter.send(row.chat, msg)
        with write_tx(self.db):  # the id, in the same breath
            outbox.remember_message(self.db, inc.id, row.platform, row.chat, message_id, self.clock())
            outbox.mark_sent(self.db, row.id, self.clock(), message_id)

    async def _text(self, adapter: ChatPlatform, row: outbox.OutboxRow, reply_to: str | None) -> None:
        """A notice or text, in the platform's parts: in order, each recorded as it goes, later
        parts threaded under the first (a notice's parts all under its card)."""
        parts = text_parts(adapter, row.payload.get("text", ""))
        # progress counts the text's parts, then its attachments (the image, the document): an
        # adapter that sent the text but not all of them says so (PartlySent), and only the
        # rest goes out again
        done = int(row.payload.get("parts_done") or 0)
        first = row.payload.get("first_id")
        attachments: list[tuple[str, str]] = [(k, row.payload[k]) for k in ("image", "document") if row.payload.get(k)]
        if done >= len(parts):  # the text went out before, not all that came with it: the rest
            left = dict(attachments[done - len(parts) :])
            self._begin([row.id])
            try:
                if left:
                    rest = Outgoing(
                        reply_to=reply_to or first,
                        incident_id=row.incident_id,
                        image=left.get("image"),
                        document=left.get("document"),
                    )
                    await adapter.send(row.chat, rest)
            except PartlySent as e:
                with write_tx(self.db):
                    outbox.save_progress(self.db, row.id, done + e.attachments_sent, first)
                raise
            with write_tx(self.db):
                outbox.mark_sent(self.db, row.id, self.clock(), first)
            return
        for i in range(done, len(parts)):
            last = i == len(parts) - 1
            self._begin([row.id])
            try:
                message_id = await adapter.send(
                    row.chat,
                    Outgoing(
                        text=parts[i],
                        reply_to=reply_to or (first if i else None),
                        incident_id=row.incident_id,
                        image=row.payload.get("image") if last else None,
                        document=row.payload.get("document") if last else None,
                    ),
                )
            except PartlySent as e:  # this part's text went: recorded, never sent again
                with write_tx(self.db):
                    outbox.save_progress(self.db, row.id, i + 1 + e.attachments_sent, first or e.message_id)
                raise
            first = first or message_id
            with write_tx(self.db):
                if last:
                    outbox.mark_sent(self.db, row.id, self.clock(), first)
                else:
                    outbox.save_progress(self.db, row.id, i + 1, first)

    def _failed(self, row: outbox.OutboxRow, err: Exception, *, permanent: bool, retry_after: float | None = None):
        attempts = row.attempts + 1
        with write_tx(self.db):
            if permanent or (attempts >= MAX_ATTEMPTS and not retry_after):
                outbox.mark_dead(self.db, row.id, str(err))
                if self.on_dead is not None:
                    try:
                        self.on_dead(row, str(err))
                    except Exception:  # the row is given up either way; say why it went unreported
                        log.exception("could not report undeliverable outbox row %s", row.id)
                log.error(
                    "outbox row %s to %s/%s given up after %d attempt(s): %s",
                    row.id,
                    row.platform,
                    row.chat,
                    attempts,
                    err,
                )
                return
            # the platform keeps asking to wait (not counted as attempts): still tried, and told
            stuck, queued = self.on_stuck, from_iso(row.created_at) if retry_after else None
            if stuck is not None and queued is not None and self.clock() - queued >= STUCK_AFTER:
                try:
                    stuck(row, str(err))
                except Exception:
                    log.exception("could not report outbox row %s waiting", row.id)
            delay = timedelta(seconds=retry_after) if retry_after else min(MAX_BACKOFF, timedelta(seconds=2**attempts))
            # waiting because the platform asked us to (rate limits) is not a failed attempt
            outbox.mark_retry(self.db, row.id, self.clock() + delay, str(err), count=not retry_after)
            if retry_after:
                log.info(
                    "outbox row %s to %s/%s waits %ss as the platform asks: %s",
                    row.id,
                    row.platform,
                    row.chat,
                    delay.total_seconds(),
                    err,
                )
            else:
                log.warning(
                    "outbox row %s to %s/%s failed (attempt %d), retry in %ss: %s",
                    row.id,
                    row.platform,
                    row.chat,
                    attempts,
                    delay.total_seconds(),
                    err,
                )
