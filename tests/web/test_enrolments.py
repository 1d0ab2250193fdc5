"""Enrolling candidates and setting extra time, by admins and by leaders for their own organisation."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from accredit.delivery import service
from accredit.errors import Conflict
from accredit.models import AuditEvent
from accredit.models.delivery import Enrolment
from accredit.timefmt import UK

NO_WINDOW = {f"{name}-{part}": "" for name in ("opens", "closes")
             for part in ("day", "month", "year", "hour", "minute")}  # fmt: skip


def moment(name, day="", month="", year="", hour="", minute=""):
    values = {"day": day, "month": month, "year": year, "hour": hour, "minute": minute}
    return {f"{name}-{part}": value for part, value in values.items()}


def terms(**fields):
    """A change form's fields: no window and no extra time unless given."""
    return {**NO_WINDOW, "extra_kind": "none", "extra_amount": "",
            "reason": "", **fields}  # fmt: skip


def page_text(response):
    stripped = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(stripped))


def error_summary(response):
    """The error summary's links, as (text, href) pairs."""
    body = response.get_data(as_text=True)
    summary = body[body.index("govuk-error-summary__list") :]
    summary = summary[: summary.index("</ul>")]
    return [
        (html.unescape(text.strip()), href)
        for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', summary)
    ]


def flashed(response):
    match = re.search(r"govuk-notification-banner__heading\">\s*([^<]+)", response.get_data(True))
    return html.unescape(match.group(1).strip()) if match else None


def instant(recorded):
    """A time as the audit trail records it."""
    return datetime.fromisoformat(recorded)


def events(db, action="enrolment.adjusted"):
    return list(
        db.session.scalars(select(AuditEvent).filter_by(action=action).order_by(AuditEvent.seq))
    )


def test_leader_enrols_their_own_candidate_with_extra_time(
    db, client, auth, make_user, make_org, catalogue
):
    home = make_org()
    leader = make_user("leader", organisation=home)
    ours = make_user("candidate", organisation=home, name="Ours Person")
    make_user("candidate", name="Theirs Person")
    auth.login(leader.email)
    page = client.get("/enrolments/new").get_data(as_text=True)
    assert "Ours Person" in page
    assert "Theirs Person" not in page
    response = client.post(
        "/enrolments/new",
        data=terms(candidate=str(ours.id), assessment="mini-test", extra_kind="percent",
                   extra_amount="25", reason="Dyslexia: assessed need"),
    )  # fmt: skip
    assert response.status_code == 302
    enrolment = db.session.scalar(select(Enrolment))
    assert (enrolment.candidate_id, enrolment.extra_time_percent) == (ours.id, 25)
    event = db.session.scalar(select(AuditEvent).filter_by(action="enrolment.adjusted"))
    assert event.actor_id == leader.id
    assert event.details["reason"] == "Dyslexia: assessed need"


def test_extra_time_without_a_reason_is_refused(db, client, auth, make_user, catalogue):
    admin = make_user("admin")
    person = make_user("candidate")
    auth.login(admin.email)
    response = client.post(
        "/enrolments/new",
        data=terms(candidate=str(person.id), assessment="mini-test", extra_kind="minutes",
                   extra_amount="15"),
    )  # fmt: skip
    assert response.status_code == 200
    assert "Give the reason for the extra time" in response.get_data(as_text=True)
    assert db.session.scalar(select(Enrolment)) is None, "nothing half-saved"


def test_leader_cannot_reach_another_organisations_enrolment(db, client, auth, make_user, enrol):
    leader = make_user("leader")
    stranger = make_user("candidate")
    enrolment = enrol(stranger)
    auth.login(leader.email)
    assert client.get(f"/enrolments/{enrolment.id}").status_code == 404
    forged = client.post(
        "/enrolments/new", data=terms(candidate=str(stranger.id), assessment="mini-test")
    )
    assert forged.status_code == 200, "a candidate outside the list is not a valid choice"
    assert ("Select a candidate from the list", "#candidate") in error_summary(forged)
    assert "is already enrolled" not in page_text(forged), "says nothing of a stranger"


def test_window_times_are_uk_local_in_govuk_date_inputs(db, client, auth, make_user, enrol):
    admin = make_user("admin")
    person = make_user("candidate")
    enrolment = enrol(person)
    auth.login(admin.email)
    form = client.get(f"/enrolments/{enrolment.id}").get_data(as_text=True)
    for part in ("day", "month", "year", "hour", "minute"):
        assert f'name="opens-{part}"' in form
        assert f'id="closes-{part}"' in form
    assert "govuk-date-input" in form
    response = client.post(
        f"/enrolments/{enrolment.id}",
        data=terms(**moment("opens", "1", "7", "2027", "09", "00"),
                   **moment("closes", "31", "07", "2027", "17", "00")),
    )  # fmt: skip
    assert response.status_code == 302
    db.session.refresh(enrolment)
    assert enrolment.opens_at.isoformat() == "2027-07-01T08:00:00+00:00", "BST is UTC+1"
    assert enrolment.closes_at.isoformat() == "2027-07-31T16:00:00+00:00"
    again = client.get(f"/enrolments/{enrolment.id}").get_data(as_text=True)
    assert re.search(r'id="opens-hour" name="opens-hour" type="text" value="09"', again)
    assert re.search(r'id="closes-day" name="closes-day" type="text" value="31"', again)


@pytest.mark.parametrize(
    ("parts", "message", "wrong"),
    [
        (("1", "", "2027", "09", "00"), "Window opens must include a month", ["month"]),
        (("", "", "2027", "", ""), "Window opens must include a day, a month and a time",
         ["day", "month", "hour", "minute"]),
        (("1", "7", "2027", "9", ""), "Window opens must include a minute", ["minute"]),
        (("30", "2", "2027", "09", "00"), "Window opens must be a real date",
         ["day", "month", "year"]),
        (("1", "July", "2027", "09", "00"), "Window opens must be a real date",
         ["day", "month", "year"]),
        (("1", "7", "27", "09", "00"), "Window opens must include a year with 4 numbers, like 2027",
         ["year"]),
        (("1", "7", "2027", "25", "00"),
         "Window opens must be a real time on the 24-hour clock, like 09 30", ["hour", "minute"]),
        (("1", "7", "2027", "9" * 5000, "00"),
         "Window opens must be a real time on the 24-hour clock, like 09 30", ["hour", "minute"]),
    ],
)  # fmt: skip
def test_a_wrong_date_gets_a_govuk_message_on_the_wrong_parts(
    db, client, auth, make_user, enrol, parts, message, wrong
):
    admin = make_user("admin")
    enrolment = enrol(make_user("candidate"))
    auth.login(admin.email)
    response = client.post(f"/enrolments/{enrolment.id}", data=terms(**moment("opens", *parts)))
    assert response.status_code == 200
    assert error_summary(response) == [(message, f"#opens-{wrong[0]}")]
    body = response.get_data(as_text=True)
    assert '<p id="opens-error" class="govuk-error-message">' in body
    marked = re.findall(r'govuk-input--error" id="opens-(\w+)"', body)
    assert marked == wrong, "only the wrong parts are highlighted"
    assert "Error: " in body[: body.index("</title>")]
    db.session.refresh(enrolment)
    assert enrolment.opens_at is None


def test_a_window_must_close_after_it_opens(db, client, auth, make_user, enrol):
    admin = make_user("admin")
    enrolment = enrol(make_user("candidate"))
    auth.login(admin.email)
    response = client.post(
        f"/enrolments/{enrolment.id}",
        data=terms(**moment("opens", "2", "7", "2027", "09", "00"),
                   **moment("closes", "1", "7", "2027", "09", "00")),
    )  # fmt: skip
    assert error_summary(response) == [
        ("Window closes must be after the window opens", "#closes-day")
    ]


def test_minutes_chosen_without_an_amount_is_an_error(db, client, auth, make_user, catalogue):
    admin = make_user("admin")
    person = make_user("candidate")
    auth.login(admin.email)
    for amount, message in [
        ("", "Enter the number of minutes of extra time"),
        ("  ", "Enter the number of minutes of extra time"),
        ("ten", "The number of minutes of extra time must be a whole number, like 15"),
        ("0", "The number of minutes of extra time must be between 1 and 600"),
        ("601", "The number of minutes of extra time must be between 1 and 600"),
        ("9" * 5000, "The number of minutes of extra time must be between 1 and 600"),
    ]:
        wrong = client.post(
            "/enrolments/new",
            data=terms(candidate=str(person.id), assessment="mini-test", extra_kind="minutes",
                       extra_amount=amount, reason="Assessed need"),
        )  # fmt: skip
        assert wrong.status_code == 200
        assert error_summary(wrong) == [(message, "#extra_amount")], amount
    percent = client.post(
        "/enrolments/new",
        data=terms(candidate=str(person.id), assessment="mini-test", extra_kind="percent",
                   extra_amount="301", reason="Assessed need"),
    )  # fmt: skip
    assert error_summary(percent) == [
        ("The percentage of extra time must be between 1 and 300", "#extra_amount")
    ]
    assert db.session.scalar(select(Enrolment)) is None


def test_an_amount_without_a_kind_of_extra_time_is_ignored(db, client, auth, make_user, enrol):
    admin = make_user("admin")
    enrolment = enrol(make_user("candidate"), minutes=15, percent=None, reason="Need")
    auth.login(admin.email)
    page = client.get(f"/enrolments/{enrolment.id}").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="extra_amount"[^>]*value="15"', page)
    cleared = client.post(f"/enrolments/{enrolment.id}", data=terms(extra_amount="15"))
    assert cleared.status_code == 302
    db.session.refresh(enrolment)
    assert (enrolment.extra_time_minutes, enrolment.adjustment_reason) == (None, None)
    assert events(db)[-1].details["changed"]["extra_time"] == {
        "before": "15 minutes' extra time", "after": "none"
    }  # fmt: skip


def test_every_error_is_shown_at_once_in_page_order(db, client, auth, make_user, catalogue):
    admin = make_user("admin")
    auth.login(admin.email)
    response = client.post(
        "/enrolments/new",
        data=terms(candidate="999999", assessment="no-such-test", extra_kind="minutes",
                   **moment("opens", "1", "", "2027", "09", "00"),
                   **moment("closes", "31", "2", "2027", "09", "00"),
                   reason="\x00"),
    )  # fmt: skip
    assert response.status_code == 200
    assert error_summary(response) == [
        ("Select a candidate from the list", "#candidate"),
        ("Select an assessment from the list", "#assessment"),
        ("Window opens must include a month", "#opens-month"),
        ("Window closes must be a real date", "#closes-day"),
        ("Enter the number of minutes of extra time", "#extra_amount"),
        ("The reason must only include letters, numbers and punctuation", "#reason"),
    ]
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 0


def test_enrolling_again_shows_the_enrolment_and_changes_nothing(
    db, client, auth, make_user, enrol
):
    admin = make_user("admin")
    person = make_user("candidate", name="Sam Adjusted")
    enrolment = enrol(person, percent=25, minutes=None, reason="Dyslexia: assessed need")
    service.set_adjustment(
        enrolment, percent=25, minutes=None, reason="Dyslexia: assessed need", actor=None,
        window=(datetime(2027, 7, 1, 8, tzinfo=UTC), datetime(2027, 7, 31, 16, tzinfo=UTC)),
    )  # fmt: skip
    db.session.commit()
    auth.login(admin.email)
    audited = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = client.post(
        "/enrolments/new",
        data=terms(candidate=str(person.id), assessment="mini-test"),  # no window, no extra time
    )
    assert response.status_code == 200
    text = page_text(response)
    assert error_summary(response) == [
        ("Sam Adjusted is already enrolled on Assessment mini-test. Change their enrolment "
         "instead", "#assessment")
    ]  # fmt: skip
    assert "Nothing has been saved" in text
    assert "25% of the time limit" in text
    assert "Dyslexia: assessed need" in text
    assert "Opens 1 July 2027 at 09:00" in text
    assert f'href="/enrolments/{enrolment.id}"' in response.get_data(as_text=True)
    db.session.refresh(enrolment)
    assert (enrolment.extra_time_percent, enrolment.adjustment_reason) == (
        25, "Dyslexia: assessed need"
    )  # fmt: skip
    assert enrolment.opens_at is not None
    assert enrolment.closes_at is not None
    after = db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert after == audited, "nothing recorded"


def test_a_change_is_audited_before_and_after(db, client, auth, make_user, enrol):
    admin = make_user("admin")
    enrolment = enrol(make_user("candidate"), percent=25, minutes=None, reason="Dyslexia")
    auth.login(admin.email)
    response = client.post(
        f"/enrolments/{enrolment.id}",
        data=terms(extra_kind="minutes", extra_amount="20", reason="Dyslexia and ADHD",
                   **moment("closes", "31", "7", "2027", "17", "00")),
    )  # fmt: skip
    assert response.status_code == 302
    event = events(db)[-1]
    assert event.actor_id == admin.id
    assert (event.details["before"], event.details["after"]) == (
        "25% extra time", "20 minutes' extra time"
    )  # fmt: skip
    changed = event.details["changed"]
    assert changed["reason"] == {"before": "Dyslexia", "after": "Dyslexia and ADHD"}
    assert changed["closes_at"]["before"] is None
    assert instant(changed["closes_at"]["after"]) == datetime(2027, 7, 31, 16, tzinfo=UTC)
    assert "opens_at" not in changed, "only what changed"
    saving_again = client.post(
        f"/enrolments/{enrolment.id}",
        data=terms(extra_kind="minutes", extra_amount="20", reason="Dyslexia and ADHD",
                   **moment("closes", "31", "7", "2027", "17", "00")),
    )  # fmt: skip
    assert saving_again.status_code == 302
    assert len(events(db)) == 2, "saving the same terms records no change"


def test_the_message_says_a_deadline_moved_only_when_one_did(db, client, auth, make_user, enrol):
    admin = make_user("admin")
    person = make_user("candidate")
    enrolment = enrol(person)
    auth.login(admin.email)
    url = f"/enrolments/{enrolment.id}"
    no_attempt = client.post(
        url, data=terms(extra_kind="percent", extra_amount="25", reason="Need")
    )
    assert flashed(client.get(no_attempt.headers["Location"])) == "The enrolment has been saved."
    attempt, _created = service.start_attempt(person, "mini-test")
    db.session.commit()
    moved = client.post(url, data=terms(extra_kind="percent", extra_amount="50", reason="Need"))
    db.session.refresh(attempt)
    ends = attempt.deadline_at.astimezone(UK).strftime("%H:%M on %-d %B %Y")
    assert flashed(client.get(moved.headers["Location"])) == (
        f"The enrolment has been saved. The open attempt's deadline has moved to {ends}."
    )
    reason_only = client.post(
        url, data=terms(extra_kind="percent", extra_amount="50", reason="Assessed need")
    )
    assert flashed(client.get(reason_only.headers["Location"])) == "The enrolment has been saved."
    assert events(db)[-1].details["changed"] == {
        "reason": {"before": "Need", "after": "Assessed need"}
    }


class TestTheService:
    """The rules themselves, without HTTP."""

    def test_enrol_refuses_an_existing_enrolment_and_leaves_it_alone(self, db, make_user, enrol):
        person = make_user("candidate")
        enrolment = enrol(person, minutes=15, percent=None, reason="Dyslexia")
        with pytest.raises(Conflict, match="already enrolled on mini-test"):
            service.enrol(person, "mini-test", actor=None)
        db.session.rollback()
        db.session.refresh(enrolment)
        assert (enrolment.extra_time_minutes, enrolment.adjustment_reason) == (15, "Dyslexia")
        assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 1

    def test_check_adjustment_refuses_a_window_that_closes_before_it_opens(self, app):
        opens = datetime(2027, 7, 2, tzinfo=UTC)
        with pytest.raises(service.InvalidEnrolment, match="close after it opens"):
            service.check_adjustment(None, None, None, opens_at=opens, closes_at=opens)
        assert service.check_adjustment(5, None, " Need ", opens_at=opens) == "Need"

    def test_set_adjustment_returns_the_attempt_only_when_its_deadline_moved(
        self, db, make_user, enrol
    ):
        person = make_user("candidate")
        enrolment = enrol(person)
        assert (
            service.set_adjustment(enrolment, percent=10, minutes=None, reason="N", actor=None)
            is None
        ), "no open attempt, so no deadline moved"
        attempt, _created = service.start_attempt(person, "mini-test")
        db.session.commit()
        before = attempt.deadline_at
        moved = service.set_adjustment(enrolment, percent=50, minutes=None, reason="N", actor=None)
        assert moved is attempt
        assert moved.deadline_at - before == timedelta(minutes=4), "10% -> 50% of 10 minutes"
        same = service.set_adjustment(enrolment, percent=50, minutes=None, reason="M", actor=None)
        assert same is None, "a new reason moves no deadline"
        far = datetime(2099, 1, 1, tzinfo=UTC)
        assert (
            service.set_adjustment(
                enrolment, percent=50, minutes=None, reason="M", actor=None, window=(None, far)
            )
            is None
        ), "a far-off closing time caps nothing"
        assert enrolment.closes_at == far
        soon = attempt.started_at + timedelta(minutes=5)
        capped = service.set_adjustment(
            enrolment, percent=50, minutes=None, reason="M", actor=None, window=(None, soon)
        )
        assert capped is attempt
        assert capped.deadline_at == soon

    def test_set_adjustment_records_each_change_before_and_after(self, db, make_user, enrol):
        enrolment = enrol(make_user("candidate"))
        opens = datetime(2027, 7, 1, 8, tzinfo=UTC)
        service.set_adjustment(
            enrolment, percent=None, minutes=30, reason="Need", actor=None, window=(opens, None)
        )
        db.session.commit()
        details = events(db)[-1].details
        assert (details["before"], details["after"]) == ("none", "30 minutes' extra time")
        assert details["changed"]["reason"] == {"before": None, "after": "Need"}
        assert instant(details["changed"]["opens_at"]["after"]) == opens
        assert details["attempt"] is None
        count = len(events(db))
        assert (
            service.set_adjustment(enrolment, percent=None, minutes=30, reason=" Need ", actor=None)
            is None
        )
        db.session.commit()
        assert len(events(db)) == count, "nothing changed, nothing recorded"
        assert enrolment.opens_at == opens, "no window given keeps the window"

    def test_the_enrol_command_never_erases_an_adjustment(self, db, runner, make_user, enrol):
        person = make_user("candidate")
        enrolment = enrol(person, percent=25, minutes=None, reason="Dyslexia")
        again = runner.invoke(args=["enrol", person.email, "mini-test"])
        assert again.exit_code == 0, again.output
        assert "already enrolled" in again.output
        assert "nothing changed" in again.output
        db.session.refresh(enrolment)
        assert (enrolment.extra_time_percent, enrolment.adjustment_reason) == (25, "Dyslexia")
        window = runner.invoke(args=["enrol", person.email, "mini-test",
                                     "--closes", "2027-07-31 17:00"])  # fmt: skip
        assert window.exit_code == 0, window.output
        db.session.refresh(enrolment)
        assert enrolment.extra_time_percent == 25, "only the window changed"
        assert enrolment.closes_at.isoformat() == "2027-07-31T16:00:00+00:00"
        more = runner.invoke(args=["enrol", person.email, "mini-test", "--extra-minutes", "20"])
        assert more.exit_code == 0, more.output
        db.session.refresh(enrolment)
        assert (enrolment.extra_time_percent, enrolment.extra_time_minutes) == (None, 20)
        assert enrolment.adjustment_reason == "Dyslexia", "the reason stands unless replaced"
        assert enrolment.closes_at is not None
