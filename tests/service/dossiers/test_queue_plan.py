"""The officers' default queue (an agency's open dossiers by deadline) reads the partial index
ix_dossiers_open_queue in order: without it, PostgreSQL sorts every open dossier of the agency
on each page (49 ms for one agency's 21,600 open dossiers of a million, bench/office_pages.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import event

from service.dossiers import queries
from storage import db
from storage.models import OPEN_STATES_SQL
from tests.conftest import BACKENDS


def test_the_index_predicate_names_the_open_states() -> None:
    """The index's predicate is written out in storage (which never imports service): it
    names exactly the queue's open states, or the planner cannot use it."""
    named = tuple(re.findall(r"'([a-z_]+)'", OPEN_STATES_SQL))
    assert named == queries.OPEN


@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgresql"],
                         indirect=True)
def test_the_default_queue_reads_the_open_queue_index_in_order(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
                many: bool) -> None:
        if "ORDER BY" in statement and "dossiers.due_at" in statement:
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    with db.session_factory(engine)() as session:
        queries.office_queue(session, "UBND-XA-00004", 1, 20, counts={})
    event.remove(engine, "before_cursor_execute", capture)
    assert len(seen) == 1
    statement, params = seen[0]
    with engine.connect() as conn:
        # an empty table: forbid the sort and the sequential scan so that the plan shows
        # which index can give the order at all
        conn.exec_driver_sql("SET enable_sort = off")
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))
    engine.dispose()
    assert "ix_dossiers_open_queue" in plan, plan
    assert "Sort" not in plan, plan


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_the_procedures_filter_follows_publication(database_url: str) -> None:
    """The queue's list of procedures is kept between pages, and read again once a version is
    published (published versions never change, so their number and newest id tell)."""
    from service import catalogue

    engine = db.make_engine(database_url)
    db.upgrade(engine)
    with db.session_factory(engine)() as session:
        assert queries.procedures(session) == []
        catalogue.load_catalogue(session)
        session.commit()
        listed = queries.procedures(session)
        assert ("1.001193", "Đăng ký khai sinh") in [(c, n[:17]) for c, n in listed]
        assert queries.procedures(session) == listed
    engine.dispose()


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_a_filtered_total_is_counted_up_to_the_cap(database_url: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A filtered queue's total is a bounded count: past COUNT_CAP it says "more than"."""
    from datetime import UTC, datetime, timedelta

    from storage.models import Dossier

    engine = db.make_engine(database_url)
    db.upgrade(engine)
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    at = datetime(2026, 11, 30, 9, tzinfo=UTC)
    with db.session_factory(engine)() as session:
        for n in range(5):
            session.add(Dossier(
                code=f"A-261130-{n}", agency_code="A", form_id="f", form_version=1,
                procedure_code="p", citizen_id="001085012345", data={}, status="submitted",
                receipt_secret_hash="0" * 64, processing_days=5, submitted_at=at,
                accept_deadline=at, due_at=at + timedelta(hours=n)))
        session.commit()
        five = queries.office_queue(session, "A", 1, 20, procedure="p")
        assert (len(five.rows), five.total, five.capped) == (5, 3, True)
        none = queries.office_queue(session, "A", 1, 20, procedure="q")
        assert (none.total, none.capped) == (0, False)
        assert not five.partial  # a procedure filter orders every match
    engine.dispose()


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_a_name_matching_too_many_orders_only_the_cap(database_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A name matching more than COUNT_CAP dossiers (a family name alone) orders only
    NAME_ORDERED of them by deadline, says so (``partial``), and still shows only matches of
    the agency."""
    from datetime import UTC, datetime, timedelta

    from service.dossiers import names
    from storage.models import Dossier

    engine = db.make_engine(database_url)
    db.upgrade(engine)
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    monkeypatch.setattr(queries, "NAME_ORDERED", 2)
    at = datetime(2026, 11, 30, 9, tzinfo=UTC)
    with db.session_factory(engine)() as session:
        for n, (agency, name) in enumerate([("A", "Trần Thị Bình")] * 5
                                           + [("A", "Lê Văn Tám"), ("B", "Trần Thị Bình")]):
            session.add(Dossier(
                code=f"{agency}-261130-{n}", agency_code=agency, form_id="f", form_version=1,
                procedure_code="p", citizen_id="001085012345", data={}, status="submitted",
                receipt_secret_hash="0" * 64, processing_days=5, submitted_at=at,
                accept_deadline=at, due_at=at + timedelta(hours=n), citizen_name=name,
                citizen_name_key=names.name_key(name)))
        session.commit()
        many = queries.office_queue(session, "A", 1, 20, states=None, search="tran")
        assert (many.total, many.capped, many.partial) == (3, True, True)
        assert len(many.rows) == 2 and all(d.agency_code == "A" for d in many.rows)
        due = [d.due_at for d in many.rows if d.due_at is not None]
        assert len(due) == 2 and due == sorted(due)
        few = queries.office_queue(session, "A", 1, 20, states=None, search="le van")
        assert (len(few.rows), few.capped, few.partial) == (1, False, False)
    engine.dispose()
