"""The one table of button codes: what a card's button sends back to the bot.

Callback data is small (Telegram: 64 bytes), so a button carries a one-letter code and the
incident number, e.g. ``c:12`` (认领 #12). Two more codes serve the close choices on
platforms that can swap a card's buttons: ``d:12:3`` (close #12 with the fourth
disposition) and ``b:12`` (back to the card's own buttons). Adapters write and read the
data with these functions; what a press turns into is decided in `handlers.buttons`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.lifecycle import Action
from core.models import Disposition

__all__ = ["ACTION_CODE", "BACK", "CHOOSE", "CODES", "DISPOSITIONS", "Press", "back_data", "button_data", "choice_data"]

# code -> action; a card's buttons use these
CODES: dict[str, Action] = {
    "c": Action.CLAIM,
    "u": Action.UNCLAIM,
    "n": Action.NOTE,
    "e": Action.ESCALATE,
    "x": Action.CLOSE,
    "r": Action.REOPEN,
    "a": Action.READ,  # 已阅 (a leader's private card)
    "i": Action.INSTRUCT,  # 批示 (a leader's private card): asks for the text
}
ACTION_CODE: dict[Action, str] = {a: c for c, a in CODES.items()}
CHOOSE = "d"  # a close choice: d:<incident>:<index into DISPOSITIONS>
BACK = "b"  # back from the close choices to the card's buttons: b:<incident>
DISPOSITIONS: tuple[Disposition, ...] = tuple(Disposition)  # the order the choices' indexes refer to


_NUMBER = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class Press:
    """A decoded button: its code, the incident, and the choice's index (close choices only)."""

    code: str
    incident_id: int
    arg: int | None = None

    @property
    def action(self) -> Action | None:
        """The lifecycle action of a card button; None for a close choice or 'back'."""
        return CODES.get(self.code)

    @classmethod
    def decode(cls, data: str | None) -> Press | None:
        """'d:12:3' -> Press('d', 12, 3); None for anything malformed or unknown."""
        parts = (data or "").split(":")
        # the numbers are ours: ASCII digits, at most 9 (as incident numbers in commands); a
        # forged 10**30 would overflow the database's integers, 5,000 digits int() itself
        if len(parts) not in (2, 3) or not _NUMBER.fullmatch(parts[1]):
            return None
        if parts[0] not in CODES and parts[0] not in (CHOOSE, BACK):
            return None
        arg = int(parts[2]) if len(parts) == 3 and _NUMBER.fullmatch(parts[2]) else None
        return cls(parts[0], int(parts[1]), arg)


def button_data(action: Action, incident_id: int) -> str:
    """The data a card's button sends: 'c:12'. An action without a code (assign, judge …) is
    sent as a note button, which only explains what to type."""
    return f"{ACTION_CODE.get(action, 'n')}:{incident_id}"


def choice_data(incident_id: int, index: int) -> str:
    """The data of one close choice: 'd:12:3' (index into `DISPOSITIONS`)."""
    return f"{CHOOSE}:{incident_id}:{index}"


def back_data(incident_id: int) -> str:
    """The data of the 'back to the card' button: 'b:12'."""
    return f"{BACK}:{incident_id}"
