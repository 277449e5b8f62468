"""Verification over HTTP of an issued result that someone extended with validation data or
an archive timestamp: valid, matching the original, the additions listed; tokhai's record of
the issued bytes (service.results.issuance.original_finder) is the proof of existence."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from service.pki import validation as verification
from service.results import issuance
from tests.service.pki.test_validation import _page_content, _revision, ltaupdate, ltvfix
from tests.service.results.test_results import clerk, codes, in_processing, issue, upload

__all__ = ["clerk"]  # the fixture, imported for the tests below


def test_an_extended_result_is_the_original_with_its_additions(client, app, father, clerk,
                                                                test_pki) -> None:
    code, etag = in_processing(client, app, father, clerk)
    assert issue(client, clerk, code, etag).status_code == 201
    issued = client.get(f"/api/v1/dossiers/{code}/result", headers=father).data
    for extended, kinds, level in (
            (ltvfix(issued, test_pki), ["validation_data"], "B-LT"),
            (ltaupdate(issued, test_pki), ["document_timestamp", "validation_data"], "B-LTA")):
        report = upload(client, extended).get_json()
        assert report["valid"] and report["matches_original"] is True, report["problems"]
        assert report["issued_by_tokhai"] and report["problems"] == []
        assert [a["kind"] for a in report["additions"]] == kinds
        (sig,) = report["signatures"]
        assert sig["level"] == level and sig["readable"] and sig["long_term"]["ades"]
        assert sig["later_revisions"][-len(kinds):] == report["additions"]
    report = upload(client, issued).get_json()
    assert report["matches_original"] is True and report["additions"] == []
    forged = upload(client, _revision(ltaupdate(issued, test_pki), _page_content)).get_json()
    assert not forged["valid"] and forged["matches_original"] is False
    assert {"modified_after_signing", "not_the_original"} <= codes(forged)


def test_the_record_s_time_is_the_proof_of_existence(client, app, father, clerk) -> None:
    """Verified a month after issuance (the OCSP response long expired): still valid, on
    tokhai's record; pyHanko's EN 319 102-1 validation passes with it."""
    code, etag = in_processing(client, app, father, clerk)
    assert issue(client, clerk, code, etag).status_code == 201
    issued = client.get(f"/api/v1/dossiers/{code}/result", headers=father).data
    runtime = app.extensions["tokhai"]
    with runtime.sessions() as session:
        find = issuance.original_finder(session)
        original = find(None, hashlib.sha256(issued).hexdigest())
        assert original is not None and original.issued_at is not None
        assert abs(original.issued_at - datetime.now(UTC)) < timedelta(minutes=5)
        report = verification.verify(issued, verification.trust_of(runtime.signing),
                                     max_pages=10, original=find,
                                     at=datetime.now(UTC) + timedelta(days=30))
    assert report["valid"] and report["legally_valid"], report["problems"]
    (sig,) = report["signatures"]
    assert sig["level"] == "B-LT" and sig["revocation"] == "good"
    assert sig["long_term"] == {"basis": "issuance_record", "time": sig["long_term"]["time"],
                                "ades": "PASSED"}
