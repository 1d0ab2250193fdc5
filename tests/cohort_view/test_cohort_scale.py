"""The cohort view of 2,000 candidates with 10 released results each renders in one request
with the same, small number of queries as an organisation of five."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from accredit.extensions import db
from tests.big_cohort import build
from tests.cohort import KEY, import_cohort
from tests.conftest import Auth


def test_the_cohort_view_takes_a_fixed_number_of_queries(app, tmp_path, make_user, make_org):
    import_cohort(tmp_path)
    small, large = make_org("SML", "Small council"), make_org("LRG", "Large council")
    build(small, KEY, 5, 1)
    build(large, KEY, 2000, 10)
    counts = {}
    for organisation in (small, large):
        leader = make_user("leader", organisation=organisation)
        client = app.test_client()
        Auth(client).login(leader.email)
        statements: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)  # noqa: B023 (read once the request is over)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            page = client.get("/leader/")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert page.status_code == 200
        counts[organisation.code] = len(statements)
    html = page.get_data(as_text=True)
    assert (
        html.count('class="govuk-table__header"><a class="govuk-link" href="/leader/candidates/')
        == 2000
    )
    assert "January to March 2025" in html
    assert "April to June 2027" in html, "ten sittings a quarter apart"
    assert counts["LRG"] == counts["SML"], counts
    assert counts["LRG"] <= 20, counts
