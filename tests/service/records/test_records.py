"""Importing records, and the demo data."""

from __future__ import annotations

import json
import unicodedata
from datetime import date

import pytest
from sqlalchemy import select

from forms import units
from forms.records import RecordInvalid, normalise_record, parse_date
from service.records import demo
from storage.models import Record

HEADER = ("personal_id,full_name,birth_date,sex,ethnicity,nationality,"
          "permanent_residence.province,permanent_residence.commune,permanent_residence.detail,"
          "father_personal_id\n")


def run_import(app, tmp_path, name: str, content: bytes, register: str = "population"):
    path = tmp_path / name
    path.write_bytes(content)
    return app.test_cli_runner().invoke(args=["records", "import", str(path),
                                              "--register", register])


def stored(app, register: str, subject: str):
    with app.extensions["tokhai"].sessions() as session:
        row = session.scalar(select(Record).where(Record.register == register,
                                                  Record.subject == subject))
        return row.data if row else None


def test_csv_import_reports_rejects_and_is_idempotent(app, tmp_path) -> None:
    rows = (HEADER
            + "001190000101,Đỗ Thị Mai,17/05/1990,nu,01,VN,01,00004,Số 1,\n"
            + "001090000102,Bùi Văn Nam,1990-02-31,nam,01,VN,01,00004,,\n"  # no such day
            + "001190000101,Đỗ Thị Mai,17/05/1990,nu,01,VN,01,00004,,\n"  # duplicate ID
            + "12345,Ai Đó,01/01/2000,nam,01,VN,01,00004,,\n"  # bad ID
            + "001210000103,Đỗ Minh Khang,01/06/2010,nam,99,VN,01,99999,,001190000101\n"
            + "001210000104,Đỗ Gia Bảo,02/06/2012,nam,01,VN,01,00004,,001190000101\n")
    first = run_import(app, tmp_path, "dan-cu.csv", rows.encode())
    assert first.exit_code == 2  # imported with rejections
    assert "read 6, inserted 2, updated 0, unchanged 0, rejected 4" in first.stdout
    err = first.stderr
    assert "line 3: birth_date: '1990-02-31' không phải ngày có thật." in err
    assert "line 4: personal_id '001190000101' trùng với dòng 2" in err
    assert "line 5: personal_id: '12345' không phải số định danh cá nhân" in err
    assert "line 6:" in err and "ethnicity" in err and "permanent_residence" in err
    mai = stored(app, "population", "001190000101")
    assert mai == {"personal_id": "001190000101", "full_name": "Đỗ Thị Mai",
                   "birth_date": "1990-05-17", "sex": "nu", "ethnicity": "01",
                   "nationality": "VN", "permanent_residence": {
                       "province": "01", "commune": "00004", "detail": "Số 1"}}
    again = run_import(app, tmp_path, "dan-cu.csv", rows.encode())
    assert "inserted 0, updated 0, unchanged 2, rejected 4" in again.stdout
    changed = rows.replace("Đỗ Thị Mai,17/05/1990", "Đỗ Thị Mai Anh,17/05/1990", 1)
    third = run_import(app, tmp_path, "dan-cu.csv", changed.encode())
    assert "inserted 0, updated 1, unchanged 1" in third.stdout
    assert stored(app, "population", "001190000101")["full_name"] == "Đỗ Thị Mai Anh"


def test_import_refuses_a_file_it_cannot_read(app, tmp_path) -> None:
    latin = (HEADER + "001190000201,Đỗ Thị Mai,17/05/1990,nu,01,VN,01,00004,,\n").encode("utf-16")
    result = run_import(app, tmp_path, "latin.csv", latin)
    assert result.exit_code == 1 and "UTF-8" in result.output
    missing = run_import(app, tmp_path, "missing.csv", b"full_name,birth_date\nA,01/01/2000\n")
    assert missing.exit_code == 1 and "thiếu cột personal_id" in missing.output
    unknown = run_import(app, tmp_path, "unknown.csv", b"personal_id,shoe_size\n001190000202,42\n")
    assert unknown.exit_code == 1 and "shoe_size" in unknown.output
    assert stored(app, "population", "001190000201") is None
    assert stored(app, "population", "001190000202") is None


def test_jsonl_import_of_another_register(app, tmp_path) -> None:
    lines: list[dict[str, str] | str] = [
        {"personal_id": "001190000301", "number": "790000000001", "licence_class": "B",
         "issue_date": "2019-03-01", "revoked": "không"},
        "this is not json",
        {"personal_id": "001190000302", "licence_class": "Z"},
    ]
    content = "\n".join(json.dumps(x, ensure_ascii=False) if isinstance(x, dict) else x
                        for x in lines).encode()
    result = run_import(app, tmp_path, "gplx.jsonl", content, "driving_licence")
    assert "inserted 1" in result.stdout and "rejected 2" in result.stdout
    assert "line 2: không phải JSON hợp lệ" in result.stderr
    assert "line 3: licence_class" in result.stderr
    assert stored(app, "driving_licence", "001190000301") == {
        "number": "790000000001", "licence_class": "B", "issue_date": "2019-03-01",
        "revoked": False}


def test_population_links_feed_children_and_household(app, tmp_path) -> None:
    from service.records.sources import DatabaseSource

    rows = (HEADER.replace("father_personal_id\n", "father_personal_id,"
                           "household_head_personal_id\n")
            + "001080000401,Hồ Văn Tư,01/01/1980,nam,01,VN,01,00004,,,\n"
            + "001210000402,Hồ Minh Tâm,01/01/2012,nam,01,VN,01,00004,,001080000401,"
              "001080000401\n"
            + "001180000403,Lý Thị Hoa,01/01/1982,nu,01,VN,01,00004,,,001080000401\n")
    assert run_import(app, tmp_path, "ho.csv", rows.encode()).exit_code == 0
    with app.extensions["tokhai"].sessions() as session:
        record = DatabaseSource("population", lambda: session).lookup("001080000401")
    assert record is not None
    assert record.data["children_personal_ids"] == ["001210000402"]
    assert record.data["household_member_personal_ids"] == ["001180000403", "001210000402"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("17/05/1990", date(1990, 5, 17)), ("1990-05-17", date(1990, 5, 17)),
    ("1/6/2010", date(2010, 6, 1)), ("29/02/2024", date(2024, 2, 29)),
])
def test_dates_iso_or_paper(raw: str, expected: date) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["31/02/1990", "29/02/2023", "1990-13-01", "17.05.1990", ""])
def test_impossible_dates_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_date(raw)


def test_record_values_are_checked_against_the_vocabulary() -> None:
    with pytest.raises(RecordInvalid) as info:
        normalise_record("population", {"full_name": "A\x07", "sex": "male",
                                        "children_personal_ids": ["001190000101"],
                                        "shoe_size": 42})
    assert {p.field: p.code for p in info.value.problems} == {
        "full_name": "bad_value", "sex": "bad_value",
        "children_personal_ids": "derived_field", "shoe_size": "unknown_field"}


def test_demo_people_look_real() -> None:
    generated = demo.generate(40, seed=7)
    people = dict(generated.records["population"])
    assert len(people) > 80
    provinces = {u.code for u in units.provinces()}
    for pid, p in people.items():
        born = date.fromisoformat(p["birth_date"])
        assert len(pid) == 12 and pid.isdigit()
        assert pid[:3] == "0" + p["birth_registration_province"] and pid[1:3] in provinces
        century = 0 if born.year < 2000 else 2
        assert int(pid[3]) == century + (p["sex"] == "nu")
        assert pid[4:6] == f"{born.year % 100:02d}"
        assert p["full_name"] == unicodedata.normalize("NFC", p["full_name"])
        assert normalise_record("population", p, allow_derived=True) == p
        if "spouse_personal_id" in p:
            assert people[p["spouse_personal_id"]]["spouse_personal_id"] == pid
            assert people[p["spouse_personal_id"]]["sex"] != p["sex"]
        for parent in ("father_personal_id", "mother_personal_id"):
            if parent in p:
                assert date.fromisoformat(people[p[parent]]["birth_date"]) < born
        if "father_personal_id" in p and "mother_personal_id" in p:
            assert people[p["father_personal_id"]]["spouse_personal_id"] == \
                p["mother_personal_id"]
        head = people[p["household_head_personal_id"]]
        assert head["permanent_residence"] == p["permanent_residence"]
    assert any(any(ch in p["full_name"] for ch in "ăâđêôơư") for p in people.values())
    assert demo.generate(40, seed=7).records == generated.records  # reproducible
    names = {people[demo.DEMO_FATHER]["full_name"], people[demo.DEMO_DAUGHTER]["full_name"]}
    assert names == {"Nguyễn Văn An", "Lê Thị Thu Hà"}
