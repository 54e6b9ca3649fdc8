"""The WeCom callback's replay memory lives in the database: a captured, correctly signed
request replayed after a restart (a new process on the same database) is refused, and WeCom's
own retry of a message (same MsgId, new signature) runs once, across processes too."""

from __future__ import annotations

import time

from bot.platforms.wecom import MAX_SKEW, MSG_MEMORY
from storage.replay import seen_count
from tests.conftest import until
from tests.fake_wecom import FakeWeCom
from tests.test_wecom import USERS, WC, top, wc, wecom_config  # noqa: F401  (wc: the fixture)


def _state(w: WC, iid: int):
    inc = w.app.service.get(iid)
    events = w.app.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    outbox = w.app.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    return inc.state, inc.escalation_level, inc.assignee, inc.version, events, outbox


async def test_a_signed_escalation_replayed_after_a_restart_is_refused(config_dir, tmp_path):
    fake = FakeWeCom(users=[*USERS.values()])
    cfg = wecom_config(config_dir)
    first = WC(fake, cfg, tmp_path)
    await first.start()
    try:
        await until(lambda: first.pending() == 0 and len(first.cards()) >= 6)
        iid = top(first)
        await first.say("liqiang", f"认领 {iid}")
        await until(lambda: first.app.service.get(iid).assignee == "liqiang")
        captured = fake.encrypt(fake.callback_xml("LiQiang", text=f"/escalate {iid} 涉及领导干部", msg_id=515151))
        assert (await first.post(*captured)).status_code == 200
        await until(lambda: first.app.service.get(iid).escalation_level == 1)
        await first.settled()
        assert first.pending() == 0
        before = _state(first, iid)
    finally:
        await first.stop()

    second = WC(fake, cfg, tmp_path)  # a new process on the same database, within 5 minutes
    await second.start(collect=False)
    try:
        sent = len(fake.texts())
        r = await second.post(*captured)
        assert r.status_code == 409 and "replayed" in r.text
        # WeCom's retry of the same message: a fresh signature, the same MsgId
        retry = fake.encrypt(fake.callback_xml("LiQiang", text=f"/escalate {iid} 涉及领导干部", msg_id=515151))
        assert (await second.post(*retry)).status_code == 200
        await second.settled()
        assert _state(second, iid) == before
        assert second.app.service.get(iid).escalation_level == 1
        assert len(fake.texts()) == sent
        # a new, different message is still served
        await second.say("liqiang", f"备注 {iid} 重启后的备注")
        await until(lambda: f"📝 #{iid} 李强：重启后的备注" in fake.texts())
    finally:
        await second.stop()
        fake.close()


async def test_expired_rows_are_pruned_and_a_stale_replay_is_still_refused(wc):
    params, body = wc.fake.encrypt(wc.fake.callback_xml("LiQiang", text="/list", msg_id=626262))
    assert (await wc.post(params, body)).status_code == 200
    await until(lambda: seen_count(wc.app.db, "wecom:msg") >= 1)
    db = wc.app.db

    def keyed(k):
        return db.execute("SELECT COUNT(*) FROM callback_seen WHERE key LIKE ?", [f"%{k}%"]).fetchone()[0]

    assert keyed(params["msg_signature"]) == 1 and keyed("626262") == 1
    # an hour and more later: the old rows are gone as soon as the next callback comes
    later = time.time() + MSG_MEMORY + MAX_SKEW + 120
    wc.platform.wall_clock = lambda: later
    assert (await wc.post(params, body)).status_code == 403  # too old to be accepted at all
    fresh = wc.fake.encrypt(wc.fake.callback_xml("LiQiang", text="/list", msg_id=737373), timestamp=int(later))
    assert (await wc.post(*fresh)).status_code == 200
    await until(lambda: keyed("737373") == 1)
    assert keyed(params["msg_signature"]) == 0 and keyed("626262") == 0
    assert db.execute("SELECT COUNT(*) FROM callback_seen WHERE expires_at <= ?", [later]).fetchone()[0] == 0
