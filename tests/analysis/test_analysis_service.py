"""Item analysis from stored results: a miskeyed item is flagged, first attempts only."""

from __future__ import annotations

import json

import pytest

from accredit.analysis import service as analysis
from tests.cohort import ITEMS, KEY, MISKEYED, import_cohort, sit_cohort


@pytest.fixture
def cohort(db, tmp_path, make_user):
    import_cohort(tmp_path)
    return sit_cohort(make_user, 80)


def test_the_miskeyed_item_is_flagged_and_the_others_are_not(db, cohort):
    done = analysis.run(KEY)

    assert done.attempts == 80
    assert len(done.analysis.items) == ITEMS
    miskeyed = done.flags.for_item(MISKEYED)
    codes = {flag.code for flag in miskeyed.hard}
    assert {"possible_miskey", "negative_discrimination"} <= codes
    stats = done.analysis.item(MISKEYED)
    upper = {option.option: option.upper_rate for option in stats.options}
    assert max(upper, key=lambda option: upper[option] or 0) == "b"
    for item in done.analysis.items:
        if item.item != MISKEYED:
            assert item.point_biserial is not None
            assert item.point_biserial > 0.2, item.item
            assert not done.flags.for_item(item.item).hard, item.item


def test_the_cli_prints_the_flags_and_the_json_has_every_item(db, cohort, runner):
    text = runner.invoke(args=["analysis", "run", "--assessment", KEY])
    raw = runner.invoke(args=["analysis", "run", "--assessment", KEY, "--json"])

    assert text.exit_code == 0, text.output
    assert "80 first attempts, 12 items" in text.output
    assert f"{MISKEYED}" in text.output
    assert "possible_miskey" in text.output
    body = json.loads(raw.output)
    assert len(body["items"]) == ITEMS
    assert body["test"]["coefficient"] == "KR-20"
    assert 0 < body["test"]["reliability"] < 1


def test_re_sits_count_only_when_asked(db, tmp_path, make_user, cohort):
    from accredit.delivery import service as delivery
    from accredit.models import User
    from accredit.models.delivery import Attempt

    first = cohort[0]
    candidate = db.session.get(User, first.candidate_id)
    again, _ = delivery.start_attempt(candidate, KEY)
    delivery.submit(candidate, again)
    db.session.commit()

    assert analysis.run(KEY).attempts == 80
    assert analysis.run(KEY, first_attempts_only=False).attempts == 81
    assert db.session.get(Attempt, again.id).number == 2


def test_an_unknown_assessment_is_a_clear_error(db, runner):
    result = runner.invoke(args=["analysis", "run", "--assessment", "nope"])
    assert result.exit_code == 1
    assert "No assessment nope" in result.output


def test_release_after_moderation_waits_for_a_current_sign_off(db, tmp_path, make_user, runner):
    from accredit.analysis.service import NotSignedOff
    from accredit.marking import service as marking

    import_cohort(tmp_path, results={"release": "after_moderation"})
    sit_cohort(make_user, 12)
    lead = make_user("assessor")
    lead.lead_assessor = True
    db.session.commit()
    for fact in marking.result_facts(KEY):
        marking.moderate(fact.result.id, "ratify", reason="", score=None, actor=lead)
    db.session.commit()

    with pytest.raises(NotSignedOff, match="has not been signed off"):
        marking.release(KEY, actor=lead, reason="r")
    refused = runner.invoke(args=["results", "release", "--assessment", KEY])
    assert refused.exit_code == 1
    assert "signed off" in refused.output

    signed = analysis.sign_off(KEY, actor=lead, note="Item co-07 rekeyed")
    assert signed.attempts == 12
    assert signed.statistics["items"][0]["n"] == 12, "the statistics as they were are kept"
    sit_cohort(make_user, 1, seed=99)  # a late submission makes the sign-off stale
    for fact in marking.result_facts(KEY):
        if fact.stage in ("in_moderation", "agreed"):
            marking.moderate(fact.result.id, "ratify", reason="", score=None, actor=lead)
    with pytest.raises(NotSignedOff, match="submitted after"):
        marking.release(KEY, actor=lead, reason="r")
    analysis.sign_off(KEY, actor=lead)
    assert marking.release(KEY, actor=lead, reason="r").released == 13


def test_only_a_lead_or_an_administrator_signs_off(db, cohort, make_user):
    with pytest.raises(analysis.SignOffRefused):
        analysis.sign_off(KEY, actor=make_user("assessor"))
    assert analysis.sign_off(KEY, actor=make_user("admin")).attempts == 80


class TestConfiguredThresholds:
    @pytest.fixture
    def app_config(self):
        # A miskey is still a miskey; a facility band this strict flags every item softly.
        return {"FLAG_FACILITY_MIN": 0.99}

    def test_thresholds_come_from_the_configuration(self, db, cohort):
        done = analysis.run(KEY)

        assert done.thresholds.soft_facility_min == 0.99
        assert all(
            any(flag.code == "facility_outside_target" for flag in flags.soft) or flags.hard
            for flags in done.flags.items
        )


def test_a_threshold_that_is_not_a_proportion_stops_the_app(tmp_path):
    from accredit import create_app
    from accredit.config import ConfigError

    with pytest.raises(ConfigError, match="ACCREDIT_FLAG_ALPHA_MIN: must be from -1 to 1"):
        create_app({"ENV": "testing", "FLAG_ALPHA_MIN": 7.0,
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})  # fmt: skip


class TestTooFewCandidates:
    @pytest.fixture
    def app_config(self):
        return {"FLAG_MIN_CANDIDATES": 100}

    def test_items_seen_by_too_few_candidates_are_not_flagged(self, db, cohort, runner):
        done = analysis.run(KEY)

        assert done.too_few == {item.item for item in done.analysis.items}
        assert done.flags.flagged_items == ()
        assert done.analysis.item(MISKEYED).point_biserial < 0, "the statistics stay"
        shown = runner.invoke(args=["analysis", "run", "--assessment", KEY])
        assert "12 items seen by fewer than 100 candidates are not flagged" in shown.output


def test_pretest_items_are_analysed_but_count_in_no_test_statistic(db, tmp_path, make_user):
    """Two items ride along as pretest: they get statistics, against the operational score."""
    from accredit.models.results import Result

    operational = [f"co-{n:02d}" for n in range(ITEMS - 2)]
    pretest = [f"co-{n:02d}" for n in range(ITEMS - 2, ITEMS)]
    sections = [{"title": "All", "draws": [
        {"bank": "cohort", "fixed": operational},
        {"bank": "cohort", "fixed": pretest, "pretest": True},
    ]}]  # fmt: skip
    import_cohort(tmp_path, sections=sections)
    sit_cohort(make_user, 60)

    done = analysis.run(KEY)

    by_item = {item.item: item for item in done.analysis.items}
    assert set(by_item) == set(operational) | set(pretest)
    assert all(by_item[key].pretest for key in pretest)
    assert not any(by_item[key].pretest for key in operational)
    for key in pretest:  # statistics as for any item, against the score on the other ten
        assert by_item[key].n == 60
        assert by_item[key].point_biserial is not None
        assert by_item[key].point_biserial > 0.2
    # The test statistics are over the ten scored items: each candidate's percent is of 10.
    maxima = set(db.session.scalars(db.select(Result.maximum)))
    assert maxima == {10}
    assert done.analysis.assessment.typical_items == ITEMS - 2
    body = done.as_json()
    assert {item["item"] for item in body["items"] if item["pretest"]} == set(pretest)
