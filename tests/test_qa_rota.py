"""Outside-QA defects found driving the duty rota (值班): set, change, clear; who hears."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from core.config import Duty
from core.duty import on_duty, shifts_from

SH = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.mark.parametrize("shift", ["4d", "7d", "14d"])
def test_a_long_shift_ends_and_resumes_at_an_override_inside_it(shift):
    # a weekly rota (shift = "7d") with one day taken by someone else in the middle of the week:
    # /duty must say the shift ends at that day's handover and name the override next, and on
    # the day after, that the shift resumed at the override's end
    duty = Duty(rotation=["a", "b"], start=date(2026, 11, 23), shift=shift)
    overrides = {date(2026, 11, 25): "x"}
    now, nxt, after = shifts_from(duty, overrides, local(2026, 11, 23, 10), SH, 3)
    assert (now.person, now.end) == ("a", local(2026, 11, 25, 8, 30))
    assert (nxt.person, nxt.override, nxt.end) == ("x", True, local(2026, 11, 26, 8, 30))
    assert (after.person, after.start) == ("a", local(2026, 11, 26, 8, 30))
    later = on_duty(duty, overrides, local(2026, 11, 26, 12), SH)
    assert (later.person, later.start) == ("a", local(2026, 11, 26, 8, 30))
