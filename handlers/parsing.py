"""Reading a typed line: the command word, whom it is addressed to, numbers.

Only what is needed to *recognise* a command is normalised (the command word, the bot's
name, digits of a number); everything else stays exactly as typed, so notes, reasons and
summaries are stored with their Chinese punctuation (，：（）) intact.

Numbers: ASCII digits and full-width digits (１２, as a Chinese input method types them)
are accepted; other characters that merely look like digits (², ①, ٣) are not numbers.

Invisible characters (zero-width space, BOM, bidi controls, word joiner …: Unicode category
Cf; blank fillers such as U+3164) are not read: they are dropped from the command word, the
arguments and the ends of the free text (`strip_format`), so '/claim\u200b 4' is /claim 4.
Inside free text (a note) they stay as typed; what shows them is made inert (`core.platform`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from core.text import is_invisible

__all__ = [
    "ARG_PUNCT",
    "ID",
    "MAX_ID",
    "MAX_ID_DIGITS",
    "NUMBER_RE",
    "Line",
    "mentions_only",
    "parse_number",
    "shorten",
    "split_args",
    "split_command",
    "strip_ends",
    "strip_format",
    "strip_format_map",
]

# At most this many digits in an incident number (or a page number): more is not a number
# we could have issued, and never reaches SQLite (whose integers stop at 2**63 - 1).
MAX_ID_DIGITS = 9
MAX_ID = 10**MAX_ID_DIGITS - 1

_DIGITS = "0-9０-９"
# an incident number as typed: an optional single # (or ＃), then digits, optionally 号 (12号,
# as Chinese names a numbered thing)
ID = rf"[#＃]?[{_DIGITS}]+号?"
NUMBER_RE = re.compile(ID)
_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")

# Sentence punctuation that may directly follow the command word or an incident number as
# a separator: '/list，' '/claim 4。' '/note 4，已核实' (a Chinese input method types these).
# Not '.', so '1.5' stays one (invalid) number.
ARG_PUNCT = "，。、；：！？,;:!?"
_P = re.escape(ARG_PUNCT)
# "/word", "/word@name", "/word rest" — the slash may be full-width, the word's letters too
_CMD = re.compile(rf"^[/／]([^\s@＠/／{_P}]+)(?:[@＠]([^\s{_P}]*))?(?:[{_P}]+\s*|\s+|$)(.*)$", re.DOTALL)
# ... but '4,5' / '4，5' (two numbers?) is not read as #4 followed by '5': that would be a guess
NEXT_NOT_NUMBER = rf"(?!{ID}(?:[\s{_P}]|$))"
_NUMBER_PUNCT = re.compile(rf"^({ID})[{_P}]+{NEXT_NOT_NUMBER}(.*)$", re.DOTALL)
_WORD = re.compile(r"[a-z_]+")


@dataclass(frozen=True)
class Line:
    name: str  # the command word, lower-case ASCII
    rest: str  # everything after it, as typed (ends stripped)
    addressee: str | None  # "/list@some_bot" -> "some_bot"


def split_command(text: str) -> Line | None:
    """'/claim@yuqing_bot 12' -> Line('claim', '12', 'yuqing_bot'); None when the line does
    not start with a Latin command word (Chinese words are matched by the caller)."""
    text = strip_ends(text)
    m = _CMD.match(text)
    if not m:
        return None
    word = strip_format(unicodedata.normalize("NFKC", m.group(1)), variants=False).lower()
    if not _WORD.fullmatch(word):
        return None
    addressee = strip_format(unicodedata.normalize("NFKC", m.group(2)), variants=False) if m.group(2) else None
    return Line(word, strip_ends(m.group(3) or ""), addressee)


_MENTION = re.compile(r"[@＠]([^\s@＠]+)")


def mentions_only(text: str) -> list[str] | None:
    """'@舆情哨兵' (WeCom puts U+2005 after it), '＠yuqing_bot ', '@a @b' -> the names
    mentioned; None when the text says anything else, or nothing."""
    tokens = strip_format(text or "", variants=False).split()
    names = [m.group(1) for m in map(_MENTION.fullmatch, tokens) if m]
    return names if tokens and len(names) == len(tokens) else None


def split_args(rest: str) -> list[str]:
    """Whitespace-separated arguments; a number followed directly by sentence punctuation is
    its own argument ('4，已核实' -> ['4', '已核实'], '4。' -> ['4'])."""
    out: list[str] = []
    for token in strip_format(rest, variants=False).split():  # (a selector after ＃ or 葛 is no part of an argument)
        m = _NUMBER_PUNCT.match(token)
        if m and not out:  # only the first argument is an incident number
            out.append(m.group(1))
            if m.group(2):
                out.append(m.group(2))
        else:
            out.append(token)
    return out


def parse_number(token: str, *, hash_allowed: bool = True) -> int | None:
    """'12', '#12', '＃１２', '12号' -> 12; None for anything else (including '##1', '²', '1.5',
    '12号号' and numbers longer than MAX_ID_DIGITS). Without `hash_allowed` (a page number)
    neither # nor 号."""
    t = token.strip()
    if hash_allowed and t[:1] in ("#", "＃"):
        t = t[1:]
    if hash_allowed and t[-1:] == "号":
        t = t[:-1]
    if not t or len(t) > MAX_ID_DIGITS or not re.fullmatch(f"[{_DIGITS}]+", t):
        return None
    return int(t.translate(_FULL_WIDTH))


def looks_numeric(token: str) -> bool:
    """A token that is meant as a number (even one too long to be valid)."""
    return bool(NUMBER_RE.fullmatch(token.strip()))


def shorten(text: str, n: int = 20) -> str:
    """A piece of someone's input, cut for quoting back in a reply."""
    return text if len(text) <= n else text[:n] + "…"


def _emoji(ch: str) -> bool:
    return unicodedata.category(ch) in ("So", "Sk") or ch in "\ufe0f\u20e3"


def _selector(ch: str) -> bool:
    return "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef"


def strip_format(text: str, *, variants: bool = True) -> str:
    """`text` without its invisible characters (format characters, category Cf: U+200B,
    U+FEFF, U+202E, U+2060 …; fillers such as U+3164), except what holds an emoji or a
    character's variant together: a zero-width joiner between two emoji (👨‍👩‍👧), the tags after
    a flag, a variation selector after a character that is not ASCII (❤️) — unless `variants`
    is False: a command word, an incident number and arguments are read without any."""
    return strip_format_map(text, variants=variants)[0]


def strip_ends(text: str) -> str:
    """`text` without whitespace and invisible characters at either end; inside, as typed."""
    kept = set(strip_format_map(text)[1])  # (❤️ keeps its variation selector)
    i, j = 0, len(text)
    while i < j and (text[i].isspace() or i not in kept):
        i += 1
    while j > i and (text[j - 1].isspace() or j - 1 not in kept):
        j -= 1
    return text[i:j]


def strip_format_map(text: str, *, variants: bool = True) -> tuple[str, list[int]]:
    """`strip_format(text)`, and for each character kept its index in `text` (to find where
    something read in the clean text starts in the text as typed)."""
    if text.isascii() or not any(is_invisible(c) for c in text):
        return text, list(range(len(text)))
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if is_invisible(ch):  # what the analyser's fold removes (core.text)
            before = out[-1] if out else ""
            after = text[i + 1] if i + 1 < len(text) else ""
            if ch == "\u200d" and before and after and _emoji(before) and _emoji(after):
                pass  # an emoji ZWJ sequence
            elif "\U000e0020" <= ch <= "\U000e007f" and before and (_emoji(before) or before >= "\U000e0020"):
                pass  # a flag's tag sequence
            elif variants and _selector(ch) and before and not before.isascii() and not before.isdigit():
                pass  # ❤️, a CJK variant (葛 + U+E0100)
            else:
                continue
        out.append(ch)
        where.append(i)
    return "".join(out), where
