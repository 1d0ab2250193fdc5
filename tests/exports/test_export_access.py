"""Who reaches exports: a regulator's token opens the export API and nothing else; regulators'
pages make exports on the worker and download them again byte for byte."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from sqlalchemy import func, select

from accredit.exports import formats, tokens
from accredit.models import AuditEvent
from accredit.models.exports import Export
from tests.conftest import Auth


@pytest.fixture
def regulator(db, make_user):
    return make_user("regulator")


@pytest.fixture
def token(db, regulator):
    _row, token = tokens.issue(regulator, "Weekly load", actor=regulator)
    db.session.commit()
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fetch(client, url, **kwargs):
    """Download and close (the file response holds the file open until closed)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


def test_a_token_asks_for_an_export_and_fetches_it(app, released, token):
    client = app.test_client()
    asked = client.post("/api/v1/exports", json={"kind": "results", "filters": {}},
                        headers=bearer(token))  # fmt: skip
    assert asked.status_code == 202, asked.get_data(as_text=True)
    job = client.get(asked.headers["Location"], headers=bearer(token)).get_json()
    assert job["state"] == "done"  # the test queue runs tasks at once
    listed = client.get("/api/v1/exports", headers=bearer(token)).get_json()["exports"]
    assert [e["id"] for e in listed] == [job["export"]["id"]]

    fetched = fetch(client, job["export"]["download"], headers=bearer(token))

    assert fetched.status_code == 200
    assert fetched.mimetype == "application/zip"
    body = fetched.get_data()
    assert hashlib.sha256(body).hexdigest() == job["export"]["sha256"]
    assert fetched.headers["X-Content-SHA256"] == job["export"]["sha256"]
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        package = json.loads(archive.read("datapackage.json"))
    assert package["accredit"]["generated_by"]["role"] == "regulator"


def test_a_token_opens_nothing_else(app, released, token):
    """Every other route answers 401 or 403 to a request that carries the token."""
    client = app.test_client()
    refused = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("exports_api.") or rule.endpoint in ("static", "assets.static"):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", "1").replace(f"<{name}>", "x")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            answered = client.open(path, method=method, headers=bearer(token))
            answered.close()
            status = answered.status_code
            refused[(method, path)] = status
    assert refused, "there are routes to try"
    let_in = {route: status for route, status in refused.items() if status not in (401, 403)}
    assert not let_in


def test_no_token_a_wrong_token_or_a_revoked_one_is_refused(app, released, token, regulator, db):
    client = app.test_client()
    assert client.get("/api/v1/exports").status_code == 401
    assert client.get("/api/v1/exports", headers=bearer("acc_" + "x" * 43)).status_code == 401
    assert client.get("/api/v1/exports", headers=bearer(token)).status_code == 200
    [row] = tokens.tokens_of(regulator)
    tokens.revoke(row.id, actor=regulator, reason="Rotated")
    db.session.commit()
    refused = client.get("/api/v1/exports", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_session_does_not_open_the_export_api(app, released, regulator):
    client = app.test_client()
    Auth(client).login(regulator.email)
    assert client.get("/api/v1/exports").status_code == 401


def test_only_regulators_and_administrators_hold_tokens(db, make_user):
    with pytest.raises(tokens.TokenRefused):
        tokens.issue(make_user("leader"), "Mine", actor=None)


def test_bad_requests_to_the_export_api_are_clear(app, released, token):
    client = app.test_client()
    cases = [
        ({"kind": "everything"}, 422),
        ({"kind": "results", "filters": {"window_from": "yesterday"}}, 422),
        ({"kind": "results", "filters": {"organisation": "NOWHERE"}}, 404),
        ({"kind": "items", "filters": {}}, 422),
        ({"kind": "results", "filters": []}, 400),
    ]
    for body, status in cases:
        answered = client.post("/api/v1/exports", json=body, headers=bearer(token))
        assert answered.status_code == status, (body, answered.get_data(as_text=True))
        assert answered.get_json()["error"]["message"]


def test_the_regulator_makes_an_export_and_downloads_it_again(app, released, regulator, db):
    client = app.test_client()
    Auth(client).login(regulator.email)
    home = client.get("/regulator/").get_data(as_text=True)
    assert "No exports have been made yet" in home

    made = client.post("/regulator/exports", data={"kind": "results", "status": "ratified"})
    assert made.status_code == 302
    ready = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "The export is ready" in ready
    export = db.session.scalar(select(Export))
    first = fetch(client, f"/regulator/exports/{export.id}/download").get_data()
    again = fetch(client, f"/regulator/exports/{export.id}/download").get_data()
    assert first == again
    assert hashlib.sha256(first).hexdigest() == export.sha256
    path = app.instance_path
    assert formats.verify(io.BytesIO(first)) == [], path
    audited = db.session.scalar(
        select(func.count()).select_from(AuditEvent).filter_by(action="export.created")
    )
    assert audited == 1
    page = client.get(f"/regulator/exports/{export.id}").get_data(as_text=True)
    assert export.sha256 in page
    history = client.get("/regulator/").get_data(as_text=True)
    assert f"{export.id}: results" in history


def test_a_bad_export_request_on_the_page_is_a_clear_error(app, released, regulator):
    client = app.test_client()
    Auth(client).login(regulator.email)
    page = client.post("/regulator/exports", data={"kind": "results", "window_from": "31/12"})
    assert page.status_code == 422
    assert "give a date as YYYY-MM-DD" in page.get_data(as_text=True)


def test_a_file_changed_on_disk_is_not_served(app, released, regulator, db):
    from accredit.exports import service as exports

    export = exports.generate("results", exports.Filters(), actor=regulator)
    db.session.commit()
    path = exports.export_dir() / export.file_name
    path.write_bytes(path.read_bytes() + b"!")
    client = app.test_client()
    Auth(client).login(regulator.email)
    assert client.get(f"/regulator/exports/{export.id}/download").status_code == 500


def test_the_regulator_makes_a_token_that_is_shown_once(app, regulator, db):
    client = app.test_client()
    Auth(client).login(regulator.email)
    made = client.post("/regulator/tokens", data={"name": "Weekly load"})
    page = made.get_data(as_text=True)
    assert made.headers["Cache-Control"] == "no-store"
    [token] = __import__("re").findall(r"acc_[A-Za-z0-9_-]{20,}", page)
    again = client.get("/regulator/tokens").get_data(as_text=True)
    assert token not in again
    assert token[:10] in again
    assert tokens.holder_of(token).id == regulator.id


def test_another_authorization_scheme_is_left_to_whatever_sent_it(app, released):
    """A proxy's Basic credentials in front of the site do not lock every page."""
    client = app.test_client()
    response = client.get("/login", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 200
