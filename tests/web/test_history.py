"""The individual history: accreditation apart from practice, every attempt headed by its date,
each released score against its pass mark with its SEM band, and each statement across attempts."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import time_machine
from flask import render_template_string
from sqlalchemy import select

from accredit.marking import service as marking
from accredit.models import User
from accredit.models.results import Result
from accredit.results import queries
from accredit.scoring.attempt import binomial_sem
from tests.conftest import Auth, csrf_token
from tests.sitting import answer_for

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # GMT: UK time is UTC


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
    client.attempt_id = body["id"]
    return client


def plain(fragment):
    """A fragment of HTML as the words a reader meets, one space between them."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def tables(page):
    """Each table on the page: its caption, its column headings and its rows, as plain text."""
    found = []
    for table in re.findall(r"<table.*?</table>", page, flags=re.S):
        caption = plain(re.search(r"<caption.*?</caption>", table, flags=re.S).group())
        head = re.search(r"<thead.*?</thead>", table, flags=re.S).group()
        columns = [plain(cell) for cell in re.findall(r"<th[^>]*>.*?</th>", head, flags=re.S)]
        body = re.search(r"<tbody.*?</tbody>", table, flags=re.S).group()
        rows = [plain(row) for row in re.findall(r"<tr.*?</tr>", body, flags=re.S)]
        found.append((caption, columns, rows))
    return found


def headings(page, level=None):
    """The page's headings in order, as (level, plain text)."""
    found = [
        (int(tag[1]), plain(inner))
        for tag, inner in re.findall(r"<(h[1-6])[^>]*>(.*?)</\1>", page, flags=re.S)
    ]
    return [(lvl, words) for lvl, words in found if level is None or lvl == level]


def section(page, heading):
    """What follows a heading (by its plain text) up to the next heading of any level."""
    parts = re.split(r"(<h[1-6][^>]*>.*?</h[1-6]>)", page, flags=re.S)
    for index, part in enumerate(parts):
        if part.startswith("<h") and plain(part) == heading:
            return parts[index + 1]
    raise AssertionError(f"no heading {heading!r} in {headings(page)}")


def charts(page):
    """Each SVG chart: its title and description, by the title."""
    found = {}
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        assert 'role="img"' in svg
        assert "aria-labelledby" in svg
        title = plain(re.search(r"<title[^>]*>.*?</title>", svg, flags=re.S).group())
        desc = plain(re.search(r"<desc[^>]*>.*?</desc>", svg, flags=re.S).group())
        found[title] = (desc, svg)
    return found


def result_of(db, attempt_id):
    return db.session.scalar(select(Result).filter_by(attempt_id=attempt_id))


def test_accreditation_and_practice_are_apart_and_each_attempt_is_headed_by_date(
    app, db, candidate, enrol
):
    enrol(candidate, "mini-test")
    enrol(candidate, "mini-practice")
    with time_machine.travel(T0, tick=False) as traveller:
        sit(app, candidate, "mini-practice")
        traveller.shift(timedelta(days=1))
        sit(app, candidate, "mini-test")
        traveller.shift(timedelta(days=31))  # past the cool-off
        client = sit(app, candidate, "mini-test")
        page = client.get("/candidate/history").get_data(as_text=True)

    assert headings(page, 2)[:2] == [(2, "Accreditation tests"), (2, "Practice tests")], (
        "accreditation first, though the practice test was sat first"
    )
    attempts = headings(page, 3)
    assert attempts[:2] == [
        (3, "3 November 2026 , Assessment mini-test"),
        (3, "4 December 2026 , Assessment mini-test"),
    ], "one day each: no time needed"
    assert (3, "2 November 2026 , Assessment mini-practice") in attempts
    accreditation, practice = page.split('<h2 class="govuk-heading-m">Practice tests</h2>')
    assert "Assessment mini-practice" not in accreditation
    assert "Assessment mini-test" not in practice
    assert "Passed" in practice or "Not passed" in practice, "a practice result shows too"


def test_an_empty_section_says_so(app, db, candidate, enrol):
    enrol(candidate, "mini-test")
    untried = app.test_client()
    Auth(untried).login(candidate.email)
    page = untried.get("/candidate/history").get_data(as_text=True)
    assert plain(section(page, "Accreditation tests")) == "No accreditation tests finished yet."
    assert plain(section(page, "Practice tests")).startswith("No practice tests finished yet.")
    client = sit(app, candidate, "mini-test")
    page = client.get("/candidate/history").get_data(as_text=True)
    assert "No accreditation tests finished yet." not in page
    assert plain(section(page, "Practice tests")).startswith("No practice tests finished yet.")


def test_two_attempts_on_one_uk_day_show_their_times(app, db, candidate, enrol):
    enrol(candidate, "mini-test")
    enrol(candidate, "mini-practice")
    # 23:30 UTC on 30 June is 00:30 on 1 July in London: the same UK day as 09:05 UTC.
    with time_machine.travel(datetime(2026, 6, 30, 23, 30, tzinfo=UTC), tick=False) as traveller:
        sit(app, candidate, "mini-test")
        traveller.shift(timedelta(hours=9, minutes=35))
        sit(app, candidate, "mini-practice")
        traveller.shift(timedelta(days=3))
        client = sit(app, candidate, "mini-practice")
        page = client.get("/candidate/history").get_data(as_text=True)
    attempts = [words for _level, words in headings(page, 3) if "Each statement" not in words]
    assert attempts == [
        "1 July 2026 at 00:30 , Assessment mini-test",
        "1 July 2026 at 10:05 , Assessment mini-practice",
        "4 July 2026 , Assessment mini-practice",
    ]


def test_an_unreleased_result_awaits_and_shows_nothing_else(app, db, candidate, enrol):
    enrol(candidate, "mini-test")
    with time_machine.travel(T0, tick=False):
        client = sit(app, candidate, "mini-test")
        row = result_of(db, client.attempt_id)
        row.released_at = None
        db.session.commit()
        page = client.get("/candidate/history").get_data(as_text=True)
    heading = "2 November 2026 , Assessment mini-test"
    assert plain(section(page, heading)) == "Awaiting result"
    for shown in ("Score", "Pass mark", "SEM", "Passed", "Percentage by statement", "%"):
        assert shown not in plain(page.split("<main")[1]), f"{shown!r} is shown before release"
    assert "<svg" not in page
    assert f"/candidate/attempts/{client.attempt_id}/result" not in page
    assert "Each statement across attempts" not in page


def test_a_released_score_is_drawn_against_the_pass_mark_with_its_sem_band(
    app, db, candidate, enrol
):
    enrol(candidate, "mini-test")
    with time_machine.travel(T0, tick=False):
        client = sit(app, candidate, "mini-test")
        page = client.get("/candidate/history").get_data(as_text=True)
    row = result_of(db, client.attempt_id)
    sem = marking.sem_of(row)
    assert sem > 0
    low, high = max(0.0, row.raw - sem), min(row.maximum, row.raw + sem)
    pct = lambda marks: f"{100 * marks / row.maximum:.0f}%"  # noqa: E731

    words = plain(section(page, "2 November 2026 , Assessment mini-test"))
    outcome = "Passed" if row.passed else "Not passed"
    assert words.startswith(f"{outcome} Score {row.raw:g} out of {row.maximum:g} marks")
    assert f"Pass mark {round(row.cut, 1):g} marks ({row.cut_percent:.0f}%)" in words
    assert (
        f"SEM band {round(low, 1):g} to {round(high, 1):g} marks ({pct(low)} to {pct(high)}): "
        f"the score plus or minus {round(sem, 1):g} marks"
    ) in words
    desc, svg = charts(page)["Score against the pass mark: Assessment mini-test, 2 November 2026"]
    assert f"Score {round(row.raw, 2):g} out of {row.maximum:g} marks ({row.percent:.0f}%)" in desc
    assert f"Pass mark {round(row.cut, 1):g} marks ({row.cut_percent:.0f}%)" in desc
    assert f"one standard error of measurement either side of the score, runs from {pct(low)}" in (
        desc
    )
    including = "includes" if low <= row.cut <= high else "does not include"
    assert f"and {including} the pass mark" in desc
    band = re.search(r'<rect class="app-chart__bar--attempt-1" x="([\d.]+)" y="24" width="([\d.]+)"',
                     svg)  # fmt: skip
    assert float(band.group(1)) == 40 + 480 * low / row.maximum
    assert abs(float(band.group(2)) - 480 * (high - low) / row.maximum) < 1e-6
    drawn = plain(svg.split("</desc>")[1])
    assert "Pass mark" in drawn, "labelled in words, not told by colour"
    assert "Score" in drawn


def test_the_sem_is_the_one_marking_refers_on():
    recorded = Result(cut=30.0, maximum=50.0, cut_details={"sem": 3.25})
    fixed = Result(cut=30.0, maximum=50.0, cut_details={})
    assert queries.result_sem(recorded) == marking.sem_of(recorded) == 3.25
    assert queries.result_sem(fixed) == marking.sem_of(fixed) == binomial_sem(30.0, 50.0)


def test_each_statements_trend_has_a_key_and_a_column_per_attempt(app, db, candidate, enrol):
    enrol(candidate, "mini-test")
    enrol(candidate, "mini-practice")
    with time_machine.travel(T0, tick=False) as traveller:
        first = sit(app, candidate, "mini-test")
        traveller.shift(timedelta(hours=2))
        sit(app, candidate, "mini-practice")
        traveller.shift(timedelta(days=31))  # past the cool-off
        second = sit(app, candidate, "mini-test")
        page = second.get("/candidate/history").get_data(as_text=True)
    found = {caption: (columns, rows) for caption, columns, rows in tables(page)}

    columns, rows = found["Assessment mini-test: Percentage by statement and attempt"]
    assert columns == [
        "Statement", "Attempt 1 2 November 2026 at 10:00", "Attempt 2 3 December 2026",
    ], "each column is one attempt, headed by its own date"  # fmt: skip
    profiles = [
        {s["statement"]: s["percent"] for s in result_of(db, client.attempt_id).profile}
        for client in (first, second)
    ]
    assert rows == [
        f"M1: First {profiles[0]['M1']:.0f}% {profiles[1]['M1']:.0f}%",
        f"M2: Second {profiles[0]['M2']:.0f}% {profiles[1]['M2']:.0f}%",
    ]
    practice_columns, _rows = found["Assessment mini-practice: Percentage by statement and attempt"]
    assert practice_columns == ["Statement", "Attempt 1 2 November 2026 at 12:00"]

    key = plain(re.search(r'<p class="govuk-body-s" id="trend-accreditation-1-key">.*?</p>',
                          page, flags=re.S).group())  # fmt: skip
    assert key.startswith("Key: each small chart is one statement")
    assert key.endswith("attempt 1 (2 November 2026 at 10:00), attempt 2 (3 December 2026).")
    desc, svg = charts(page)["Each statement across attempts: Assessment mini-test"]
    assert f"M1: from {profiles[0]['M1']:.0f}% to {profiles[1]['M1']:.0f}%." in desc
    assert svg.count("<polyline") == 2, "a line for each statement"
    assert "Each statement across attempts: Assessment mini-practice" in charts(page)

    accreditation, practice = page.split('<h2 class="govuk-heading-m">Practice tests</h2>')
    assert "Each statement across attempts: Assessment mini-test" in accreditation
    assert "Each statement across attempts: Assessment mini-practice" in practice


def test_each_released_attempt_links_to_its_result_and_nothing_else_leaks(
    app, db, candidate, enrol
):
    enrol(candidate, "mini-test")
    enrol(candidate, "mini-practice")
    test = sit(app, candidate, "mini-test")
    practice = sit(app, candidate, "mini-practice")
    waiting = sit(app, candidate, "mini-practice")
    result_of(db, waiting.attempt_id).released_at = None
    db.session.commit()
    page = test.get("/candidate/history").get_data(as_text=True)

    links = re.findall(r'<a class="govuk-link" href="([^"]+)">See the full result', page)
    assert links == [
        f"/candidate/attempts/{test.attempt_id}/result",
        f"/candidate/attempts/{practice.attempt_id}/result",
    ]
    for link in links:
        assert test.get(link).status_code == 200
    assert "See the full result : Assessment mini-practice," in plain(page)
    # Nothing of the items: stems, options, scenarios, rationales, or the answers given.
    for leak in ("Stem of", "Option ", "VIGNETTE", "RATIONALE-OF", "section 47", "The Smith"):
        assert leak not in page


def test_a_leaders_view_nests_its_headings_and_links_only_if_given_a_builder(
    app, db, candidate, enrol, make_user
):
    enrol(candidate, "mini-test")
    taken = sit(app, candidate, "mini-test")
    leader = make_user("leader", organisation=candidate.organisation)
    client = app.test_client()
    Auth(client).login(leader.email)
    path = f"/leader/candidates/{candidate.id}"
    client.post(f"{path}/open", data={"csrf_token": csrf_token(client, path)})
    page = client.get(path).get_data(as_text=True)
    assert '<h2 class="govuk-heading-m">Assessment history</h2>' in page
    assert '<h3 class="govuk-heading-m">Accreditation tests</h3>' in page
    assert '<h3 class="govuk-heading-m">Practice tests</h3>' in page
    assert re.search(r'<h4 class="govuk-heading-s">.*?</span> Assessment mini-test</h4>', page)
    trend = "Each statement across attempts: Assessment mini-test"
    assert f'<h4 class="govuk-heading-s">{trend}</h4>' in page
    # The leader's page passes its own builder: links to the leader's view of each result.
    leader_link = f'href="/leader/candidates/{candidate.id}/results/{taken.attempt_id}">'
    assert f"{leader_link}See the full result" in page
    assert f'href="/candidate/attempts/{taken.attempt_id}/result"' not in page

    person = db.session.get(User, candidate.id)
    with app.test_request_context():
        built = render_template_string(
            '{% from "results/_history.html" import history_section %}'
            "{{ history_section(history, result_link=link, level=3) }}",
            history=queries.history(person), link=lambda attempt: f"/somewhere/{attempt.id}",
        )  # fmt: skip
    assert f'href="/somewhere/{taken.attempt_id}">See the full result' in built
