"""A small month is rated on one DuckDB thread, and the connection's setting is as it was
afterwards, also when the rating fails (``rating.rate.threads_for_size``)."""

import pytest
from rating_helpers import line, rated_store, write_parameters

from billing_lib.errors import ParameterError
from billing_lib.rating import rate
from billing_lib.rating.rate import threads_for_size

PLANS = """
plans:
  - id: p
    rules:
      - {id: all, kind: markup, percent: 10}
assignments:
  - {plan: p, group: smb}
"""


def threads(con) -> int:
    return con.execute("SELECT current_setting('threads')").fetchall()[0][0]


@pytest.fixture
def store(tmp_path):
    con, pricing, customers = rated_store(write_parameters(tmp_path, PLANS), [line(), line()])
    con.execute("SET threads = 2")
    yield con, pricing, customers
    con.close()


def test_a_small_month_runs_on_one_thread_then_the_setting_is_restored(store):
    con = store[0]
    with threads_for_size(con):
        assert threads(con) == 1
    assert threads(con) == 2


def test_a_month_above_the_limit_keeps_the_setting(store, monkeypatch):
    con = store[0]
    monkeypatch.setattr(rate, "ONE_THREAD_LINES", 1)
    with threads_for_size(con):
        assert threads(con) == 2


def test_a_failed_rating_restores_the_setting(store):
    con, pricing, customers = store
    with pytest.raises(ParameterError, match="month"):
        rate.rate_lines(con, pricing, customers, "2026-13")
    assert threads(con) == 2
