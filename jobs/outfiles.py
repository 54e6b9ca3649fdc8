"""Names for the files the bot generates (reports, charts, ledgers, liaison forms)."""

from __future__ import annotations

import itertools
from pathlib import Path


def fresh_path(directory: Path, stem: str, suffix: str) -> Path:
    """`directory/stem.suffix`, or `stem-2.suffix`, `stem-3.suffix` … when that is taken: a
    generated file's own name, created (empty) at once so that two commands in the same
    second never share one — an outbox row keeps the path and sends that file later.

    :raises OSError: when the folder cannot be made or written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for n in itertools.count(1):
        path = directory / f"{stem}{'' if n == 1 else f'-{n}'}{suffix}"
        try:
            with open(path, "x"):
                return path
        except FileExistsError:
            continue
    raise AssertionError("unreachable")
