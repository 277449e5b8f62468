"""Migration 0009: dossiers filed before it keep their lateness, their procedure's name, and a
supplement they wait for; their events get the procedure, channel and submission time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from service.dossiers import lateness
from storage import db
from storage.models import Dossier
from tests.conftest import BACKENDS

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 09:00 in Vietnam
H = timedelta(hours=1)


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_dossiers_filed_before_keep_their_lateness(database_url) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine, "0008")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO forms (id, created_at) VALUES ('f', :t)"), {"t": T0})
        conn.execute(text(
            "INSERT INTO form_versions (form_id, version, status, title, source, source_format, "
            "definition, digest, created_at, updated_at) VALUES ('f', 1, 'published', "
            "'Tờ khai', '', 'yaml', :d, 'x', :t, :t)"),
            {"d": '{"procedure_name": "Đăng ký khai sinh", "title": "Tờ khai"}', "t": T0})
        rows = {  # code: status, accepted, process deadline, finished
            "X-ACCEPTED-LATE": ("accepted", T0 + 30 * H, T0 + 200 * H, None),
            "X-PROCESSED-LATE": ("result_ready", T0 + 2 * H, T0 + 100 * H, T0 + 150 * H),
            "X-WAITING": ("supplement_requested", T0 + 2 * H, T0 + 100 * H, None),
            "X-ON-TIME": ("result_ready", T0 + 2 * H, T0 + 100 * H, T0 + 50 * H),
        }
        for code, (status, accepted, process_by, finished) in rows.items():
            conn.execute(text(
                "INSERT INTO dossiers (code, agency_code, form_id, form_version, "
                "procedure_code, citizen_id, data, status, row_version, receipt_secret_hash, "
                "processing_days, submitted_at, accept_deadline, accepted_at, "
                "process_deadline, finished_at, due_at, updated_at) VALUES (:c, 'A', 'f', 1, "
                "'1.001193', '001085012345', '{}', :s, 1, 'h', 5, :t, :a, :acc, :p, :f, NULL, "
                ":u)"), {"c": code, "s": status, "t": T0, "a": T0 + 24 * H, "acc": accepted,
                         "p": process_by, "f": finished, "u": T0 + 60 * H})
        for position, (code, action, source, target) in enumerate((
                ("X-WAITING", "submit", None, "submitted"),
                ("X-WAITING", "accept", "submitted", "accepted"),
                ("X-WAITING", "start_processing", "accepted", "in_processing"),
                ("X-WAITING", "request_supplement", "in_processing", "supplement_requested"),
        ), start=1):
            conn.execute(text(
                "INSERT INTO dossier_events (position, event_id, dossier_id, dossier_code, "
                "agency_code, from_status, to_status, action, actor, role, at) SELECT :p, :e, "
                "id, code, 'A', :f, :to, :a, 'officer:x', 'officer', :t FROM dossiers "
                "WHERE code = :c"), {"p": position, "e": f"e-{position}", "f": source,
                                      "to": target, "a": action, "t": T0, "c": code})
    db.upgrade(engine)
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        found = {d.code: d for d in session.query(Dossier)}
        events = session.execute(text(
            "SELECT procedure_code, procedure_name, channel, submitted_at, accept_by "
            "FROM dossier_events")).all()
    engine.dispose()
    late = found["X-ACCEPTED-LATE"]
    assert (late.late_at, late.late_stage) == (T0 + 24 * H, "acceptance")
    processed = found["X-PROCESSED-LATE"]
    assert (processed.late_at, processed.late_stage) == (T0 + 100 * H, "processing")
    assert found["X-ON-TIME"].late_at is None
    waiting = found["X-WAITING"]
    assert waiting.paused_at == T0 + 60 * H and waiting.paused_from == "in_processing"
    assert not lateness.assess(waiting, T0 + 1000 * H).late  # it waits for the citizen
    assert all(d.procedure_name == "Đăng ký khai sinh" and d.channel == "online"
               for d in found.values())
    assert len(events) == 4
    for procedure_code, procedure_name, channel, submitted_at, accept_by in events:
        assert (procedure_code, procedure_name, channel) == \
            ("1.001193", "Đăng ký khai sinh", "online")
        assert submitted_at is not None and accept_by is None
