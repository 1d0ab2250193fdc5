"""A candidate's history: accreditation and practice apart, and each column says which attempt."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import time_machine

from tests.conftest import Auth, csrf_token
from tests.sitting import answer_for

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def sit(app, candidate, key):
    """Sign in afresh, sit an assessment through the API answering everything, and submit."""
    client = app.test_client()
    Auth(client).login(candidate.email)
    token = csrf_token(client, "/candidate/")
    headers = {"X-CSRFToken": token}
    body = client.post(f"/api/v1/assessments/{key}/attempts", headers=headers).json
    for item in body["items"]:
        client.put(
            f"/api/v1/attempts/{body['id']}/responses/{item['position']}",
            json={"answer": answer_for(item), "seq": 1}, headers=headers,
        )  # fmt: skip
    submitted = client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.get_data(as_text=True)
    return client


def tables(page):
    """Each table on the page: its caption, its column headings and its rows, as plain text."""

    def plain(fragment):
        return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()

    found = []
    for table in re.findall(r"<table.*?</table>", page, flags=re.S):
        caption = plain(re.search(r"<caption.*?</caption>", table, flags=re.S).group())
        head = re.search(r"<thead.*?</thead>", table, flags=re.S).group()
        columns = [plain(cell) for cell in re.findall(r"<th[^>]*>.*?</th>", head, flags=re.S)]
        body = re.search(r"<tbody.*?</tbody>", table, flags=re.S).group()
        rows = [plain(row) for row in re.findall(r"<tr.*?</tr>", body, flags=re.S)]
        found.append((caption, columns, rows))
    return found


def test_history_separates_modes_and_heads_each_column_by_attempt_and_date(
    app, db, candidate, enrol
):
    enrol(candidate, "mini-test")
    enrol(candidate, "mini-practice")
    with time_machine.travel(T0, tick=False) as traveller:
        sit(app, candidate, "mini-test")
        traveller.shift(timedelta(hours=2))
        sit(app, candidate, "mini-practice")
        traveller.shift(timedelta(days=31))  # past the cool-off
        client = sit(app, candidate, "mini-test")
        page = client.get("/candidate/history").get_data(as_text=True)
    found = {caption: (columns, rows) for caption, columns, rows in tables(page)}

    columns, rows = found["Accreditation tests"]
    assert columns == ["Submitted", "Assessment", "Outcome", "Score"]
    assert len(rows) == 2
    assert all("Assessment mini-test" in row for row in rows)
    assert rows[0].startswith("2 November 2026 at 10:00")
    assert rows[1].startswith("3 December 2026 at 12:00")
    columns, rows = found["Practice tests"]
    assert [row.split(" at ")[0] for row in rows] == ["2 November 2026"]
    assert all("Assessment mini-practice" in row for row in rows)

    test_columns, test_rows = found["Percentage by statement and attempt : Assessment mini-test"]
    assert test_columns == [
        "Statement", "Attempt 1 2 Nov 2026, 10:00", "Attempt 2 3 Dec 2026, 12:00"
    ]  # fmt: skip
    assert [row.split(" ")[0] for row in test_rows] == ["M1:", "M2:"]
    practice_columns, _rows = found[
        "Percentage by statement and attempt : Assessment mini-practice"
    ]
    assert practice_columns == ["Statement", "Attempt 1 2 Nov 2026, 12:00"]
    assert page.count('role="img"') == 2, "one chart for each assessment"
    assert "Each statement across attempts: Assessment mini-test" in page


def test_a_leaders_view_of_the_history_nests_its_headings(app, db, candidate, enrol, make_user):
    enrol(candidate, "mini-test")
    sit(app, candidate, "mini-test")
    leader = make_user("leader", organisation=candidate.organisation)
    client = app.test_client()
    Auth(client).login(leader.email)
    page = client.get(f"/leader/candidates/{candidate.id}").get_data(as_text=True)
    assert '<h2 class="govuk-heading-m">Assessment history</h2>' in page
    assert '<h3 class="govuk-heading-m">Each statement across attempts</h3>' in page
    assert '<h4 class="govuk-heading-s">Assessment mini-test</h4>' in page
