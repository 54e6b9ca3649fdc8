"""WeCom rendering: a card as group-robot markdown (within 4,096 bytes) or as an app's
template card with buttons. Pure: every scraped string made inert, links percent-encoded."""

from __future__ import annotations

from urllib.parse import quote

from core.actions import button_data
from core.lifecycle import Action
from core.render import Card, shrink_card

__all__ = ["MARKDOWN_BYTES", "TEXT_BYTES", "card_markdown", "template_card", "utf8_bytes"]

MARKDOWN_BYTES = 4096  # robot markdown content
TEXT_BYTES = 2048  # robot and app text content


def utf8_bytes(s: str) -> int:
    """Length as WeCom counts it: UTF-8 bytes."""
    return len(s.encode("utf-8"))


def _md(text: str) -> str:
    """Scraped text made inert in WeCom markdown: no links, bold, code, tags or headings."""
    table = str.maketrans({"[": "［", "]": "］", "*": "＊", "`": "｀", "<": "＜", ">": "＞", "\n": " "})
    return (text or "").translate(table)


def _url(url: str) -> str:
    """An http(s) link made inert in markdown and HTML: spaces, brackets, quotes and angle
    brackets percent-encoded (what is already encoded stays as it is)."""
    return quote(url, safe=":/?#@!$&'*+,;=%~[]")


def _commands_hint(card: Card) -> str | None:
    if not card.buttons:
        return None
    iid = card.buttons[0].incident_id
    extra = {Action.NOTE: " 内容", Action.CLOSE: " 处置方式", Action.INSTRUCT: " 内容"}
    words = "、".join(f"「{b.label} {iid}{extra.get(b.action, '')}」" for b in card.buttons)
    return f"在「舆情哨兵」应用中发送 {words}"


def _markdown(card: Card) -> str:
    colour = "warning" if card.header.startswith(("🔴", "🟠")) else "info"
    title = f"[{_md(card.title)}]({_url(card.url)})" if card.url else f"**{_md(card.title)}**"
    lines = [f'### <font color="{colour}">{_md(card.header)}</font>', title]
    if card.excerpt:  # the matched words in bold; every piece made inert first
        pieces = "".join(f"**{_md(t)}**" if m and t.strip() else _md(t) for t, m in card.excerpt)
        lines.append(f"> **摘要**：{pieces}")
    lines += [f"> **{_md(label)}**：{_md(value)}" for label, value in card.fields]
    if card.footer:
        lines.append(f'<font color="comment">{_md(card.footer)}</font>')
    hint = _commands_hint(card)
    if hint:
        lines.append(f'<font color="comment">{_md(hint)}</font>')
    return "\n".join(lines)


def card_markdown(card: Card, limit: int = MARKDOWN_BYTES) -> str:
    """The card as robot markdown within `limit` UTF-8 bytes, every scraped string made inert."""
    return _markdown(shrink_card(card, lambda c: utf8_bytes(_markdown(c)) <= limit))


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def template_card(card: Card, task_id: str) -> dict:
    """A button_interaction template card for the app's private messages (WeCom's field limits)."""
    body = {
        "card_type": "button_interaction",
        "source": {"desc": "舆情哨兵"},
        "main_title": {"title": _cut(card.header, 26), "desc": _cut(card.footer or "", 30)},
        "sub_title_text": _cut(card.title, 112),
        "horizontal_content_list": [{"keyname": _cut(k, 5), "value": _cut(v, 26)} for k, v in card.fields[:6]],
        "task_id": task_id,
        "button_list": [
            {
                "text": _cut(b.label, 10),
                "style": 1 if b.action == Action.CLAIM else 2,
                "key": button_data(b.action, b.incident_id),
            }
            for b in card.buttons[:6]
        ],
    }
    if card.url:
        body["card_action"] = {"type": 1, "url": _url(card.url)}
    return body
