"""The forms API: public reading, designers' drafts and publication, and bad input."""

from __future__ import annotations

import json
import uuid

import pytest
import yaml
from sqlalchemy import func, select

from storage.models import FormVersion
from tests.conftest import sample_definition

YAML = {"Content-Type": "application/yaml"}


def count_versions(app) -> int:
    with app.extensions["tokhai"].sessions() as session:
        return session.scalar(select(func.count()).select_from(FormVersion))


def new_id() -> str:
    return f"mau-thu-{uuid.uuid4().hex[:8]}"


def test_catalogue_is_published_and_public(client) -> None:
    resp = client.get("/api/v1/forms")
    assert resp.status_code == 200
    forms = {f["id"]: f for f in resp.get_json()}
    assert len(forms) >= 10
    ket_hon = forms["to-khai-dang-ky-ket-hon"]
    assert ket_hon["latest_published_version"] == 1
    assert ket_hon["versions"][0]["status"] == "published"
    assert ket_hon["versions"][0]["procedure_code"] == "1.000894"
    # a version a newer file replaced stays published (forms/catalogue/earlier/): dossiers
    # filed on it name it; the newest is the one offered
    guardianship = forms["to-khai-dang-ky-giam-ho"]
    assert guardianship["latest_published_version"] == 2
    assert sorted(v["version"] for v in guardianship["versions"]
                  if v["status"] == "published") == [1, 2]


def test_schema_ui_schema_and_report_are_public(client) -> None:
    base = "/api/v1/forms/to-khai-dang-ky-khai-sinh/versions/1"
    schema = client.get(f"{base}/schema")
    assert schema.status_code == 200
    assert schema.get_json()["$id"] == "urn:tokhai:form:to-khai-dang-ky-khai-sinh:v1"
    assert client.get(f"{base}/ui-schema").get_json()["ui:order"][0] == "nguoi_yeu_cau"
    report = client.get(f"{base}/trimming-report").get_json()
    assert report["meets_target"] is True
    assert report["counts"]["typed"] + report["counts"]["prefilled"] == (
        report["counts"]["on_eform"])
    assert {f["status"] for f in report["fields"]} == {"typed", "verified", "suggested"}


def test_etag_answers_304(client) -> None:
    url = "/api/v1/forms/to-khai-dang-ky-ket-hon/versions/1/schema"
    first = client.get(url)
    etag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    ui = client.get("/api/v1/forms/to-khai-dang-ky-ket-hon/versions/1/ui-schema")
    assert ui.headers["ETag"] != etag
    assert client.get(ui.request.path, headers={"If-None-Match": ui.headers["ETag"]}
                      ).status_code == 304


def test_draft07_rendition(client) -> None:
    url = "/api/v1/forms/to-khai-dang-ky-ket-hon/versions/1/schema"
    d07 = client.get(url, query_string={"draft": "07"})
    assert d07.get_json()["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert d07.headers["ETag"] != client.get(url).headers["ETag"]
    bad = client.get(url, query_string={"draft": "04"})
    assert bad.status_code == 422 and bad.get_json()["field"] == "query.draft"


def test_designer_creates_edits_and_publishes(client, designer) -> None:
    form_id = new_id()
    created = client.post("/api/v1/forms", data=sample_definition(form_id),
                          headers={**designer, **YAML})
    assert created.status_code == 201, created.get_json()
    assert created.headers["Location"] == f"/api/v1/forms/{form_id}/versions/1"
    assert created.get_json()["status"] == "draft"
    # drafts are not public
    assert client.get(f"/api/v1/forms/{form_id}/versions/1").status_code == 404
    assert client.get(f"/api/v1/forms/{form_id}/versions/1/schema").status_code == 404
    assert client.get(f"/api/v1/forms/{form_id}/versions/1",
                      headers=designer).status_code == 200
    # edit the draft (as JSON this time)
    data = yaml.safe_load(sample_definition(form_id))
    data["title"] = "Tờ khai thử nghiệm (sửa)"
    edited = client.put(f"/api/v1/forms/{form_id}/versions/1", data=json.dumps(data),
                        headers={**designer, "Content-Type": "application/json"})
    assert edited.status_code == 200 and edited.get_json()["title"] == data["title"]
    schema_etag = client.get(f"/api/v1/forms/{form_id}/versions/1/schema",
                             headers=designer).headers["ETag"]
    published = client.post(f"/api/v1/forms/{form_id}/versions/1/publish", headers=designer)
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    public = client.get(f"/api/v1/forms/{form_id}/versions/1/schema")
    assert public.status_code == 200 and public.get_json()["title"] == data["title"]
    assert public.headers["ETag"] == schema_etag


def test_published_versions_are_frozen_and_kept(client, designer, app) -> None:
    form_id = new_id()
    assert client.post("/api/v1/forms", data=sample_definition(form_id),
                       headers={**designer, **YAML}).status_code == 201
    assert client.post(f"/api/v1/forms/{form_id}/versions/1/publish",
                       headers=designer).status_code == 200
    before = client.get(f"/api/v1/forms/{form_id}/versions/1").get_json()
    stored = count_versions(app)

    twice = client.post(f"/api/v1/forms/{form_id}/versions/1/publish", headers=designer)
    assert (twice.status_code, twice.get_json()["code"]) == (409, "already_published")
    edit = client.put(f"/api/v1/forms/{form_id}/versions/1", data=sample_definition(form_id),
                      headers={**designer, **YAML})
    assert (edit.status_code, edit.get_json()["code"]) == (409, "version_published")
    duplicate = client.post("/api/v1/forms", data=sample_definition(form_id),
                            headers={**designer, **YAML})
    assert (duplicate.status_code, duplicate.get_json()["code"]) == (409, "version_exists")
    assert count_versions(app) == stored

    v2 = client.post("/api/v1/forms", data=sample_definition(form_id, version=2),
                     headers={**designer, **YAML})
    assert v2.status_code == 201
    client.post(f"/api/v1/forms/{form_id}/versions/2/publish", headers=designer)
    form = client.get(f"/api/v1/forms/{form_id}").get_json()
    assert [v["version"] for v in form["versions"]] == [1, 2]
    assert form["latest_published_version"] == 2
    assert client.get(f"/api/v1/forms/{form_id}/versions/1").get_json() == before


def test_roles(client, designer, officer, citizen) -> None:
    body = sample_definition(new_id())
    missing = client.post("/api/v1/forms", data=body, headers=YAML)
    assert missing.status_code == 401 and missing.get_json()["code"] == "unauthenticated"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    bad = client.post("/api/v1/forms", data=body,
                      headers={**YAML, "Authorization": "Bearer tk_not-a-token"})
    assert bad.status_code == 401
    basic = client.post("/api/v1/forms", data=body,
                        headers={**YAML, "Authorization": "Basic YWRtaW46YWRtaW4="})
    assert basic.status_code == 401
    for other in (officer, citizen):
        resp = client.post("/api/v1/forms", data=body, headers={**YAML, **other})
        assert resp.status_code == 403 and resp.get_json()["code"] == "forbidden"
        assert client.post("/api/v1/forms/to-khai-dang-ky-ket-hon/versions/1/publish",
                           headers=other).status_code == 403
    # a bad token is refused even on a public endpoint, never treated as anonymous
    assert client.get("/api/v1/forms", headers={"Authorization": "Bearer tk_x"}).status_code \
        == 401


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("id: [unclosed", "application/yaml", 400, "malformed"),
        ('{"id": ', "application/json", 400, "malformed"),
        ("[1, 2]", "application/json", 400, "not_a_mapping"),
        ("id: x", "text/plain", 415, "unsupported_media_type"),
        ("x" * (10 * 1024 * 1024), "application/yaml", 413, "too_large"),
    ],
)
def test_unreadable_bodies(client, designer, app, body, content_type, status, code) -> None:
    stored = count_versions(app)
    resp = client.post("/api/v1/forms", data=body,
                       headers={**designer, "Content-Type": content_type})
    assert resp.status_code == status
    payload = resp.get_json()
    assert payload["code"] == code and payload["message"] and payload["message_en"]
    assert count_versions(app) == stored


def test_definition_over_the_definition_limit_but_under_the_request_limit(
        client, designer, app) -> None:
    stored = count_versions(app)
    body = sample_definition(new_id()) + "\n# " + "x" * (600 * 1024) + "\n"
    resp = client.post("/api/v1/forms", data=body, headers={**designer, **YAML})
    assert resp.status_code == 413 and resp.get_json()["code"] == "too_large"
    assert count_versions(app) == stored


def test_wrong_definitions_list_every_problem(client, designer, app) -> None:
    data = yaml.safe_load(sample_definition(new_id()))
    data["sections"][0]["fields"][0]["id"] = "Họ-tên"
    data["sections"][0]["fields"][1]["type"] = "ngay"
    deep: dict = {"id": "la", "type": "text", "label": "Lá"}
    for i in range(6):
        deep = {"id": f"nhom_{i}", "type": "group", "label": "Nhóm", "fields": [deep]}
    data["sections"][1]["fields"].append(deep)
    stored = count_versions(app)
    resp = client.post("/api/v1/forms", data=json.dumps(data),
                       headers={**designer, "Content-Type": "application/json"})
    assert resp.status_code == 422
    payload = resp.get_json()
    assert payload["code"] == "definition_invalid"
    found = {(e["path"], e["code"]) for e in payload["errors"]}
    assert ("sections[0].fields[0].id", "bad_id") in found
    assert ("sections[0].fields[1].type", "unknown_type") in found
    assert any(code == "too_deep" for _, code in found)
    assert all("Traceback" not in e["message"] for e in payload["errors"])
    assert count_versions(app) == stored


def test_update_must_match_the_url_and_exist(client, designer) -> None:
    form_id = new_id()
    client.post("/api/v1/forms", data=sample_definition(form_id), headers={**designer, **YAML})
    other = client.put(f"/api/v1/forms/{form_id}/versions/1",
                       data=sample_definition(form_id, version=3),
                       headers={**designer, **YAML})
    assert other.status_code == 422 and other.get_json()["code"] == "id_mismatch"
    unknown = client.put("/api/v1/forms/khong-co/versions/1", data=sample_definition("khong-co"),
                         headers={**designer, **YAML})
    assert unknown.status_code == 404


def test_unknown_forms_are_404_in_the_error_shape(client) -> None:
    for url in ("/api/v1/forms/khong-co", "/api/v1/forms/khong-co/versions/1",
                "/api/v1/forms/khong-co/versions/1/schema",
                "/api/v1/forms/khong-co/versions/1/trimming-report", "/api/v1/khong-co"):
        resp = client.get(url)
        assert resp.status_code == 404, url
        assert set(resp.get_json()) == {"code", "message", "message_en", "field", "errors",
                                        "request_id"}


def test_huge_numbers_in_paths_are_not_found(client) -> None:
    for url in ("/api/v1/forms/to-khai-dang-ky-ket-hon/versions/844272288279232249856",
                "/api/v1/forms/to-khai-dang-ky-ket-hon/versions/0/schema",
                "/api/v1/forms/to-khai-dang-ky-ket-hon/versions/99999999999/trimming-report"):
        assert client.get(url).status_code == 404, url
