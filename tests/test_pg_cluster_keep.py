"""tests/pg_cluster.Cluster(keep=…): the benchmarks' kept PostgreSQL cluster is made once,
found again by the next run with its data, and removed only when asked."""

from __future__ import annotations

import pytest

from tests.pg_cluster import Cluster, unavailable_reason

pytestmark = pytest.mark.postgres


def test_a_kept_cluster_keeps_its_data_between_runs(tmp_path):
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"PostgreSQL unavailable: {reason}")
    import psycopg

    keep = tmp_path / "pg-kept"
    first = Cluster(keep=keep)
    assert not first.exists()
    first.start()
    try:
        assert first._admin is not None
        first._admin.execute("CREATE DATABASE kept")
        with psycopg.connect(first.url("kept"), autocommit=True) as c:
            c.execute("CREATE TABLE t (x INT)")
            c.execute("INSERT INTO t VALUES (42)")
    finally:
        first.stop()
    assert keep.exists() and first.exists()  # stopped, not removed

    again = Cluster(keep=keep)
    assert again.dir == first.dir and again.exists()
    again.start()
    try:
        with psycopg.connect(again.url("kept"), autocommit=True) as c:
            assert c.execute("SELECT x FROM t").fetchone() == (42,)
    finally:
        again.remove()
    assert not again.dir.exists()
