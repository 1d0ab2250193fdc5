"""The item analysis pages: statistics and flags, an item's chart and table, a dry run that
writes nothing, a committed decision, and a CSV safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from accredit.models.results import KeyDecision, ResultRevision
from tests.cohort import KEY, MISKEYED, import_cohort, sit_cohort
from tests.conftest import Auth


@pytest.fixture
def lead_client(app, db, tmp_path, make_user):
    import_cohort(tmp_path, results={"release": "after_moderation"})
    sit_cohort(make_user, 40)
    lead = make_user("assessor")
    lead.lead_assessor = True
    db.session.commit()
    client = app.test_client()
    Auth(client).login(lead.email)
    return client


def test_the_analysis_page_leads_with_the_flagged_item(lead_client):
    page = lead_client.get(f"/assessor/analysis/{KEY}").get_data(as_text=True)
    assert "40 first attempts, 12 items" in page
    assert "Reliability (KR-20)" in page
    first_row = page.index("<tbody")
    assert page.index(MISKEYED, first_row) < page.index("co-00", first_row), "flagged first"
    assert "possible miskey" in page
    by_facility = lead_client.get(f"/assessor/analysis/{KEY}?sort=facility&order=desc")
    assert 'aria-sort="descending"' in by_facility.get_data(as_text=True)


def test_the_item_page_has_a_chart_with_a_table_beside_it(lead_client):
    page = lead_client.get(f"/assessor/analysis/{KEY}/items/{MISKEYED}").get_data(as_text=True)
    assert '<svg class="app-option-chart" role="img"' in page
    assert "Option b: " in page, "the chart describes itself in words"
    assert "The same, as a table" in page
    assert "chosen more than the key in the upper group" in page


def test_a_dry_run_writes_nothing_and_the_decision_then_rescores(lead_client, db):
    form = {"decision": "rekey", "key": "b", "reason": "The key was a distractor"}
    shown = lead_client.post(f"/assessor/analysis/{KEY}/items/{MISKEYED}/dry-run", data=form)
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert "What this decision would change" in text
    assert "pass to fail" in text
    assert db.session.scalar(select(func.count()).select_from(KeyDecision)) == 0

    done = lead_client.post(f"/assessor/analysis/{KEY}/items/{MISKEYED}/decide", data=form)
    assert done.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(KeyDecision)) == 1
    assert (
        db.session.scalar(
            select(func.count()).select_from(ResultRevision).filter_by(cause="rekeyed")
        )
        > 0
    )


def test_a_bad_decision_is_shown_on_the_item_page(lead_client):
    bad = lead_client.post(
        f"/assessor/analysis/{KEY}/items/{MISKEYED}/dry-run",
        data={"decision": "rekey", "key": "z", "reason": "x"},
    )
    assert bad.status_code == 422
    assert "one of the options" in bad.get_data(as_text=True)


def test_the_csv_keeps_numbers_as_numbers_and_neutralises_formulas(lead_client):
    response = lead_client.get(f"/assessor/analysis/{KEY}/items.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:4] == ["item", "type", "n", "facility"]
    assert len(rows) == 13
    miskeyed = next(row for row in rows if row[0] == MISKEYED)
    assert float(miskeyed[5]) < 0, "a negative point-biserial stays a number"
    assert "possible_miskey" in miskeyed[11]
    for row in rows[1:]:
        for cell in (row[0], row[1], row[11], row[12]):
            assert not cell.startswith(("=", "+", "-", "@")), cell


def test_ordinary_assessors_and_candidates_cannot_reach_it(app, db, lead_client, make_user):
    for role in ("assessor", "candidate"):
        client = app.test_client()
        Auth(client).login(make_user(role).email)
        assert client.get(f"/assessor/analysis/{KEY}").status_code == 403
