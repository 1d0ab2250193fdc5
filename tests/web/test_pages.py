"""Pages every role shares: the layout's landmarks and the accessibility statement."""

from __future__ import annotations

import re


def test_the_signed_in_bar_is_inside_the_banner_landmark(client, auth, make_user):
    user = make_user("admin", name="Ada Admin")
    auth.login(user.email)
    page = client.get("/accessibility").get_data(as_text=True)
    header = re.search(r"<header class=\"govuk-template__header\">.*?</header>", page, re.S)
    assert header is not None
    assert "Signed in as <strong>Ada Admin</strong>" in header.group()
    assert "Sign out" in header.group()
    assert page.count("Signed in as") == 1


def test_the_accessibility_statement_has_the_statutory_sections(client, app):
    response = client.get("/accessibility")
    assert response.status_code == 200
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
    for heading in [
        "How accessible this service is",
        "Feedback and contact information",
        "Reporting accessibility problems with this service",
        "Enforcement procedure",
        "Compliance status",
        "Non-accessible content",
        "Non-compliance with the accessibility regulations",
        "Disproportionate burden",
        "What we’re doing to improve accessibility",
        "Preparation of this accessibility statement",
    ]:
        assert heading in page, heading
    assert "partially compliant with the Web Content Accessibility Guidelines version 2.2" in page
    assert "Equality Advisory and Support Service" in page
    assert "This statement was prepared on 1 December 2026." in page
    assert "It was last reviewed on 1 December 2026." in page
    hours = app.config["ACCREDIT_SESSION_HOURS"]
    assert f"A sign-in ends after {hours} hours without warning" in page, "the real setting"
