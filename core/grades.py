"""Grades I–IV: one table of names, colours (words, emoji and hex, the palette of charts,
cards and documents)."""

from __future__ import annotations

from enum import Enum

__all__ = ["Grade"]


class Grade(str, Enum):
    I = "I"  # noqa: E741  (the grade's own name)
    II = "II"
    III = "III"
    IV = "IV"

    @property
    def rank(self) -> int:
        """1 is the most severe."""
        return _ORDER.index(self) + 1

    @property
    def label(self) -> str:
        return _LABELS[self][0]

    @property
    def colour(self) -> str:
        return _LABELS[self][1]

    @property
    def emoji(self) -> str:
        return _LABELS[self][2]

    @property
    def hex(self) -> str:
        """The colour for charts and documents, "#d62728"."""
        return _LABELS[self][3]

    @property
    def caption(self) -> str:
        """ "I 特别重大" (charts, the ledger, the casebook)."""
        return f"{self.value} {self.label}"

    @property
    def badge(self) -> str:
        """ "🔴 I 特别重大"."""
        return f"{self.emoji} {self.value} {self.label}"

    def at_least(self, other: Grade) -> bool:
        """True when self is as severe as other or more."""
        return self.rank <= other.rank

    @classmethod
    def parse(cls, text: str) -> Grade:
        """Accept I/II/III/IV, 1–4, Ⅰ–Ⅳ, or the Chinese name or colour.

        :raises ValueError: for anything else.
        """
        t = str(text).strip().upper()
        aliases = {"1": "I", "2": "II", "3": "III", "4": "IV", "Ⅰ": "I", "Ⅱ": "II", "Ⅲ": "III", "Ⅳ": "IV"}
        t = aliases.get(t, t)
        for g in cls:
            if t in (g.value, g.label, g.colour, g.colour + "色"):
                return g
        raise ValueError(f"unknown grade {text!r}")


_ORDER = [Grade.I, Grade.II, Grade.III, Grade.IV]
_LABELS = {
    Grade.I: ("特别重大", "红", "🔴", "#d62728"),
    Grade.II: ("重大", "橙", "🟠", "#ff7f0e"),
    Grade.III: ("较大", "黄", "🟡", "#e6c229"),
    Grade.IV: ("一般", "蓝", "🔵", "#1f77b4"),
}
