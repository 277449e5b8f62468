"""No personal-data oracle (issue #10: 5, 8, and /validate's part of 16).

What a citizen types about someone the registers do not link to them is checked only where the
form marks fields ``check_typed``, as one yes/no for the whole person (an unknown number answers
like a wrong one), counted per caller and per person checked (in memory, or in Redis shared by
every worker), and written to the access log. A designer or auditor sees a person's actual
trimming figures only for demo data, or with a purpose that the access log keeps.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import insert, select

from service.cli import load_demo
from service.records import demo
from service.web import door
from storage.models import AccessLog, Record
from tests.conftest import BACKENDS, _token, citizen_headers, make_app, valid_submission

DAUGHTER = demo.DEMO_DAUGHTER
FATHER = demo.DEMO_FATHER
KET_HON = "/api/v1/forms/to-khai-dang-ky-ket-hon/versions/1"
REDIS_URL = "redis://127.0.0.1:6379/0"
#: numbers no register holds: callers of their own, and targets that do not exist
NOBODY = [f"0010990{i:05d}" for i in range(1, 60)]


def strangers(people: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """Men the registers do not link to the demo daughter."""
    home = people[DAUGHTER]["household_head_personal_id"]
    return [d for d in people.values() if d["sex"] == "nam"
            and d["household_head_personal_id"] != home][:count]


def groom(person: dict[str, Any], birth_date: str | None = None) -> dict[str, Any]:
    return {"ben_nam": {"giay_to": person["personal_id"], "ho_ten": person["full_name"],
                        "ngay_sinh": birth_date or person["birth_date"], "lan_ket_hon": 1}}


def validate(client, headers: dict[str, str], data: dict[str, Any],
             url: str = KET_HON):
    return client.post(f"{url}/validate", json={"data": data}, headers=headers)


def access_rows(app, action: str) -> list[AccessLog]:
    with app.extensions["tokhai"].sessions() as session:
        return list(session.scalars(select(AccessLog).where(AccessLog.action == action)
                                    .order_by(AccessLog.id)))


# -- one answer per person ----------------------------------------------------------------------

def test_one_answer_for_the_whole_person_never_per_field(client, app, people) -> None:
    """The review learnt a birth date in ten requests and a sex in one from per-field answers.
    Now a wrong birth date and a wrong name answer alike, and an unknown number too."""
    headers = citizen_headers(app, DAUGHTER)
    him = strangers(people, 1)[0]
    answers = {}
    for case, data in {
        "all right": groom(him),
        "birth date wrong": groom(him, "1901-01-01"),
        "name wrong": {"ben_nam": {**groom(him)["ben_nam"], "ho_ten": "Tên Khác Hẳn"}},
        "unknown number": {"ben_nam": {**groom(him)["ben_nam"], "giay_to": NOBODY[0]}},
    }.items():
        resp = validate(client, headers, data)
        assert resp.status_code == 200, resp.get_json()
        answers[case] = resp.get_json()["checks"]
    assert answers["all right"] == [{"person": "/ben_nam", "result": "match"}]
    for case in ("birth date wrong", "name wrong", "unknown number"):
        assert answers[case] == [{"person": "/ben_nam", "result": "no_match"}], case
    # typing the number and one field only would make the answer about that field: no answer
    partial = {"ben_nam": {"giay_to": him["personal_id"], "ngay_sinh": him["birth_date"]}}
    assert validate(client, headers, partial).get_json()["checks"] == []


def test_existence_of_26_numbers_cannot_be_learnt_in_one_request(
        client, app, people, designer) -> None:
    """26 numbers typed into a household table told the review which exist. A table the form
    does not mark is never checked; one it marks costs the caller one check per person, over
    their limit here, so the request is refused before any record is read."""
    caller = citizen_headers(app, NOBODY[-1])
    numbers = [p for p in people][:13] + NOBODY[1:14]
    rows = [{"so_dinh_danh": n, "ho_ten": "Nguyễn Văn A", "ngay_sinh": "1990-01-01"}
            for n in numbers]
    resp = validate(client, caller, {"thanh_vien": {"thanh_vien": rows}},
                    "/api/v1/forms/ct01-thay-doi-thong-tin-cu-tru/versions/1")
    assert resp.status_code == 200 and resp.get_json()["checks"] == []

    definition = """
id: bang-doi-chieu
version: 1
title: Bảng có đối chiếu
legal_basis: Thử nghiệm
procedure_code: local.doi-chieu
agency_level: commune
sections:
  - id: ho
    title: Hộ gia đình
    fields:
      - id: tv
        type: group
        label: Thành viên
        repeat: {max: 30}
        person: household_member
        fields:
          - {id: ho_ten, type: text, label: Tên, prefill: population.full_name, check_typed: true}
          - {id: so, type: personal_id, label: Số định danh, prefill: population.personal_id}
"""
    assert client.post("/api/v1/forms", data=definition, headers={
        **designer, "Content-Type": "application/yaml"}).status_code == 201
    assert client.post("/api/v1/forms/bang-doi-chieu/versions/1/publish",
                       headers=designer).status_code == 200
    rows = [{"so": n, "ho_ten": "Nguyễn Văn A"} for n in numbers]
    resp = validate(client, caller, {"ho": {"tv": rows}},
                    "/api/v1/forms/bang-doi-chieu/versions/1")
    assert resp.status_code == 429, resp.get_json()
    body = resp.get_json()
    assert body["code"] == "too_many_checks" and body["field"] == "/ho/tv/0/so"
    assert "checks" not in body and int(resp.headers["Retry-After"]) > 0
    refused = [r for r in access_rows(app, "person_check") if r.outcome == "rate_limited"]
    assert {r.owner_id for r in refused} == set(numbers)


def test_each_check_is_in_the_access_log(client, app, people) -> None:
    him = strangers(people, 2)[1]
    before = len(access_rows(app, "person_check"))
    resp = validate(client, citizen_headers(app, DAUGHTER), groom(him, "1902-02-02"))
    assert resp.get_json()["checks"] == [{"person": "/ben_nam", "result": "no_match"}]
    rows = access_rows(app, "person_check")[before:]
    assert [(r.actor, r.role, r.owner_id, r.outcome, r.purpose, r.reason) for r in rows] == [
        ("citizen:test citizen", "citizen", him["personal_id"], "no_match",
         "validate to-khai-dang-ky-ket-hon v1", "/ben_nam")]


def test_a_linked_person_is_not_checked(client, app, people) -> None:
    """The declarant's own block is filled from their records: nothing to check, no log."""
    before = len(access_rows(app, "person_check"))
    data = valid_submission(client, app, "to-khai-dang-ky-ket-hon", DAUGHTER)
    data.pop("ben_nam")
    assert validate(client, citizen_headers(app, DAUGHTER), data).get_json()["checks"] == []
    assert len(access_rows(app, "person_check")) == before


def test_a_check_needs_a_number_and_more_than_the_number() -> None:
    from forms.language import DefinitionError, parse_text

    head = """
id: doi-chieu-sai
version: 1
title: Sai
legal_basis: Thử nghiệm
procedure_code: local.sai
agency_level: commune
sections:
  - id: ben_kia
    title: Bên kia
    person: spouse
    fields:
"""
    cases = {
        "check_needs_prefill": "      - {id: ho_ten, type: text, label: Tên, check_typed: true}\n"
                               "      - {id: so, type: personal_id, label: Số, "
                               "prefill: population.personal_id}\n",
        "check_needs_personal_id": "      - {id: ho_ten, type: text, label: Họ tên, "
                                   "prefill: population.full_name, check_typed: true}\n",
        "check_needs_more": "      - {id: so, type: personal_id, label: Số, "
                            "prefill: population.personal_id, check_typed: true}\n",
        "not_boolean": "      - {id: ho_ten, type: text, label: Họ tên, "
                       "prefill: population.full_name, check_typed: 'yes'}\n"
                       "      - {id: so, type: personal_id, label: Số, "
                       "prefill: population.personal_id}\n",
    }
    for code, fields in cases.items():
        with pytest.raises(DefinitionError) as caught:
            parse_text(head + fields, "doi-chieu-sai.yaml")
        assert code in {p.code for p in caught.value.problems}, code


# -- rate limits ----------------------------------------------------------------------------------

def _limited_app(url: str, data_dir: Path, **overrides: object):
    application = make_app(url, data_dir, person_checks_per_person="2/hour",
                           person_checks_per_caller="3/hour", **overrides)
    with application.app_context():
        load_demo(demo.generate(30))
    return application


def _assert_limits_hold(first, second) -> None:
    """Per person: two checks of one man by anyone, the third refused (asked through the
    second application, as another worker would be). Per caller: three people, the fourth
    refused. Refusals name the field and say when to retry."""
    people = dict(demo.generate(30).records["population"])
    target, *others = strangers(people, 5)
    clients = [first.test_client(), second.test_client(), second.test_client()]
    callers = [citizen_headers(first, NOBODY[i]) for i in range(3)]
    for client, headers in zip(clients[:2], callers[:2], strict=True):
        resp = validate(client, headers, groom(target))
        assert resp.get_json()["checks"] == [{"person": "/ben_nam", "result": "match"}]
    resp = validate(clients[2], callers[2], groom(target))
    assert resp.status_code == 429
    body = resp.get_json()
    assert (body["code"], body["field"]) == ("too_many_checks", "/ben_nam/giay_to")
    assert body["message"].startswith("Người này đã được đối chiếu quá nhiều lần")
    assert body["message_en"] and 0 < int(resp.headers["Retry-After"]) <= 3600

    busy = citizen_headers(first, NOBODY[10])
    for person in others[:3]:
        assert validate(clients[0], busy, groom(person)).status_code == 200
    resp = validate(clients[1], busy, groom(others[3]))
    assert resp.status_code == 429 and resp.get_json()["field"] == "/ben_nam/giay_to"
    assert resp.get_json()["message"].startswith("Bạn đã đối chiếu quá nhiều người")
    outcomes = [r.outcome for r in access_rows(first, "person_check")]
    assert outcomes.count("match") == 5 and outcomes.count("rate_limited") == 2


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_checks_are_rate_limited_in_memory(database_url: str, tmp_path: Path) -> None:
    application = _limited_app(database_url, tmp_path)
    _assert_limits_hold(application, application)
    application.extensions["tokhai"].engine.dispose()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A prefix of this test's own in the shared Redis, its keys deleted afterwards."""
    prefix = f"tokhai-test-{uuid.uuid4().hex}"
    yield prefix
    server = redis.Redis.from_url(REDIS_URL)
    for key in server.scan_iter(match=f"*{prefix}*"):
        server.delete(key)


def test_checks_are_rate_limited_across_workers_with_redis(tmp_path: Path,
                                                           redis_prefix: str) -> None:
    """Two applications on one Redis (two workers of one installation) share the counts;
    Redis holds keyed hashes, never a personal ID number."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    settings = {"rate_limit_storage": REDIS_URL, "rate_limit_prefix": redis_prefix,
                "secret_key": "shared-installation-secret"}
    first = _limited_app(url, tmp_path, **settings)
    second = make_app(url, tmp_path, person_checks_per_person="2/hour",
                      person_checks_per_caller="3/hour", **settings)
    _assert_limits_hold(first, second)
    keys = [k.decode() for k in redis.Redis.from_url(REDIS_URL).scan_iter(
        match=f"*{redis_prefix}*")]
    numbers = [*NOBODY, *dict(demo.generate(30).records["population"])]
    assert keys and not any(n in k for k in keys for n in numbers)


def test_an_unreachable_store_gives_no_answer_not_an_error(tmp_path: Path) -> None:
    dead = make_app(f"sqlite:///{tmp_path / 'dead.db'}", tmp_path,
                    rate_limit_storage="redis://127.0.0.1:1/0")
    with dead.app_context():
        load_demo(demo.generate(30))
    people = dict(demo.generate(30).records["population"])
    resp = validate(dead.test_client(), citizen_headers(dead, DAUGHTER),
                    groom(strangers(people, 1)[0]))
    assert resp.status_code == 200
    assert resp.get_json()["checks"] == [{"person": "/ben_nam", "result": "unavailable"}]


# -- designers and auditors ---------------------------------------------------------------------

def test_lookups_of_a_person_are_demo_data_or_logged_with_a_purpose(
        client, app, people, designer) -> None:
    url = "/api/v1/forms/to-khai-dang-ky-ket-hon/versions/1/trimming-report"
    real = "001200000001"
    with app.extensions["tokhai"].sessions() as session:
        session.execute(insert(Record).values(
            register="population", subject=real, provenance="import:dan-cu.csv",
            data={"personal_id": real, "full_name": "Người Thật", "sex": "nu",
                  "birth_date": "1990-01-01"}))
        session.commit()
    auditor = {"Authorization": f"Bearer {_token(app, 'auditor')}"}
    before = len(access_rows(app, "report_lookup"))

    demo_person = client.get(url, query_string={"personal_id": FATHER}, headers=designer)
    assert demo_person.status_code == 200 and "actual" in demo_person.get_json()
    refusals = []
    for who in (real, NOBODY[0]):  # a real person and an unknown number: refused alike
        for headers in (designer, auditor):
            resp = client.get(url, query_string={"personal_id": who}, headers=headers)
            assert resp.status_code == 403, resp.get_json()
            body = resp.get_json()
            assert (body["code"], body["field"]) == ("purpose_required", "query.purpose")
            refusals.append({k: v for k, v in body.items() if k != "request_id"})
    assert all(r == refusals[0] for r in refusals)
    for bad in ("x", " " * 10, "tra cứu\x00", "y" * 81):
        resp = client.get(url, query_string={"personal_id": real, "purpose": bad},
                          headers=auditor)
        assert resp.status_code == 422 and resp.get_json()["field"] == "query.purpose", bad
    allowed = client.get(url, query_string={"personal_id": real,
                                            "purpose": "Rà soát khiếu nại số 12/2026"},
                         headers=auditor)
    assert allowed.status_code == 200 and "actual" in allowed.get_json()

    rows = [(r.role, r.owner_id, r.outcome, r.purpose)
            for r in access_rows(app, "report_lookup")[before:]]
    assert rows == [("designer", FATHER, "allowed", None),
                    ("designer", real, "refused", None), ("auditor", real, "refused", None),
                    ("designer", NOBODY[0], "refused", None),
                    ("auditor", NOBODY[0], "refused", None),
                    ("auditor", real, "allowed", "Rà soát khiếu nại số 12/2026")]


# -- NUL --------------------------------------------------------------------------------------

def test_validate_refuses_control_characters_like_a_submission(
        client, app, people, monkeypatch) -> None:
    """The door refuses NUL in every JSON body; behind it, /validate runs the same character
    check as filing a dossier, so neither calls such data valid even without the door."""
    form = "don-de-nghi-doi-cap-lai-gplx"
    headers = citizen_headers(app, FATHER)
    data = valid_submission(client, app, form)
    data["de_nghi"]["ly_do"] = "Mất\x00giấy"
    url = f"/api/v1/forms/{form}/versions/1"
    assert validate(client, headers, data, url).status_code == 422  # at the door

    monkeypatch.setattr(door, "refuse_bad_characters", lambda *_a, **_k: None)
    resp = validate(client, headers, data, url)
    assert resp.status_code == 200
    result = resp.get_json()
    assert result["valid"] is False
    assert ("/de_nghi/ly_do", "control_character") in {
        (e["field"], e["code"]) for e in result["errors"]}
    filed = client.post("/api/v1/dossiers", json={"form_id": form, "version": 1,
                                                  "agency_code": "CA-HN", "data": data},
                        headers=headers)
    assert filed.status_code == 422
    assert ("/de_nghi/ly_do", "control_character") in {
        (e["field"], e["code"]) for e in filed.get_json()["errors"]}


@pytest.mark.parametrize(("env", "said"), [
    # each gunicorn worker would count on its own: the limits would not hold
    ({"TOKHAI_PRODUCTION": "1"}, "TOKHAI_RATE_LIMIT_STORAGE is memory:// in production"),
    ({"TOKHAI_PERSON_CHECKS_PER_CALLER": "twenty"}, "couldn't parse rate limit string"),
    ({"TOKHAI_RATE_LIMIT_STORAGE": "memcache-ish://x"}, "unknown storage scheme"),
])
def test_limits_that_cannot_hold_stop_the_start_up(tmp_path, env, said) -> None:
    started = subprocess.run(
        [sys.executable, "-c", "import wsgi"], capture_output=True, text=True,
        cwd=Path(__file__).parents[2],
        env={"TOKHAI_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/t.db",
             "PATH": "/usr/bin:/bin", **env})
    assert started.returncode == 1, started.stderr
    assert "tokhai cannot start: " in started.stderr and said in started.stderr
    assert "Traceback" not in started.stderr
