"""Item and test statistics: hand-worked matrices, published examples and properties."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from accredit.analysis.psychometrics import (
    NO_CHOICE,
    Analysis,
    AnalysisError,
    CandidateSpec,
    ItemSpec,
    ItemStats,
    OptionStats,
    ResponseRow,
    Responses,
    ScoreStats,
    Thresholds,
    analyse,
    flag_items,
)

_ = None  # not on the candidate's form

# --------------------------------------------------------------------------------------------
# A small matrix with missing cells, worked by hand
# --------------------------------------------------------------------------------------------
#
# Two forms of three items drawn from a pool of four. Form X is Q1 Q2 Q3, form Y is Q1 Q2 Q4.
#
#        Q1  Q2  Q3  Q4   total  form max  percent   Q1 option
#   A     1   1   1   _     3        3      100         a
#   B     1   0   1   _     2        3       66.67      a
#   C     0   0   1   _     1        3       33.33      b
#   D     1   1   _   0     2        3       66.67      a
#   E     0   1   _   1     2        3       66.67      c
#   F     0   0   _   0     0        3        0         b
#
# Q1's key is a; b and c are distractors. Q1 and Q2 assess statement s1, Q3 and Q4 statement s2.
HAND_MARKS = [
    [1, 1, 1, _],
    [1, 0, 1, _],
    [0, 0, 1, _],
    [1, 1, _, 0],
    [0, 1, _, 1],
    [0, 0, _, 0],
]
HAND_CHOICES = {"Q1": ["a", "a", "b", "a", "c", "b"]}
HAND_FORMS = ["X", "X", "X", "Y", "Y", "Y"]


def hand_items() -> list[ItemSpec]:
    return [
        ItemSpec("Q1", options=("a", "b", "c"), keys=frozenset({"a"}), competencies=("s1",)),
        ItemSpec("Q2", competencies=("s1",)),
        ItemSpec("Q3", competencies=("s2",)),
        ItemSpec("Q4", competencies=("s2",)),
    ]


def matrix(rows: list[list[Any]]) -> np.ndarray:
    return np.array([[math.nan if v is None else v for v in row] for row in rows], dtype=float)


def hand(**options: Any) -> Responses:
    return Responses.from_matrix(
        list("ABCDEF"), hand_items(), matrix(HAND_MARKS), chosen=HAND_CHOICES, **options
    )


def test_facility_and_corrected_point_biserial_by_hand():
    stats = analyse(hand())
    q1, q2, q3, q4 = stats.items
    # Q1 was on every form: marks 1 1 0 1 0 0, so facility = 3/6 = 0.5.
    # Rest of form = (total - Q1) / (3 - 1): A 2/2, B 1/2, C 1/2, D 1/2, E 2/2, F 0/2,
    # i.e. 100 50 50 50 100 0 percent; in units of 50: 2 1 1 1 2 0, mean 7/6.
    # Deviations: item ±1/2; rest 5/6 -1/6 -1/6 -1/6 5/6 -7/6.
    # Σ(item dev × rest dev) = 1/2(5/6 - 1/6 - 1/6) - 1/2(-1/6 + 5/6 - 7/6) = 1/4 + 1/4 = 1/2
    # Σ item dev² = 6/4 = 3/2;  Σ rest dev² = (25 + 1 + 1 + 1 + 25 + 49)/36 = 17/6
    # r = (1/2) / √(3/2 × 17/6) = (1/2) / √(17/4) = 1/√17 = 0.2425
    assert q1.n == 6
    assert q1.facility == pytest.approx(0.5)
    assert q1.sd == pytest.approx(math.sqrt(1.5 / 5))  # Σ dev² / (n - 1), over the maximum 1
    assert q1.point_biserial == pytest.approx(1 / math.sqrt(17))
    # Q2: marks 1 0 0 1 1 0; rest (in 50s) 2 2 1 1 1 0. Same sums, so again 1/√17.
    assert q2.facility == pytest.approx(0.5)
    assert q2.point_biserial == pytest.approx(1 / math.sqrt(17))
    # Q3 was on form X only (A B C) and all three got it right: facility 1, no variance,
    # so the correlation is undefined.
    assert (q3.n, q3.facility, q3.sd) == (3, 1.0, 0.0)
    assert q3.point_biserial is None
    # Q4 (D E F): marks 0 1 0, rest 100 50 0. Item dev -1/3 2/3 -1/3, rest dev 50 0 -50:
    # Σ = -50/3 + 0 + 50/3 = 0, so r = 0.
    assert q4.facility == pytest.approx(1 / 3)
    assert q4.point_biserial == pytest.approx(0.0)


def test_upper_and_lower_groups_share_tied_places_by_hand():
    q1, _q2, q3, q4 = analyse(hand()).items
    # Q1: 27% of 6 = 1.62 places in each group. Sorted by rest: F (0) | B C D (50) | A E (100).
    # Lower: F takes 1 place; B C D share the other 0.62, 0.62/3 each.
    #   facility = (0×1 + (1 + 0 + 1)×0.62/3) / 1.62 = 0.41333 / 1.62 = 0.25514
    # Upper: A and E share 1.62 places, 0.81 each: facility = (1 + 0)×0.81 / 1.62 = 0.5
    # D = 0.5 - 0.25514 = 0.24486
    lower = (2 * 0.62 / 3) / 1.62
    assert q1.upper_facility == pytest.approx(0.5)
    assert q1.lower_facility == pytest.approx(lower)
    assert q1.discrimination_index == pytest.approx(0.5 - lower)
    # Discriminative efficiency (Moodle): cov(item, rest) over the covariance of the sorted
    # marks 0 0 0 1 1 1 paired with the sorted rest 0 1 1 1 2 2 (in 50s):
    #   Σ = -1/2(-7/6 - 1/6 - 1/6) + 1/2(-1/6 + 5/6 + 5/6) = 3/4 + 3/4 = 3/2, and Σ actual = 1/2
    assert q1.discriminative_efficiency == pytest.approx((1 / 2) / (3 / 2))
    # Q3 has no variance: both groups score 1, D = 0, and the largest covariance is 0.
    assert q3.discrimination_index == pytest.approx(0.0)
    assert q3.discriminative_efficiency is None
    # Q4: 0.81 places; F alone is the lower group and D alone the upper: both scored 0.
    assert q4.discrimination_index == pytest.approx(0.0)
    assert q4.discriminative_efficiency == pytest.approx(0.0)


def test_options_by_hand():
    q1 = analyse(hand()).items[0]
    a, b, c = q1.options
    assert [o.option for o in q1.options] == ["a", "b", "c"]
    assert (a.is_key, b.is_key, c.is_key) == (True, False, False)
    assert (a.count, b.count, c.count) == (3, 2, 1)
    assert (a.rate, b.rate, c.rate) == pytest.approx((1 / 2, 1 / 3, 1 / 6))
    assert q1.omitted_rate == 0
    # Upper group A (a) and E (c), 0.81 each of 1.62.
    assert (a.upper_rate, b.upper_rate, c.upper_rate) == pytest.approx((0.5, 0.0, 0.5))
    # Lower group F (b) 1 place; B (a), C (b), D (a) 0.62/3 each.
    share = 0.62 / 3
    expected = (2 * share / 1.62, (1 + share) / 1.62, 0.0)
    assert (a.lower_rate, b.lower_rate, c.lower_rate) == pytest.approx(expected)
    # Option point-biserials against rest (in 50s, deviations 5/6 -1/6 -1/6 -1/6 5/6 -7/6):
    # a is the key, so it equals the item's 1/√17.
    # b (C, F): Σ = -1/6 - 7/6 = -4/3; n_b(1 - n_b/n) = 2 × 4/6 = 4/3; Σ rest dev² = 17/6
    #   r = (-4/3) / √(4/3 × 17/6) = -4/√34
    # c (E): Σ = 5/6; 1 × 5/6; r = (5/6) / √(5/6 × 17/6) = 5/√85
    assert a.point_biserial == pytest.approx(1 / math.sqrt(17))
    assert b.point_biserial == pytest.approx(-4 / math.sqrt(34))
    assert c.point_biserial == pytest.approx(5 / math.sqrt(85))


def test_kr20_per_form_and_weighted_by_hand():
    stats = analyse(hand(forms=HAND_FORMS), min_form_size=3)
    x, y = stats.forms
    # Form X (A B C on Q1 Q2 Q3): p = 2/3, 1/3, 1; Σpq = 2/9 + 2/9 + 0 = 4/9.
    # Totals 3 2 1: variance (over n) 2/3. KR-20 = 3/2 × (1 - (4/9)/(2/3)) = 3/2 × 1/3 = 0.5
    assert (x.form, x.n, x.coefficient, x.reliability_method) == ("X", 3, "KR-20", "form")
    assert x.reliability == pytest.approx(0.5)
    # Form Y (D E F on Q1 Q2 Q4): p = 1/3, 2/3, 1/3; Σpq = 3 × 2/9 = 2/3.
    # Totals 2 2 0: mean 4/3, variance (4/9 + 4/9 + 16/9)/3 = 8/9.
    # KR-20 = 3/2 × (1 - (2/3)/(8/9)) = 3/2 × 1/4 = 0.375
    assert y.reliability == pytest.approx(0.375)
    # The assessment: the forms' KR-20 weighted by candidates, (3×0.5 + 3×0.375)/6 = 0.4375.
    assert stats.assessment.reliability == pytest.approx(0.4375)
    assert stats.assessment.reliability_method == "forms_weighted"
    assert stats.assessment.coefficient == "KR-20"


def test_available_case_alpha_by_hand():
    stats = analyse(hand())
    # Item means over the candidates who saw them: Q1 1/2, Q2 1/2, Q3 1, Q4 1/3.
    # Per candidate, a = Σ centred marks and b = Σ centred marks²:
    #   A (1/2, 1/2, 0)      a = 1     b = 1/2
    #   B (1/2, -1/2, 0)     a = 0     b = 1/2
    #   C (-1/2, -1/2, 0)    a = -1    b = 1/2
    #   D (1/2, 1/2, -1/3)   a = 2/3   b = 11/18
    #   E (-1/2, 1/2, 2/3)   a = 2/3   b = 17/18
    #   F (-1/2, -1/2, -1/3) a = -4/3  b = 11/18
    # c = Σ(a² - b) / Σ k(k-1) = (1/2 - 1/2 + 1/2 - 3/18 - 9/18 + 21/18) / 36 = 1/36
    # v = Σb / Σk = (11/3) / 18 = 11/54
    # alpha for k = 3: 3c / (v + 2c) = (1/12) / (11/54 + 3/54) = 54/168 = 9/28
    assessment = stats.assessment
    assert assessment.reliability == pytest.approx(9 / 28)
    assert assessment.reliability_method == "available_case"
    assert assessment.typical_items == 3


def test_test_statistics_by_hand():
    stats = analyse(hand(cut_marks=[2] * 6))
    t = stats.assessment
    # Percent scores 100, 66.67, 33.33, 66.67, 66.67, 0; in thirds: 3 2 1 2 2 0, mean 5/3.
    third = 100 / 3
    assert t.n == 6
    assert t.mean == pytest.approx(5 / 3 * third)
    assert t.median == pytest.approx(2 * third)
    # Deviations 4/3 1/3 -2/3 1/3 1/3 -5/3: Σd² = 48/9, Σd³ = -66/27, over n - 1 = 5.
    assert t.sd == pytest.approx(math.sqrt(16 / 15) * third)
    # Moodle: k2 = n m2/(n-1) = 16/15, k3 = n² m3/((n-1)(n-2)) = 36 × (-11/27) / 20 = -11/15
    assert t.skewness == pytest.approx((-11 / 15) / (16 / 15) ** 1.5)
    d = np.array([4, 1, -2, 1, 1, -5]) / 3
    m2, m4 = np.mean(d**2), np.mean(d**4)
    k4 = 36 * (7 * m4 - 3 * 5 * m2 * m2) / (5 * 4 * 3)
    assert t.kurtosis == pytest.approx(k4 / (16 / 15) ** 2)
    # SEM = SD × √(1 - 9/28); error ratio = 100 × √(19/28) = 82.4%.
    assert t.error_ratio == pytest.approx(100 * math.sqrt(19 / 28))
    assert t.sem == pytest.approx(math.sqrt(16 / 15) * third * math.sqrt(19 / 28))  # 28.36
    # Cut 2 of 3 = 66.67%. Within 28.36 of it: B, D, E (66.67); not A (100), C (33.33), F (0).
    assert t.mean_cut == pytest.approx(2 * third)
    assert t.within_one_sem == pytest.approx(3 / 6)


def test_within_one_sem_uses_each_forms_own_sem():
    stats = analyse(hand(forms=HAND_FORMS, cut_marks=[2] * 6), min_form_size=3)
    x, y = stats.forms
    # Form X: percents 100 66.67 33.33, SD 33.33, KR-20 0.5, SEM 23.57: only B is within.
    assert x.sem == pytest.approx(100 / 3 * math.sqrt(0.5))
    assert x.within_one_sem == pytest.approx(1 / 3)
    # Form Y: 66.67 66.67 0, SD 38.49, KR-20 0.375, SEM 30.43: D and E are within.
    assert y.within_one_sem == pytest.approx(2 / 3)
    # The assessment: reliability 0.4375, SEM = 34.43 × 0.75 = 25.82: B, D, E.
    assert stats.assessment.within_one_sem == pytest.approx(0.5)


def test_competency_statements_by_hand():
    stats = analyse(hand())
    s1, s2 = stats.competencies
    # s1: every candidate saw Q1 and Q2. Centred pairs (±1/2, ±1/2): a = 1 0 -1 1 0 -1, b = 1/2.
    # c = Σ(a² - b)/Σ k(k-1) = (4 × 1/2 - 2 × 1/2)/12 = 1/12; v = 3/12; alpha = 2c/(v + c) = 0.5,
    # the same as Cronbach's alpha of the complete 6 × 2 matrix.
    assert (s1.statement, s1.pool_items, s1.candidates, s1.typical_items) == ("s1", 2, 6, 2)
    assert s1.reliability == pytest.approx(0.5)
    assert s1.reliability_method == "available_case"
    assert s1.too_few_to_judge  # 2 items, fewer than 4
    # s2: each candidate saw one of Q3 Q4, so no pair to estimate from: Spearman–Brown from the
    # assessment's 9/28 at 3 items down to 1: (1/3 × 9/28) / (1 - 2/3 × 9/28) = 3/22.
    assert s2.typical_items == 1
    assert s2.reliability == pytest.approx(3 / 22)
    assert s2.reliability_method == "spearman_brown"
    assert s2.too_few_to_judge
    relaxed = analyse(hand(), competency_min_items=2, competency_min_reliability=0.5)
    assert not relaxed.competencies[0].too_few_to_judge
    assert relaxed.competencies[1].too_few_to_judge  # 1 item, reliability 0.14


# Q4 as a pretest item: on form Y to gather statistics, but not part of anyone's score.
PRETEST_Q4 = [[v is not None and j == 3 for j, v in enumerate(row)] for row in HAND_MARKS]


def test_a_pretest_item_is_analysed_against_the_operational_score_by_hand():
    stats = analyse(hand(unscored=PRETEST_Q4, forms=HAND_FORMS), min_form_size=3)
    q1, _q2, q3, q4 = stats.items
    # Form Y's score is now Q1 + Q2 out of 2: D 2/2, E 1/2, F 0/2.
    # Q1's rest: A (Q2 + Q3)/2 = 100, B 50, C 50; D (2 - 1)/1 = 100, E 1/1 = 100, F 0.
    # In units of 50: 2 1 1 2 2 0, mean 4/3; deviations 2/3 -1/3 -1/3 2/3 2/3 -4/3.
    # Item deviations ±1/2 (marks 1 1 0 1 0 0): Σ(x × r) = 1/2 × 1 - 1/2 × (-1) = 1.
    # Σ x² = 3/2, Σ r² = (4 + 1 + 1 + 4 + 4 + 16)/9 = 10/3: r = 1/√5.
    assert q1.point_biserial == pytest.approx(1 / math.sqrt(5))
    assert not q1.pretest
    assert not q3.pretest
    # Q4 is reported, against each candidate's whole operational percent (it was never in
    # the total, so nothing is taken out): D 100, E 50, F 0 with marks 0 1 0: r = 0.
    assert q4.pretest
    assert (q4.n, q4.facility) == (3, pytest.approx(1 / 3))
    assert q4.point_biserial == pytest.approx(0.0)
    # Test statistics use the scored cells only: percents 100 66.67 33.33 100 50 0.
    percents = [100, 200 / 3, 100 / 3, 100, 50, 0]
    assert stats.assessment.mean == pytest.approx(sum(percents) / 6)
    (_form_x, form_y) = stats.forms
    assert form_y.typical_items == 2  # Q1 and Q2: the pretest item is not on the scored form
    # Form Y's alpha over Q1 Q2 (marks 1 1 / 0 1 / 0 0): item variances 1/3 and 1/3, totals
    # 2 1 0 with variance 1: alpha = 2 × (1 - 2/3) = 2/3.
    assert form_y.reliability == pytest.approx(2 / 3)
    # The statement s2 now rests on Q3 alone: the pretest item is in no sub-score.
    s2 = stats.competencies[1]
    assert (s2.statement, s2.pool_items, s2.candidates) == ("s2", 1, 3)


def test_a_pretest_item_leaves_the_rest_of_the_analysis_as_if_it_were_absent():
    """Every operational statistic is the same as with the pretest item's cells left out."""
    with_pretest = analyse(hand(unscored=PRETEST_Q4, forms=HAND_FORMS), min_form_size=3)
    without = [[None if j == 3 else v for j, v in enumerate(row)] for row in HAND_MARKS]
    absent = analyse(
        Responses.from_matrix(
            list("ABCDEF"), hand_items(), matrix(without), chosen=HAND_CHOICES, forms=HAND_FORMS
        ),
        min_form_size=3,
    )
    assert with_pretest.items[:3] == absent.items[:3]
    assert with_pretest.assessment == absent.assessment
    assert with_pretest.forms == absent.forms
    assert with_pretest.competencies[0] == absent.competencies[0]


def test_from_rows_carries_unscored_cells():
    rows = [
        ResponseRow(candidate, item.item, mark, HAND_CHOICES.get(item.item, [None] * 6)[i],
                    scored=item.item != "Q4")
        for i, (candidate, marks) in enumerate(zip("ABCDEF", HAND_MARKS, strict=True))
        for item, mark in zip(hand_items(), marks, strict=True)
        if mark is not None
    ]  # fmt: skip
    built = Responses.from_rows(rows, hand_items())
    np.testing.assert_array_equal(built.unscored_cells, np.array(PRETEST_Q4))
    assert analyse(built) == analyse(hand(unscored=PRETEST_Q4))
    # A maximum may leave the pretest item out, since it was never part of the score.
    people = [CandidateSpec(c, max_marks=3 if c in "ABC" else 2) for c in "ABCDEF"]
    assert Responses.from_rows(rows, hand_items(), people).candidate_max_marks is not None


def test_flags_on_the_hand_matrix():
    report = flag_items(analyse(hand()))
    codes = {f.item: ([x.code for x in f.hard], [x.code for x in f.soft]) for f in report.items}
    assert codes == {
        "Q1": ([], []),  # the key ties with c for most popular in the upper group: no miskey
        "Q2": ([], []),
        "Q3": (["too_easy"], []),  # facility 1.0
        "Q4": ([], ["low_discrimination"]),  # r = 0
    }
    assert [f.item for f in report.flagged_items] == ["Q3", "Q4"]
    (assessment,) = report.tests
    assert [f.code for f in assessment.flags] == ["alpha_below"]  # 9/28 < 0.70


# --------------------------------------------------------------------------------------------
# Published worked examples
# --------------------------------------------------------------------------------------------

# K. L. Wuensch, "The Kuder-Richardson 20", East Carolina University StatHelp handout
# (core.ecu.edu/wuenschk/StatHelp/KR20.txt): ten students, a ten-item quiz. The handout states
# each item's p (and pq) and the variance of the totals, 5.84, from which
# KR-20 = 10/9 × (1 - 2.18/5.84) = 0.6963; it notes KR-20 is Cronbach's alpha for 0/1 items.
WUENSCH = [
    [1, 1, 1, 1, 1, 1, 0, 1, 1, 0],  # A 8
    [1, 0, 1, 1, 0, 1, 1, 1, 0, 1],  # B 7
    [1, 1, 1, 1, 0, 1, 1, 0, 0, 1],  # C 7
    [0, 0, 1, 0, 0, 0, 1, 0, 0, 0],  # D 2
    [0, 0, 0, 0, 0, 1, 0, 0, 1, 0],  # E 2
    [1, 1, 1, 0, 1, 1, 1, 1, 1, 1],  # F 9
    [1, 1, 0, 1, 1, 1, 0, 1, 1, 1],  # G 8
    [1, 1, 1, 1, 1, 1, 1, 1, 0, 1],  # H 9
    [0, 1, 0, 1, 1, 1, 1, 1, 0, 1],  # I 7
    [1, 1, 0, 1, 1, 0, 1, 1, 1, 0],  # J 7
]
WUENSCH_P = [0.7, 0.7, 0.6, 0.7, 0.6, 0.8, 0.7, 0.7, 0.5, 0.6]


@pytest.mark.parametrize("forms", [None, ["quiz"] * 10])
def test_kr20_matches_the_published_worked_example(forms):
    items = [ItemSpec(f"item{i + 1}") for i in range(10)]
    responses = Responses.from_matrix(list("ABCDEFGHIJ"), items, WUENSCH, forms=forms)
    stats = analyse(responses, min_form_size=2)
    assert [s.facility for s in stats.items] == pytest.approx(WUENSCH_P)
    # pq is each item's variance over n; ours is over n - 1.
    pq = [s.sd**2 * 9 / 10 for s in stats.items if s.sd is not None]
    assert sum(pq) == pytest.approx(2.18)
    assert (stats.assessment.sd / 10) ** 2 * 9 / 10 == pytest.approx(5.84)  # totals out of 10
    assert stats.assessment.coefficient == "KR-20"
    assert stats.assessment.reliability == pytest.approx(10 / 9 * (1 - 2.18 / 5.84))
    assert stats.assessment.reliability == pytest.approx(0.6963, abs=5e-5)
    expected_method = "complete" if forms is None else "forms_weighted"
    assert stats.assessment.reliability_method == expected_method


def test_point_biserial_matches_the_published_worked_example():
    # SciPy reference guide, scipy.stats.pointbiserialr, Examples: a = [0, 0, 0, 1, 1, 1, 1]
    # against b = [0, 1, ..., 6] gives r = 0.8660254037844386 (the same as pearsonr).
    # Candidate j gets the target item a[j] and the first j of six other items right, so
    # their rest of form is j/6: a linear function of b, which leaves r unchanged.
    a = [0, 0, 0, 1, 1, 1, 1]
    rows = [[a[j]] + [1 if i < j else 0 for i in range(6)] for j in range(7)]
    items = [ItemSpec("target")] + [ItemSpec(f"other{i}") for i in range(6)]
    stats = analyse(Responses.from_matrix([f"c{j}" for j in range(7)], items, rows))
    assert stats.item("target").point_biserial == pytest.approx(0.8660254037844386)


# --------------------------------------------------------------------------------------------
# Building the responses
# --------------------------------------------------------------------------------------------


def test_from_rows_builds_the_same_matrix_as_from_matrix():
    rows = [
        ResponseRow(candidate, item.item, mark, HAND_CHOICES.get(item.item, [None] * 6)[i])
        for i, (candidate, marks) in enumerate(zip("ABCDEF", HAND_MARKS, strict=True))
        for item, mark in zip(hand_items(), marks, strict=True)
        if mark is not None
    ]
    people = [
        CandidateSpec(c, form=f, cut_marks=2) for c, f in zip("ABCDEF", HAND_FORMS, strict=True)
    ]
    built = Responses.from_rows(reversed(rows), hand_items(), people)
    expected = hand(forms=HAND_FORMS, cut_marks=[2] * 6)
    assert built.candidates == expected.candidates
    np.testing.assert_array_equal(built.marks, expected.marks)
    np.testing.assert_array_equal(built.choices, expected.choices)
    assert built.forms == tuple(HAND_FORMS)
    assert analyse(built, min_form_size=3) == analyse(expected, min_form_size=3)


def test_from_rows_refuses_two_responses_to_one_item():
    rows = [ResponseRow("A", "Q1", 1, "a"), ResponseRow("A", "Q1", 0, "b")]
    with pytest.raises(AnalysisError, match="two responses"):
        Responses.from_rows(rows, hand_items())


def test_chosen_options_may_come_as_an_object_matrix():
    chosen = np.full((6, 4), None, dtype=object)
    chosen[:, 0] = HAND_CHOICES["Q1"]
    chosen[0, 3] = "ignored: Q4 has no options and A did not see it"
    responses = Responses.from_matrix(list("ABCDEF"), hand_items(), HAND_MARKS, chosen=chosen)
    assert analyse(responses) == analyse(hand())


def test_the_arrays_cannot_be_changed_afterwards():
    responses = hand()
    with pytest.raises(ValueError, match="read-only"):
        responses.marks[0, 0] = 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"marks": [[2, 1, 1, _], *HAND_MARKS[1:]]}, "between 0 and the item's maximum"),
        ({"chosen": {"Q1": ["a", "a", "z", "a", "c", "b"]}}, "unknown option z"),
        ({"chosen": {"Q9": ["a"] * 6}}, "unknown item Q9"),
        ({"forms": ["X"]}, "one form id per candidate"),
        ({"cut_marks": [1, 2]}, "one cut per candidate"),
        ({"candidate_max_marks": [2] * 6}, "less than their items' maxima"),
        ({"criterion_marks": {"Q1": [[1]] * 6}}, "no criteria"),
    ],
)
def test_impossible_input_is_refused(change, message):
    arguments: dict[str, Any] = {"marks": HAND_MARKS, "chosen": HAND_CHOICES, **change}
    marks = matrix(arguments.pop("marks"))
    with pytest.raises(AnalysisError, match=message):
        Responses.from_matrix(list("ABCDEF"), hand_items(), marks, **arguments)


def test_impossible_items_are_refused():
    with pytest.raises(AnalysisError, match="not one of its options"):
        ItemSpec("Q", options=("a", "b"), keys=frozenset({"c"}))
    with pytest.raises(AnalysisError, match="above 0"):
        ItemSpec("Q", max_marks=0)


# --------------------------------------------------------------------------------------------
# Written items and marks other than 0/1
# --------------------------------------------------------------------------------------------


def test_written_items_report_each_criterion_and_use_alpha():
    items = [
        ItemSpec("mcq1"),
        ItemSpec("mcq2"),
        ItemSpec("essay", max_marks=10, criteria=("analysis", "law"), criterion_max_marks=(4, 6)),
    ]
    marks = [[1, 1, 9], [1, 0, 6], [0, 1, 5], [0, 0, 2], [1, _, 7]]
    criteria = [[4, 5], [3, 3], [2, 3], [1, 1], [_, _]]  # the last essay has no breakdown
    responses = Responses.from_matrix(
        list("ABCDE"), items, matrix(marks), criterion_marks={"essay": matrix(criteria)}
    )
    stats = analyse(responses)
    essay = stats.item("essay")
    assert essay.facility == pytest.approx(29 / 50)
    assert essay.options == ()
    assert essay.omitted_rate is None
    analysis, law = essay.criteria
    assert (analysis.criterion, analysis.n, analysis.max_marks) == ("analysis", 4, 4)
    assert analysis.mean_marks == pytest.approx(10 / 4)
    assert analysis.facility == pytest.approx(10 / 16)
    assert law.mean_marks == pytest.approx(12 / 4)
    assert law.facility == pytest.approx(0.5)
    assert stats.assessment.coefficient == "alpha"
    # Percent of each candidate's own maximum: E saw 11 marks' worth, not 12.
    assert stats.assessment.mean == pytest.approx(
        np.mean([11 / 12, 7 / 12, 6 / 12, 2 / 12, 8 / 11]) * 100
    )


def test_complete_matrix_alpha_is_cronbachs():
    rng = np.random.default_rng(7)
    marks = rng.integers(0, 4, size=(40, 6)).astype(float) + rng.integers(0, 2, size=(40, 1))
    items = [ItemSpec(f"i{j}", max_marks=4) for j in range(6)]
    stats = analyse(Responses.from_matrix([f"c{i}" for i in range(40)], items, marks))
    variances = marks.var(axis=0, ddof=1).sum()
    cronbach = 6 / 5 * (1 - variances / marks.sum(axis=1).var(ddof=1))
    assert stats.assessment.reliability == pytest.approx(cronbach)
    assert stats.assessment.coefficient == "alpha"
    assert stats.assessment.reliability_method == "complete"


# --------------------------------------------------------------------------------------------
# Flags
# --------------------------------------------------------------------------------------------


def item_stats(**changes: Any) -> ItemStats:
    options = (
        OptionStats("a", True, 60, 0.6, 0.9, 0.3, 0.4),
        OptionStats("b", False, 20, 0.2, 0.05, 0.35, -0.2),
        OptionStats("c", False, 20, 0.2, 0.05, 0.35, -0.2),
    )
    base = ItemStats(
        item="Q",
        n=100,
        max_marks=1,
        mean_marks=0.6,
        facility=0.6,
        sd=0.49,
        point_biserial=0.35,
        upper_facility=0.9,
        lower_facility=0.3,
        discrimination_index=0.6,
        discriminative_efficiency=0.7,
        omitted_rate=0.0,
        options=options,
        criteria=(),
        competencies=(),
    )
    return dataclasses.replace(base, **changes)


def codes_for(item: ItemStats, thresholds: Thresholds | None = None) -> tuple[list[str], ...]:
    empty = analyse(hand())
    stats = dataclasses.replace(empty, items=(item,))
    flags = flag_items(stats, thresholds).items[0]
    return [f.code for f in flags.hard], [f.code for f in flags.soft]


@pytest.mark.parametrize(
    ("changes", "hard", "soft"),
    [
        ({}, [], []),
        ({"point_biserial": -0.01}, ["negative_discrimination"], []),
        ({"point_biserial": 0.0}, [], ["low_discrimination"]),
        ({"point_biserial": 0.199}, [], ["low_discrimination"]),
        ({"point_biserial": 0.2}, [], []),
        ({"point_biserial": None}, [], []),
        ({"facility": 0.96}, ["too_easy"], []),
        ({"facility": 0.95}, [], ["facility_outside_target"]),
        ({"facility": 0.90}, [], ["facility_outside_target"]),
        ({"facility": 0.89}, [], []),
        ({"facility": 0.30}, [], []),
        ({"facility": 0.29}, [], ["facility_outside_target"]),
        ({"facility": 0.10}, [], ["facility_outside_target"]),
        ({"facility": 0.09}, ["too_hard"], []),
    ],
)
def test_item_flags_and_their_boundaries(changes, hard, soft):
    assert codes_for(item_stats(**changes)) == (hard, soft)


def test_possible_miskey_when_strong_candidates_prefer_a_distractor():
    a, b, c = item_stats().options
    miskeyed = (
        dataclasses.replace(a, upper_rate=0.2),
        dataclasses.replace(b, upper_rate=0.7),
        c,
    )
    assert codes_for(item_stats(options=miskeyed)) == (["possible_miskey"], [])
    tie = (dataclasses.replace(a, upper_rate=0.45), dataclasses.replace(b, upper_rate=0.45), c)
    assert codes_for(item_stats(options=tie)) == ([], [])
    several_keys = (a, dataclasses.replace(b, is_key=True, upper_rate=0.95), c)
    assert codes_for(item_stats(options=several_keys)) == ([], [])


def test_weak_distractors_are_named():
    a, b, c = item_stats().options
    options = (a, dataclasses.replace(b, rate=0.04), dataclasses.replace(c, rate=0.05))
    flags = flag_items(dataclasses.replace(analyse(hand()), items=(item_stats(options=options),)))
    (weak,) = flags.items[0].soft
    assert (weak.code, weak.option, weak.severity) == ("weak_distractor", "b", "soft")


def test_thresholds_are_settings():
    strict = Thresholds(soft_point_biserial_min=0.4, alpha_min=0.3)
    assert codes_for(item_stats(), strict) == ([], ["low_discrimination"])
    report = flag_items(analyse(hand()), strict)
    assert report.tests[0].flags == ()  # 9/28 = 0.32 is above 0.3


def test_each_form_is_flagged_for_its_own_reliability():
    stats = analyse(hand(forms=HAND_FORMS), min_form_size=3)
    report = flag_items(stats, Thresholds(alpha_min=0.45))
    assert {t.form: [f.code for f in t.flags] for t in report.tests} == {
        None: ["alpha_below"],  # 0.4375
        "X": [],  # 0.5
        "Y": ["alpha_below"],  # 0.375
    }


def test_a_generated_cohort_flags_its_miskeyed_item_and_only_that_one():
    responses = generated_cohort(candidates=3000, pool=60, per_form=20, miskeyed=17, seed=3)
    report = flag_items(analyse(responses))
    miskeys = [
        (f.item, flag.option)
        for f in report.items
        for flag in f.hard
        if flag.code == "possible_miskey"
    ]
    assert miskeys == [("i17", "a")]
    assert "negative_discrimination" in [f.code for f in report.for_item("i17").hard]


def generated_cohort(
    candidates: int, pool: int, per_form: int, miskeyed: int, seed: int
) -> Responses:
    """Random forms from a pool; option a is right everywhere, but one item is keyed b."""
    rng = np.random.default_rng(seed)
    ability = rng.normal(size=candidates)
    difficulty = rng.normal(scale=0.8, size=pool)
    picks = np.argsort(rng.random((candidates, pool)), axis=1)[:, :per_form]
    rows = np.repeat(np.arange(candidates), per_form)
    cols = picks.ravel()
    right = rng.random(rows.size) < 1 / (1 + np.exp(difficulty[cols] - 1.5 * ability[rows]))
    choice = np.where(right, 0, rng.integers(1, 4, size=rows.size))
    keyed = np.where(cols == miskeyed, 1, 0)
    marks = np.full((candidates, pool), np.nan)
    marks[rows, cols] = choice == keyed
    choices = np.full((candidates, pool), NO_CHOICE)
    choices[rows, cols] = choice
    items = tuple(
        ItemSpec(
            f"i{j}", options=("a", "b", "c", "d"), keys=frozenset({"b" if j == miskeyed else "a"})
        )
        for j in range(pool)
    )
    ids = tuple(f"c{i}" for i in range(candidates))
    return Responses(candidates=ids, items=items, marks=marks, choices=choices)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


@st.composite
def response_sets(draw: st.DrawFn) -> Responses:
    """Small matrices with missing cells, partial marks, options, forms and cuts."""
    n = draw(st.integers(3, 14))
    k = draw(st.integers(2, 5))
    maxima = draw(st.lists(st.sampled_from([1.0, 2.0]), min_size=k, max_size=k))
    cells = st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0]))
    fractions = draw(st.lists(st.lists(cells, min_size=k, max_size=k), min_size=n, max_size=n))
    marks = np.array(
        [
            [math.nan if f is None else f * m for f, m in zip(row, maxima, strict=True)]
            for row in fractions
        ]
    )
    items = [
        ItemSpec(f"q{j}", max_marks=maxima[j], options=("a", "b", "c"), keys=frozenset({"a"}),
                 competencies=(f"s{j % 2}",))
        for j in range(k)
    ]  # fmt: skip
    chosen = {
        f"q{j}": draw(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n))
        for j in range(k)
    }
    forms = draw(st.one_of(st.none(), st.lists(st.sampled_from("XY"), min_size=n, max_size=n)))
    cuts = draw(
        st.one_of(st.none(), st.lists(st.sampled_from([0.5, 1.0, 2.0]), min_size=n, max_size=n))
    )
    return Responses.from_matrix(
        [f"c{i}" for i in range(n)], items, marks, chosen=chosen, forms=forms, cut_marks=cuts
    )


def assert_close(left: Any, right: Any, path: str = "") -> None:
    if isinstance(left, float) or isinstance(right, float):
        assert isinstance(left, float), path
        assert isinstance(right, float), path
        assert math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9), (path, left, right)
    elif isinstance(left, dict):
        assert left.keys() == right.keys(), path
        for key in left:
            assert_close(left[key], right[key], f"{path}.{key}")
    elif isinstance(left, list | tuple):
        assert len(left) == len(right), path
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            assert_close(a, b, f"{path}[{i}]")
    else:
        assert left == right, (path, left, right)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(responses=response_sets(), data=st.data())
def test_statistics_do_not_depend_on_candidate_order(responses: Responses, data: st.DataObject):
    order = data.draw(st.permutations(range(len(responses.candidates))))
    shuffled = Responses(
        candidates=tuple(responses.candidates[i] for i in order),
        items=responses.items,
        marks=responses.marks[order],
        choices=responses.choices[order],
        forms=None if responses.forms is None else tuple(responses.forms[i] for i in order),
        cut_marks=None if responses.cut_marks is None else responses.cut_marks[order],
    )
    before = dataclasses.asdict(analyse(responses, min_form_size=3))
    after = dataclasses.asdict(analyse(shuffled, min_form_size=3))
    assert_close(before, after)


def reference_item(responses: Responses, j: int, fraction: float = 0.27) -> dict[str, Any]:
    """A slow, literal reading of the definitions for one item, to check the vectorised code."""
    marks, maxima = responses.marks, np.array([s.max_marks for s in responses.items])
    seen = ~np.isnan(marks)
    total = np.where(seen, marks, 0).sum(axis=1)
    form_max = np.where(seen, maxima, 0).sum(axis=1)
    options = responses.items[j].options
    expected: dict[str, Any] = {}
    for o in range(len(options)):  # rates among everyone who saw the item
        chose = [responses.choices[i, j] == o for i in range(len(marks)) if seen[i, j]]
        expected[f"rate {o}"] = sum(chose) / len(chose) if chose else None
    x, rest, choice = [], [], []
    for i in range(len(marks)):
        if seen[i, j] and form_max[i] - maxima[j] > 0:
            x.append(marks[i, j])
            rest.append((total[i] - marks[i, j]) / (form_max[i] - maxima[j]) * 100)
            choice.append(responses.choices[i, j])
    n = len(x)
    if n < 3:
        return expected | {"pb": None, "d": None, "de": None}
    xa, ra = np.array(x), np.array(rest)
    varies = bool(np.ptp(xa) > 0 and np.ptp(ra) > 0)
    sxr = float(np.sum((xa - xa.mean()) * (ra - ra.mean())))
    spread = math.sqrt(float(np.sum((xa - xa.mean()) ** 2) * np.sum((ra - ra.mean()) ** 2)))
    covmax = float(np.sum((np.sort(xa) - xa.mean()) * (np.sort(ra) - ra.mean())))
    places = fraction * n
    order = sorted(range(n), key=lambda i: rest[i])
    # Each candidate's share of a place in the lower and the upper group.
    lower_share, upper_share = [0.0] * n, [0.0] * n
    start = 0
    while start < n:  # walk the runs of tied rest scores
        end = start
        while end < n and rest[order[end]] == rest[order[start]]:
            end += 1
        for i in order[start:end]:
            lower_share[i] = max(0.0, min(end, places) - start) / (end - start)
            upper_share[i] = max(0.0, end - max(n - places, start)) / (end - start)
        start = end
    upper = sum(u * m for u, m in zip(upper_share, x, strict=True)) / places
    lower = sum(w * m for w, m in zip(lower_share, x, strict=True)) / places
    expected |= {
        "pb": sxr / spread if varies else None,
        "d": (upper - lower) / maxima[j],
        "de": sxr / covmax if varies else None,
    }
    for o in range(len(options)):
        chose = np.array([c == o for c in choice], dtype=float)
        expected[f"upper {o}"] = float(np.dot(upper_share, chose)) / places
        expected[f"lower {o}"] = float(np.dot(lower_share, chose)) / places
        both_vary = np.ptp(chose) > 0 and np.ptp(ra) > 0
        expected[f"pb {o}"] = float(np.corrcoef(chose, ra)[0, 1]) if both_vary else None
    return expected


@settings(max_examples=150, deadline=None)
@given(responses=response_sets())
def test_vectorised_item_statistics_agree_with_a_literal_reading(responses: Responses):
    stats = analyse(responses)
    for j, item in enumerate(stats.items):
        found: dict[str, Any] = {
            "pb": item.point_biserial,
            "d": item.discrimination_index,
            "de": item.discriminative_efficiency,
        }
        for o, option in enumerate(item.options):
            found |= {f"rate {o}": option.rate, f"pb {o}": option.point_biserial}
            found |= {f"upper {o}": option.upper_rate, f"lower {o}": option.lower_rate}
        expected = reference_item(responses, j)
        for name, value in expected.items():
            if value is None:
                assert found[name] is None, (item.item, name)
            else:
                assert found[name] == pytest.approx(value, abs=1e-9), (item.item, name)
        assert found.keys() >= expected.keys()


@st.composite
def others_and_rest(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """0/1 marks on other items (some missing) and each candidate's rest-of-form percent."""
    n = draw(st.integers(6, 30))
    m = draw(st.integers(2, 6))
    rows = draw(
        st.lists(
            st.lists(st.sampled_from([None, 0, 1]), min_size=m, max_size=m).filter(
                lambda row: any(v is not None for v in row)
            ),
            min_size=n,
            max_size=n,
        )
    )
    others = matrix(rows)
    rest = np.nansum(others, axis=1) / np.sum(~np.isnan(others), axis=1) * 100
    return others, rest


def threshold_splitting_groups(draw: st.DrawFn, rest: np.ndarray) -> float:
    """A rest score with at least 27% of candidates above it and at least 27% at or below."""
    n = len(rest)
    valid = [
        t for t in np.unique(rest) if (rest > t).sum() >= 0.27 * n and (rest <= t).sum() >= 0.27 * n
    ]
    assume(valid)
    return float(draw(st.sampled_from(valid)))


@settings(max_examples=150, deadline=None)
@given(drawn=others_and_rest(), data=st.data())
def test_a_perfectly_discriminating_item_scores_the_maximum(drawn, data):
    others, rest = drawn
    threshold = threshold_splitting_groups(data.draw, rest)
    target = (rest > threshold).astype(float)  # right above the threshold, wrong at or below
    marks = np.column_stack([target, others])
    items = [ItemSpec("target")] + [ItemSpec(f"o{j}") for j in range(others.shape[1])]
    stats = analyse(Responses.from_matrix([f"c{i}" for i in range(len(rest))], items, marks))
    item = stats.item("target")
    assert item.upper_facility == pytest.approx(1.0)
    assert item.lower_facility == pytest.approx(0.0)
    assert item.discrimination_index == pytest.approx(1.0)
    assert item.discriminative_efficiency == pytest.approx(1.0)
    assert item.point_biserial is not None
    assert item.point_biserial > 0


@settings(max_examples=150, deadline=None)
@given(drawn=others_and_rest(), data=st.data())
def test_a_key_that_strong_candidates_avoid_is_flagged_as_a_possible_miskey(drawn, data):
    others, rest = drawn
    threshold = threshold_splitting_groups(data.draw, rest)
    n = len(rest)
    # Strong candidates choose a (the right answer); the rest choose among b, c and d. The key
    # on record is b, so the marks follow b.
    weaker = data.draw(st.lists(st.sampled_from(["b", "c", "d"]), min_size=n, max_size=n))
    chosen = ["a" if r > threshold else w for r, w in zip(rest, weaker, strict=True)]
    target = np.array([c == "b" for c in chosen], dtype=float)
    items = [ItemSpec("target", options=("a", "b", "c", "d"), keys=frozenset({"b"}))]
    items += [ItemSpec(f"o{j}") for j in range(others.shape[1])]
    responses = Responses.from_matrix(
        [f"c{i}" for i in range(n)],
        items,
        np.column_stack([target, others]),
        chosen={"target": chosen},
    )
    flags = flag_items(analyse(responses)).for_item("target")
    miskey = [f for f in flags.hard if f.code == "possible_miskey"]
    assert [f.option for f in miskey] == ["a"]


def test_analysis_lookups():
    stats = analyse(hand(forms=HAND_FORMS))
    assert isinstance(stats, Analysis)
    assert stats.item("Q2").item == "Q2"
    assert isinstance(stats.form("Y"), ScoreStats)
    assert stats.item("Q1").keys == ("a",)
    with pytest.raises(KeyError):
        stats.item("nope")
    with pytest.raises(KeyError):
        stats.form("Z")
