"""Authorisation, proven by walking every route rather than a hand-picked list."""

from __future__ import annotations

import pytest
from werkzeug.routing import Rule

from accredit.models import Role
from accredit.policy import access_for, can_view_candidate
from tests.conftest import Auth

# Endpoints that are public on purpose. Anything else must require sign-in or a role.
PUBLIC_ENDPOINTS = {
    "static",
    "assets.static",
    "auth.login",
    "pages.index",
    "pages.accessibility",
    "pages.health",
    "api.openapi",
}


def concrete_url(app, rule: Rule) -> str:
    """Fill every URL variable with a harmless value: access is checked before any lookup."""
    values = {}
    for name in rule.arguments:
        converter = type(rule._converters[name]).__name__
        values[name] = 1 if converter in {"IntegerConverter", "NumberConverter"} else "x"
    if rule.endpoint.endswith("static"):
        values["filename"] = "nothing.css"
    adapter = app.url_map.bind("localhost")
    return adapter.build(rule.endpoint, values, force_external=False)


def routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_endpoint_declares_its_access(app):
    undeclared = [
        rule.endpoint for rule in app.url_map.iter_rules() if access_for(app, rule.endpoint) is None
    ]
    assert undeclared == [], f"endpoints with no declared access: {undeclared}"


def test_public_endpoints_are_exactly_the_listed_ones(app):
    public = {
        rule.endpoint for rule in app.url_map.iter_rules() if access_for(app, rule.endpoint).public
    }
    assert public == PUBLIC_ENDPOINTS


def test_signed_out_visitor_is_sent_to_sign_in_everywhere_not_public(app, client):
    for rule, method in routes(app):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = concrete_url(app, rule)
        response = client.open(url, method=method)
        if url.startswith("/api/"):
            assert response.status_code == 401, (method, url)
        else:
            assert response.status_code == 302, (method, url)
            assert response.headers["Location"].startswith("/login"), (method, url)


@pytest.mark.parametrize("role", [role.value for role in Role])
def test_each_role_is_refused_everywhere_it_does_not_belong(app, make_user, role):
    user = make_user(role)
    client = app.test_client()
    Auth(client).login(user.email)
    checked = 0
    for rule, method in routes(app):
        access = access_for(app, rule.endpoint)
        url = concrete_url(app, rule)
        if access.token:
            # The export API takes a bearer token only: a signed-in session is not a sign-in there.
            response = client.open(url, method=method)
            assert response.status_code == 401, f"{role}'s session reached {method} {url}"
            continue
        if access.admits(user):
            if method == "GET" and rule.endpoint not in {"static", "assets.static"}:
                assert client.get(url).status_code != 403, url
            continue
        response = client.open(url, method=method)
        assert response.status_code == 403, f"{role} reached {method} {url}"
        checked += 1
    if role == "admin":
        assert checked == 0, "an administrator reaches everything"
    else:
        assert checked > 0


def test_candidate_gets_403_from_leader_assessor_and_admin_pages(app, client, auth, make_user):
    user = make_user("candidate")
    auth.login(user.email)
    for url in ("/leader/", "/assessor/", "/admin/", "/admin/users", "/regulator/"):
        assert client.get(url).status_code == 403, url


def test_leader_sees_only_their_own_organisations_candidates(client, auth, make_user, make_org):
    home, other = make_org(name="Home council"), make_org(name="Other council")
    leader = make_user("leader", organisation=home)
    ours = make_user("candidate", organisation=home, name="Ours Person")
    theirs = make_user("candidate", organisation=other, name="Theirs Person")
    auth.login(leader.email)
    page = client.get("/leader/teams").get_data(as_text=True)
    assert "Ours Person" in page
    assert "Theirs Person" not in page
    assert "Theirs Person" not in client.get("/leader/").get_data(as_text=True)
    assert client.get(f"/leader/candidates/{ours.id}").status_code == 200
    assert client.get(f"/leader/candidates/{theirs.id}").status_code == 404
    assert client.post(f"/leader/candidates/{theirs.id}/open").status_code == 404


def test_object_rules(make_user, make_org):
    home, other = make_org(), make_org()
    leader = make_user("leader", organisation=home)
    admin = make_user("admin")
    ours = make_user("candidate", organisation=home)
    theirs = make_user("candidate", organisation=other)
    assert can_view_candidate(leader, ours)
    assert not can_view_candidate(leader, theirs)
    assert can_view_candidate(ours, ours)
    assert not can_view_candidate(ours, theirs)
    assert can_view_candidate(admin, theirs)
