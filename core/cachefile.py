"""Derived data cached between runs in one file each (the gazetteer's index, the officials
tagger's tag table): a header naming what it is for (a magic line and a key: the versions it
was built from), the payload's SHA-256, then the payload. A reader sees the old file or the
whole new one (written to a temporary file, then renamed over it)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["cache_dir", "read_framed", "write_framed"]


def cache_dir() -> Path:
    """Where derived data is cached between runs: $YUQING_CACHE_DIR, else $XDG_CACHE_HOME/yuqing-bot
    (~/.cache/yuqing-bot)."""
    env = os.environ.get("YUQING_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "yuqing-bot"


def read_framed(path: Path, head: bytes) -> tuple[bytes | None, str]:
    """The payload of the cache file at `path` written with `head`, or None and why not:
    "missing" (no file, or an empty one), "foreign" (written for something else) or
    "damaged" (its checksum does not hold)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None, "missing"
    if not raw:
        return None, "missing"
    if not raw.startswith(head) or len(raw) < len(head) + 32:
        return None, "foreign"
    digest, payload = raw[len(head) : len(head) + 32], raw[len(head) + 32 :]
    if hashlib.sha256(payload).digest() != digest:
        return None, "damaged"
    return payload, ""


def write_framed(path: Path, head: bytes, payload: bytes) -> None:
    """Write `payload` under `head` to `path`, whole or not at all.
    :raises OSError: when the folder or the file cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(head + hashlib.sha256(payload).digest() + payload)
        os.replace(tmp, path)  # readers see the old file or the whole new one
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise
