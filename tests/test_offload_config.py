"""The configuration as an argument of the reader process (jobs.offload.read_only): the same
configuration is rebuilt there once and reused by the reports that follow; a new one (another
object, other contents) replaces it."""

from __future__ import annotations

import os

from bot.config import load_config
from tests.conftest import EXAMPLE

_kept: list = []  # in the reader process: every configuration seen stays alive (its id stays its own)


def _seen(db, config) -> tuple[int, int, str]:
    """In the reader process: which process, which configuration object, and its organisation."""
    _kept.append(config)
    return os.getpid(), id(config), config.organization.name


async def test_the_reader_rebuilds_a_configuration_once(make_app):
    from jobs import offload

    h = make_app()
    cfg = h.app.config
    first = await offload.read_only(h.app.db, _seen, cfg)
    again = await offload.read_only(h.app.db, _seen, cfg)
    assert first[0] != os.getpid()  # it ran in the reader process
    assert again == first  # the same object there: not unpickled again
    other = load_config(EXAMPLE)
    other = other.model_copy(update={"organization": other.organization.model_copy(update={"name": "另一个单位"})})
    changed = await offload.read_only(h.app.db, _seen, other)
    assert changed[0] == first[0] and changed[2] == "另一个单位"
    assert (await offload.read_only(h.app.db, _seen, cfg))[2] == cfg.organization.name
