"""What a pressed button comes to. Buttons are commands in disguise (认领 = `/claim N`), so
every press that changes something goes through the same parsing, permission checks and
incident service as a typed command; the rest (a note, the close choices) is answered here.
Adapters pass the button's data on and show the `Pressed` answer."""

from __future__ import annotations

import dataclasses

from core.actions import BACK, CHOOSE, DISPOSITIONS, Press, back_data, choice_data
from core.lifecycle import Action
from core.models import Incident, Role, State
from handlers.base import UNKNOWN_BUTTON, Deps, Pressed, Request
from handlers.commands import closed_text, handle, pending_text, who_is
from handlers.permissions import allowed
from storage import incidents as store

__all__ = ["press"]

# what the pressed button is relabelled to when the press changed the incident (WeCom)
_DONE = {
    Action.CLAIM: "已认领",
    Action.UNCLAIM: "已取消认领",
    Action.ESCALATE: "已升级",
    Action.REOPEN: "已重新打开",
    Action.CLOSE: "已关闭",
}


def _close_choices(incident_id: int) -> tuple[tuple[tuple[str, str], ...], ...]:
    """The dispositions, three to a row, and a row to go back to the card's buttons."""
    choices = [(d.value, choice_data(incident_id, i)) for i, d in enumerate(DISPOSITIONS)]
    rows = [tuple(choices[i : i + 3]) for i in range(0, len(choices), 3)]
    return (*rows, (("↩ 返回", back_data(incident_id)),))


def _state(inc: Incident) -> tuple[State, str | None, int]:
    return inc.state, inc.assignee, inc.escalation_level


async def press(deps: Deps, req: Request, data: str, *, keyboards: bool = False) -> Pressed:
    """The answer to a button `data` (`core.actions`) pressed by `req`'s sender in `req`'s chat.

    With `keyboards` (Telegram) 关闭 swaps the card's buttons for the close choices — for
    those who may close — and 备注 asks for a reply to the card; otherwise both explain what
    to type. A press for an incident that does not exist is answered, never left spinning.
    """
    b = Press.decode(data)
    if b is None or (not keyboards and b.action is None):
        return UNKNOWN_BUTTON
    iid = b.incident_id
    if b.action is Action.NOTE:
        if keyboards:
            return Pressed(f"请回复此卡片并发送：/note 内容（或 /note {iid} 内容）")
        return Pressed(f"请发送「备注 {iid} 内容」添加备注。")
    if b.action is Action.INSTRUCT:  # 批示 needs its text: like 备注, say what to send
        person = who_is(deps, req)
        if not allowed("instruct", Role(person.role) if person else None):
            return Pressed("只有领导或管理员可以批示。")
        if keyboards:
            return Pressed(f"请回复此卡片并发送：/instruct 批示内容（或 /instruct {iid} 批示内容）")
        return Pressed(f"请发送「批示 {iid} 内容」作出批示。")
    if b.action is Action.CLOSE and not keyboards:
        names = "、".join(d.value for d in DISPOSITIONS)
        return Pressed(f"请发送「关闭 {iid} 处置方式 [说明]」，处置方式：{names}。")
    if b.action is Action.CLOSE or b.code == BACK:
        person = who_is(deps, req)
        if not allowed("close", Role(person.role) if person else None):
            return Pressed("你没有关闭事件的权限。")
        if b.code == BACK:
            try:
                return Pressed(alert=False, card=deps.render_card(deps.service.get(iid)))
            except LookupError:  # forged or stale callback data: no such incident
                return Pressed(f"没有编号为 #{iid} 的事件。")
        try:  # a stale card's 关闭: say so now, not after a disposition was chosen
            inc = deps.service.get(iid)
        except LookupError:
            return Pressed(f"没有编号为 #{iid} 的事件。")
        if inc.state is State.CLOSED:
            return Pressed(closed_text(inc))
        if inc.state is State.PENDING_SIGNOFF:  # closed by staff, waiting for 销号
            return Pressed(pending_text(inc))
        return Pressed(alert=False, choices=_close_choices(iid))
    if b.code == CHOOSE:
        if b.arg is None or not 0 <= b.arg < len(DISPOSITIONS):
            return Pressed("无法识别的处置方式。")
        action, text = Action.CLOSE, f"/close {iid} {DISPOSITIONS[b.arg].value}"
    elif b.action is not None:
        action, text = b.action, f"/{b.action.value} {iid}"
    else:  # not reached: `Press.decode` accepts only the codes, CHOOSE and BACK
        return UNKNOWN_BUTTON
    try:
        before = _state(deps.service.get(iid))
    except LookupError:  # storage.incidents.IncidentNotFound
        return Pressed(f"没有编号为 #{iid} 的事件。")
    reads = len(store.events_of(deps.db, iid, ("read",))) if action is Action.READ else 0
    replies = tuple(await handle(deps, dataclasses.replace(req, text=text)))
    if action is Action.READ:  # a read receipt changes no state: relabel when one was recorded
        changed = "已阅" if len(store.events_of(deps.db, iid, ("read",))) > reads else None
    else:
        changed = _DONE.get(action) if _state(deps.service.get(iid)) != before else None
    if replies:
        return Pressed(replies[0].text, replies=replies, changed=changed)
    return Pressed("✅ 已完成", alert=False, changed=changed)
