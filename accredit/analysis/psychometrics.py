"""Item and test statistics over a response matrix with missing cells. Plain Python and NumPy.

Forms are drawn at random from pools, so each candidate sees only some of the
items: a cell of the matrix is NaN when the item was not on that candidate's
form. Every statistic uses only the cells a candidate actually saw. The caller
chooses the attempts (first attempts only, by default, as Moodle does) and
passes final marks only: an unmarked written answer is not a zero.

Scales, used consistently:

- **Item statistics** are on the proportion scale, 0 to 1: ``facility`` is the
  mean mark over the maximum, ``sd`` is the standard deviation of the marks
  over the maximum (Moodle shows both multiplied by 100). Correlations and the
  discrimination index run from -1 to 1; discriminative efficiency is a ratio
  (Moodle shows it multiplied by 100).
- **Test statistics** are in percent (0 to 100) of each candidate's own form
  maximum, because random forms need not share a maximum: mean, median, SD,
  SEM and the cuts. Reliability is a ratio; the error ratio is a percentage.

"Rest of form" is the candidate's percent on their own form without the item:
``(total - item marks) / (form maximum - item maximum) * 100``. It is what the
corrected point-biserial, the upper and lower groups and the option statistics
use, so an item never correlates with itself.

Unscored cells (a pretest item, on the form to gather statistics but not counted)
are analysed as items like any other, but they are not part of anyone's total:
their rest of form is the candidate's whole operational percent, and the test and
competency statistics (reliability, SEM, sub-scores) use scored cells only.

The definitions follow Moodle's quiz statistics (question/classes/statistics/
questions/calculator.php and mod/quiz/report/statistics/classes/calculator.php):
the corrected point-biserial is Moodle's discrimination index; discriminative
efficiency is the covariance of item and rest over the largest covariance the
same marks could have, found by pairing the sorted item marks with the sorted
rest scores; skewness is k3/k2^1.5 and kurtosis k4/k2^2 (excess); the error
ratio is 100 * sqrt(1 - reliability) and the SEM is the SD times
sqrt(1 - reliability).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "NO_CHOICE",
    "Analysis",
    "AnalysisError",
    "CandidateSpec",
    "CompetencyStats",
    "CriterionStats",
    "Flag",
    "FlagReport",
    "ItemFlags",
    "ItemSpec",
    "ItemStats",
    "OptionStats",
    "ResponseRow",
    "Responses",
    "ScoreFlags",
    "ScoreStats",
    "Thresholds",
    "analyse",
    "flag_items",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

# In the choices matrix: no option chosen (not answered, or the item was not on the form).
NO_CHOICE = -1

Coefficient = Literal["KR-20", "alpha"]
# "form": alpha over one form's complete matrix; "forms_weighted": the n-weighted mean of the
# forms' alphas; "complete": alpha over a matrix with no missing cells; "available_case": the
# pairwise estimate for random forms (see ``analyse``).
ReliabilityMethod = Literal["form", "forms_weighted", "complete", "available_case"]
SubscoreMethod = Literal["available_case", "spearman_brown"]


class AnalysisError(ValueError):
    """The responses cannot be analysed as given: shapes disagree, ids unknown, marks impossible."""


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemSpec:
    """What the analysis needs to know about one item (one column of the matrix).

    ``options`` lists every option id of an objective item, keys included, so an
    option nobody chose is still reported. ``keys`` holds one id, or several when
    a decision accepts several keys. ``criteria`` names a written item's rubric
    criteria, in the order of the columns of its criterion marks.
    """

    item: str
    max_marks: float = 1.0
    options: tuple[str, ...] = ()
    keys: frozenset[str] = frozenset()
    competencies: tuple[str, ...] = ()
    criteria: tuple[str, ...] = ()
    criterion_max_marks: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.max_marks > 0:
            raise AnalysisError(f"item {self.item}: maximum marks must be above 0")
        if len(set(self.options)) != len(self.options):
            raise AnalysisError(f"item {self.item}: option ids repeat")
        if not self.keys <= set(self.options):
            raise AnalysisError(f"item {self.item}: a key is not one of its options")
        if self.criterion_max_marks and len(self.criterion_max_marks) != len(self.criteria):
            raise AnalysisError(f"item {self.item}: one maximum per criterion, please")


@dataclass(frozen=True)
class CandidateSpec:
    """One candidate (one row): their form, their cut and their maximum, all optional.

    ``cut_marks`` and ``max_marks`` are in marks on the candidate's own form;
    without ``max_marks`` the maximum is the sum of the maxima of the items seen.
    """

    candidate: str
    form: str | None = None
    cut_marks: float | None = None
    max_marks: float | None = None


@dataclass(frozen=True)
class ResponseRow:
    """One stored response, as a service reads it from the database."""

    candidate: str
    item: str
    marks: float
    option: str | None = None
    criterion_marks: Mapping[str, float] | None = None
    # False for a pretest item: analysed, but not part of the candidate's score.
    scored: bool = True


@dataclass(frozen=True, eq=False)
class Responses:
    """A response matrix: candidates in rows, items in columns, NaN where not on the form.

    Build it with ``from_matrix`` (arrays) or ``from_rows`` (database rows). The
    arrays are made read-only, so the value stays as frozen as it looks.
    ``choices`` holds, per cell, the index of the chosen option in that item's
    ``options``, or ``NO_CHOICE``. ``unscored`` is True in a cell that was on the
    form but does not count towards the candidate's score (a pretest item).
    """

    candidates: tuple[str, ...]
    items: tuple[ItemSpec, ...]
    marks: FloatArray
    choices: IntArray
    forms: tuple[str, ...] | None = None
    cut_marks: FloatArray | None = None
    candidate_max_marks: FloatArray | None = None
    criterion_marks: Mapping[str, FloatArray] = field(default_factory=dict)
    unscored: BoolArray | None = None

    def __post_init__(self) -> None:
        # Keep copies, read-only, so neither side can change the other's arrays afterwards.
        types = {"choices": np.intp, "unscored": np.bool_}
        for name in ("marks", "choices", "cut_marks", "candidate_max_marks", "unscored"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _frozen(value, types.get(name, np.float64)))
        frozen = {item: _frozen(m, np.float64) for item, m in self.criterion_marks.items()}
        object.__setattr__(self, "criterion_marks", frozen)
        n, k = len(self.candidates), len(self.items)
        if len(set(self.candidates)) != n:
            raise AnalysisError("candidate ids repeat")
        if len({spec.item for spec in self.items}) != k:
            raise AnalysisError("item ids repeat")
        if self.marks.shape != (n, k) or self.choices.shape != (n, k):
            raise AnalysisError(f"the marks and choices must be {n} candidates by {k} items")
        if self.unscored is not None and self.unscored.shape != (n, k):
            raise AnalysisError(f"the unscored cells must be {n} candidates by {k} items")
        maxima = np.array([spec.max_marks for spec in self.items], dtype=np.float64)
        seen = ~np.isnan(self.marks)
        with np.errstate(invalid="ignore"):
            out_of_range = seen & ((self.marks < 0) | (self.marks > maxima + 1e-9))
        if out_of_range.any():
            row, col = np.argwhere(out_of_range)[0]
            raise AnalysisError(
                f"candidate {self.candidates[row]}, item {self.items[col].item}: "
                f"marks must lie between 0 and the item's maximum"
            )
        n_options = np.array([len(spec.options) for spec in self.items], dtype=np.intp)
        if ((self.choices < NO_CHOICE) | (self.choices >= n_options)).any():
            raise AnalysisError("a choice is not one of its item's options")
        if (self.choices[~seen] != NO_CHOICE).any():
            raise AnalysisError("a choice is recorded for an item that was not on the form")
        if self.forms is not None and len(self.forms) != n:
            raise AnalysisError("one form id per candidate, please")
        for name, values in (("cut", self.cut_marks), ("maximum", self.candidate_max_marks)):
            if values is not None and values.shape != (n,):
                raise AnalysisError(f"one {name} per candidate, please")
        if self.candidate_max_marks is not None:
            needed = np.where(seen & ~self.unscored_cells, maxima, 0.0).sum(axis=1)
            if (self.candidate_max_marks < needed - 1e-9).any():
                raise AnalysisError("a candidate's maximum is less than their items' maxima")
        by_id = {spec.item: spec for spec in self.items}
        for item, matrix in self.criterion_marks.items():
            spec = by_id.get(item)
            if spec is None or not spec.criteria:
                raise AnalysisError(f"item {item}: criterion marks for an item with no criteria")
            if matrix.shape != (n, len(spec.criteria)):
                raise AnalysisError(f"item {item}: criterion marks must be {n} by criteria")

    @property
    def unscored_cells(self) -> BoolArray:
        """True where a seen cell does not count towards the score; False everywhere else."""
        seen = ~np.isnan(self.marks)
        if self.unscored is None:
            return np.zeros(self.marks.shape, dtype=np.bool_)
        return np.asarray(self.unscored & seen, dtype=np.bool_)

    @classmethod
    def from_matrix(
        cls,
        candidates: Sequence[str],
        items: Sequence[ItemSpec],
        marks: npt.ArrayLike,
        *,
        chosen: Mapping[str, Sequence[str | None]] | npt.NDArray[np.object_] | None = None,
        forms: Sequence[str] | None = None,
        cut_marks: npt.ArrayLike | None = None,
        candidate_max_marks: npt.ArrayLike | None = None,
        criterion_marks: Mapping[str, npt.ArrayLike] | None = None,
        unscored: npt.ArrayLike | None = None,
    ) -> Responses:
        """Build from a marks matrix and, optionally, the chosen option ids.

        ``chosen`` is either an object matrix parallel to ``marks`` or a mapping
        from item id to a column of option ids (``None`` where nothing was
        chosen). Choices in cells that were not on the form are ignored. A NaN
        cut means that candidate has none.
        """
        matrix = np.array(marks, dtype=np.float64)
        n, k = len(candidates), len(items)
        if matrix.shape != (n, k):
            raise AnalysisError(f"the marks must be {n} candidates by {k} items")
        seen = ~np.isnan(matrix)
        choices = np.full((n, k), NO_CHOICE, dtype=np.intp)
        if chosen is not None:
            columns: Mapping[str, Sequence[str | None] | npt.NDArray[np.object_]]
            if isinstance(chosen, np.ndarray):
                if chosen.shape != (n, k):
                    raise AnalysisError(f"the chosen options must be {n} by {k}")
                columns = {spec.item: chosen[:, j] for j, spec in enumerate(items) if spec.options}
            else:
                columns = chosen
            index = {spec.item: j for j, spec in enumerate(items)}
            for item, column in columns.items():
                if item not in index:
                    raise AnalysisError(f"chosen options for unknown item {item}")
                j = index[item]
                choices[:, j] = _option_codes(items[j], column, seen[:, j])
        return cls(
            candidates=tuple(candidates),
            items=tuple(items),
            marks=matrix,
            choices=choices,
            forms=None if forms is None else tuple(forms),
            cut_marks=None if cut_marks is None else np.array(cut_marks, dtype=np.float64),
            candidate_max_marks=(
                None
                if candidate_max_marks is None
                else np.array(candidate_max_marks, dtype=np.float64)
            ),
            criterion_marks={
                item: np.array(values, dtype=np.float64)
                for item, values in (criterion_marks or {}).items()
            },
            unscored=None if unscored is None else np.array(unscored, dtype=np.bool_),
        )

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[ResponseRow],
        items: Sequence[ItemSpec],
        candidates: Sequence[CandidateSpec] | None = None,
    ) -> Responses:
        """Build from one row per (candidate, item) seen, as a service reads them.

        Candidates come from ``candidates`` (in that order) when given, otherwise
        in order of first appearance. Forms are used only if every candidate has one.
        """
        rows = list(rows)
        specs = {spec.candidate: spec for spec in candidates or ()}
        names = [row.candidate for row in rows]
        if candidates is not None and not specs.keys() >= set(names):
            unknown = sorted(set(names) - specs.keys())[0]
            raise AnalysisError(f"a response from unknown candidate {unknown}")
        order = {name: i for i, name in enumerate(dict.fromkeys([*specs, *names]))}
        column = {spec.item: j for j, spec in enumerate(items)}
        code = {(s.item, o): i for s in items for i, o in enumerate(s.options)}
        unknown_option = NO_CHOICE - 1
        n, k = len(order), len(items)
        r = np.array([order[name] for name in names], dtype=np.intp)
        c = np.array([column.get(row.item, -1) for row in rows], dtype=np.intp)
        o = np.array(
            [
                NO_CHOICE
                if row.option is None
                else code.get((row.item, row.option), unknown_option)
                for row in rows
            ],
            dtype=np.intp,
        )
        problems = [(c < 0, "unknown item"), (o == unknown_option, "unknown option")]
        for problem, message in problems:
            if problem.any():
                bad = rows[int(np.argmax(problem))]
                raise AnalysisError(f"a response with an {message}: {bad.item}, {bad.option}")
        values = np.array([row.marks for row in rows], dtype=np.float64)
        if np.isnan(values).any():
            raise AnalysisError("a response's marks must be a number (leave unmarked ones out)")
        marks = np.full((n, k), np.nan)
        marks[r, c] = values
        if np.count_nonzero(~np.isnan(marks)) != len(rows):
            raise AnalysisError("a candidate has two responses to one item")
        choices = np.full((n, k), NO_CHOICE, dtype=np.intp)
        choices[r, c] = o
        unscored = np.zeros((n, k), dtype=np.bool_)
        unscored[r, c] = np.array([not row.scored for row in rows], dtype=np.bool_)
        criteria: list[tuple[int, int, int, float]] = []
        for row in rows:
            if row.criterion_marks:
                j = column[row.item]
                index = {name: i for i, name in enumerate(items[j].criteria)}
                for criterion, value in row.criterion_marks.items():
                    if criterion not in index:
                        raise AnalysisError(f"item {row.item}: unknown criterion {criterion}")
                    criteria.append((order[row.candidate], j, index[criterion], value))
        by_criterion: dict[str, FloatArray] = {}
        for i, j, ci, value in criteria:
            spec = items[j]
            matrix = by_criterion.setdefault(spec.item, np.full((n, len(spec.criteria)), np.nan))
            matrix[i, ci] = value
        ids = list(order)
        people = [specs.get(candidate, CandidateSpec(candidate)) for candidate in ids]
        forms = [person.form for person in people]
        cuts = [math.nan if p.cut_marks is None else p.cut_marks for p in people]
        maxima = [p.max_marks for p in people]
        return cls(
            candidates=tuple(ids),
            items=tuple(items),
            marks=marks,
            choices=choices,
            forms=tuple(f for f in forms if f is not None) if all(forms) and forms else None,
            cut_marks=np.array(cuts) if any(not math.isnan(c) for c in cuts) else None,
            candidate_max_marks=(
                np.array(maxima, dtype=np.float64)
                if maxima and all(m is not None for m in maxima)
                else None
            ),
            criterion_marks=by_criterion,
            unscored=unscored if unscored.any() else None,
        )


def _frozen(array: npt.NDArray[Any], dtype: type[np.generic]) -> npt.NDArray[Any]:
    copy = np.array(array, dtype=dtype)
    copy.setflags(write=False)
    return copy


def _option_codes(
    spec: ItemSpec, column: Sequence[str | None] | npt.NDArray[np.object_], seen: BoolArray
) -> IntArray:
    """Turn one column of option ids into indices, looking only at the cells that were seen."""
    values = np.asarray(column, dtype=object)
    if values.shape != seen.shape:
        raise AnalysisError(f"item {spec.item}: one chosen option per candidate, please")
    lookup = {option: i for i, option in enumerate(spec.options)}
    codes = np.full(seen.shape, NO_CHOICE, dtype=np.intp)
    where = np.flatnonzero(seen)
    try:
        found = [NO_CHOICE if v is None else lookup[v] for v in values[where]]
    except KeyError as error:
        raise AnalysisError(f"item {spec.item}: unknown option {error.args[0]}") from None
    codes[where] = np.array(found, dtype=np.intp)
    return codes


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionStats:
    """One option of an objective item. Rates are shares of the candidates in the group.

    ``point_biserial`` correlates choosing this option (1 or 0) with the rest-of-form
    percent: positive for a working key, negative for a working distractor.
    """

    option: str
    is_key: bool
    count: int
    rate: float | None
    upper_rate: float | None
    lower_rate: float | None
    point_biserial: float | None


@dataclass(frozen=True)
class CriterionStats:
    """One rubric criterion of a written item: mean mark among candidates marked on it."""

    criterion: str
    n: int
    mean_marks: float | None
    max_marks: float | None
    facility: float | None


@dataclass(frozen=True)
class ItemStats:
    """One item's statistics among the candidates who saw it (see the module docstring).

    ``point_biserial`` is the corrected item-rest correlation (Moodle's
    discrimination index / 100). ``discrimination_index`` is D, the facility in
    the upper 27% by rest of form minus the facility in the lower 27%.
    ``discriminative_efficiency`` is Moodle's: cov(item, rest) / largest possible
    cov. These use the candidates who have a rest of form (not those whose form
    was this item alone). Anything undefined (fewer than 3 candidates, no
    variance) is ``None``.
    """

    item: str
    n: int
    max_marks: float
    mean_marks: float | None
    facility: float | None
    sd: float | None
    point_biserial: float | None
    upper_facility: float | None
    lower_facility: float | None
    discrimination_index: float | None
    discriminative_efficiency: float | None
    omitted_rate: float | None
    options: tuple[OptionStats, ...]
    criteria: tuple[CriterionStats, ...]
    competencies: tuple[str, ...]
    # Seen only as an unscored (pretest) item: its statistics are against the operational score.
    pretest: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(option.option for option in self.options if option.is_key)


@dataclass(frozen=True)
class ScoreStats:
    """Score (test) statistics for one form (``form`` set) or the whole assessment (``form`` None).

    Scores, SD, SEM and cuts are in percent of each candidate's form maximum.
    ``within_one_sem`` is the share of candidates with a cut whose percent lies
    within one SEM of their own cut (the ones at risk of misclassification).
    """

    form: str | None
    n: int
    typical_items: float | None
    mean: float | None
    median: float | None
    sd: float | None
    skewness: float | None
    kurtosis: float | None
    reliability: float | None
    coefficient: Coefficient
    reliability_method: ReliabilityMethod | None
    sem: float | None
    error_ratio: float | None
    mean_cut: float | None
    within_one_sem: float | None


@dataclass(frozen=True)
class CompetencyStats:
    """How much a competency statement's sub-score can bear.

    ``typical_items`` is the median number of the statement's items seen by the
    candidates who saw any. ``too_few_to_judge`` is set when that is below the
    threshold, or the sub-score's reliability is unknown or below its threshold.
    """

    statement: str
    pool_items: int
    candidates: int
    typical_items: float
    reliability: float | None
    reliability_method: SubscoreMethod | None
    too_few_to_judge: bool


@dataclass(frozen=True)
class Analysis:
    """Everything ``analyse`` found: items, the assessment, each form and each statement."""

    items: tuple[ItemStats, ...]
    assessment: ScoreStats
    forms: tuple[ScoreStats, ...]
    competencies: tuple[CompetencyStats, ...]
    group_fraction: float

    def item(self, item: str) -> ItemStats:
        for stats in self.items:
            if stats.item == item:
                return stats
        raise KeyError(item)

    def form(self, form: str) -> ScoreStats:
        for stats in self.forms:
            if stats.form == form:
                return stats
        raise KeyError(form)


# --------------------------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cells:
    """The matrix as a list of seen cells: candidate, item, marks."""

    rows: IntArray
    cols: IntArray
    marks: FloatArray
    choices: IntArray
    item_max: FloatArray  # per item
    n_candidates: int
    n_items: int
    scored: BoolArray  # per cell: counts towards the candidate's score


def _only(cells: _Cells, keep: BoolArray) -> _Cells:
    """The same matrix with only the kept cells."""
    return _Cells(
        rows=cells.rows[keep], cols=cells.cols[keep], marks=cells.marks[keep],
        choices=cells.choices[keep], item_max=cells.item_max, n_candidates=cells.n_candidates,
        n_items=cells.n_items, scored=cells.scored[keep],
    )  # fmt: skip


def analyse(
    responses: Responses,
    *,
    group_fraction: float = 0.27,
    min_form_size: int = 10,
    competency_min_items: float = 4,
    competency_min_reliability: float = 0.5,
) -> Analysis:
    """Compute every item, test and competency statistic for these responses.

    Upper and lower groups are the top and bottom ``group_fraction`` of the
    candidates who saw the item, by rest-of-form percent. Candidates tied at a
    group's boundary share the remaining places equally (each counts
    fractionally), so each group is exactly that share and no statistic depends on
    the order of the rows.

    Reliability, with missing cells:

    - For each form given (candidates who sat the same form id), alpha over that
      form's complete matrix (the items every member saw). KR-20 when every
      item is marked 0 or 1; it is the same number.
    - For the assessment, when forms are given: the mean of the forms' alphas
      weighted by their number of candidates, over forms of at least
      ``min_form_size`` candidates.
    - Otherwise (no forms, or no form big enough, as with forms drawn at random
      per candidate): an available-case alpha for a form of the typical length
      k (the median number of items a candidate saw). Each item is centred on
      its own mean; v is the mean squared deviation over every seen cell and c
      the mean cross-product over every pair of distinct items on the same
      candidate's form (so item pairs count as often as they were actually sat
      together); alpha = k*c / (v + (k - 1)*c). With no missing cells this is
      exactly Cronbach's alpha. It leaves out the variance between random forms
      in difficulty, which each form's own Angoff cut absorbs.

    Each competency statement's sub-score reliability is the same available-case
    alpha over the statement's items only, at the statement's typical count: it
    rests on how the statement's own items agree, where a Spearman–Brown
    projection from the whole test would assume they behave like every other
    item. When no candidate saw two of its items it falls back to Spearman–Brown
    from the assessment's reliability.
    """
    if not 0 < group_fraction <= 0.5:
        raise AnalysisError("the group fraction must be above 0 and at most 0.5")
    cells = _cells(responses)
    scored = _only(cells, cells.scored)
    total = _sum_by(scored.rows, scored.marks, cells.n_candidates)
    form_max = (
        responses.candidate_max_marks
        if responses.candidate_max_marks is not None
        else _sum_by(scored.rows, scored.item_max[scored.cols], cells.n_candidates)
    )
    # A scored cell leaves itself out of the rest; an unscored one was never in the total.
    own_marks = np.where(cells.scored, cells.marks, 0.0)
    own_max = np.where(cells.scored, cells.item_max[cells.cols], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        percent = np.where(form_max > 0, total / form_max * 100.0, np.nan)
        rest_max = form_max[cells.rows] - own_max
        rest = np.where(rest_max > 0, (total[cells.rows] - own_marks) / rest_max * 100.0, np.nan)
    items = _item_stats(responses, cells, rest, group_fraction)
    assessment, forms = _test_stats(responses, scored, percent, form_max, min_form_size)
    competencies = _competency_stats(
        responses, scored, assessment, competency_min_items, competency_min_reliability
    )
    return Analysis(items, assessment, forms, competencies, group_fraction)


def _cells(responses: Responses) -> _Cells:
    seen = ~np.isnan(responses.marks)
    rows, cols = np.nonzero(seen)
    return _Cells(
        rows=rows.astype(np.intp),
        cols=cols.astype(np.intp),
        marks=responses.marks[rows, cols],
        choices=responses.choices[rows, cols],
        item_max=np.array([spec.max_marks for spec in responses.items], dtype=np.float64),
        n_candidates=len(responses.candidates),
        n_items=len(responses.items),
        scored=~responses.unscored_cells[rows, cols],
    )


def _sum_by(groups: IntArray, weights: FloatArray, size: int) -> FloatArray:
    return np.asarray(np.bincount(groups, weights=weights, minlength=size), dtype=np.float64)


def _count_by(groups: IntArray, size: int) -> IntArray:
    return np.asarray(np.bincount(groups, minlength=size), dtype=np.intp)


def _ratio(numerator: FloatArray, denominator: FloatArray, ok: BoolArray) -> FloatArray:
    """numerator / denominator where ``ok`` (and the denominator is not 0), NaN elsewhere."""
    good = ok & (denominator != 0)
    safe = np.where(good, denominator, 1.0)
    return np.where(good, numerator / safe, np.nan)


def _varies(squares: FloatArray, n: FloatArray, scale: FloatArray) -> BoolArray:
    """Whether a sum of squared deviations shows a spread above a billionth of the scale."""
    return np.asarray(squares > n * (1e-9 * scale) ** 2, dtype=np.bool_)


def _value(number: float | np.floating | None) -> float | None:
    if number is None:
        return None
    number = float(number)
    return None if math.isnan(number) else number


# ---- items ----------------------------------------------------------------------------------


def _item_stats(
    responses: Responses, cells: _Cells, rest: FloatArray, fraction: float
) -> tuple[ItemStats, ...]:
    k = cells.n_items
    n = _count_by(cells.cols, k)
    mean = _ratio(_sum_by(cells.cols, cells.marks, k), n.astype(np.float64), n > 0)
    deviation = cells.marks - mean[cells.cols]
    sd = np.sqrt(_ratio(_sum_by(cells.cols, deviation**2, k), n.astype(np.float64) - 1, n > 1))

    # Discrimination uses the candidates who have a rest of form (not single-item forms).
    valid = ~np.isnan(rest)
    cols, x, r, choice = cells.cols[valid], cells.marks[valid], rest[valid], cells.choices[valid]
    nv = _count_by(cols, k)
    nvf = nv.astype(np.float64)
    enough = nv >= 3
    mean_x = _ratio(_sum_by(cols, x, k), nvf, nv > 0)
    mean_r = _ratio(_sum_by(cols, r, k), nvf, nv > 0)
    xc, rc = x - mean_x[cols], r - mean_r[cols]
    sxx, srr, sxr = _sum_by(cols, xc * xc, k), _sum_by(cols, rc * rc, k), _sum_by(cols, xc * rc, k)
    # A spread that is only rounding error is no spread: it would make noise look like a signal.
    spread = enough & _varies(sxx, nvf, cells.item_max) & _varies(srr, nvf, np.full(k, 100.0))
    point_biserial = _ratio(sxr, np.sqrt(sxx * srr), spread)

    # Sort by (item, rest) for the groups, and by (item, marks) for Moodle's largest covariance.
    by_rest = np.lexsort((r, cols))
    by_marks = np.lexsort((x, cols))
    cs, rs, xs = cols[by_rest], r[by_rest], x[by_rest]
    covmax = _sum_by(cs, (x[by_marks] - mean_x[cs]) * (rs - mean_r[cs]), k)
    efficiency = _ratio(sxr, covmax, spread)
    lower_w, upper_w = _group_weights(cs, rs, nv, fraction)
    places = fraction * nvf * cells.item_max
    upper = _ratio(_sum_by(cs, upper_w * xs, k), places, enough)
    lower = _ratio(_sum_by(cs, lower_w * xs, k), places, enough)

    options = _option_stats(
        responses, cells, n, (cols, choice[by_rest], rc[by_rest], cs), (lower_w, upper_w)
    )
    options_by_item, omitted = options
    criteria = _criterion_stats(responses)
    scored_n = _count_by(cells.cols[cells.scored], k)
    return tuple(
        ItemStats(
            item=spec.item,
            n=int(n[j]),
            max_marks=spec.max_marks,
            mean_marks=_value(mean[j]),
            facility=_value(mean[j] / spec.max_marks),
            sd=_value(sd[j] / spec.max_marks),
            point_biserial=_value(point_biserial[j]),
            upper_facility=_value(upper[j]),
            lower_facility=_value(lower[j]),
            discrimination_index=_value(upper[j] - lower[j]),
            discriminative_efficiency=_value(efficiency[j]),
            omitted_rate=_value(omitted[j]) if spec.options else None,
            options=options_by_item[j],
            criteria=criteria.get(spec.item, ()),
            competencies=spec.competencies,
            pretest=bool(n[j] > 0 and scored_n[j] == 0),
        )
        for j, spec in enumerate(responses.items)
    )


def _group_weights(
    cols: IntArray, rest: FloatArray, n: IntArray, fraction: float
) -> tuple[FloatArray, FloatArray]:
    """Each cell's weight in its item's lower and upper group; cells sorted by (item, rest).

    The lower group is the first ``fraction * n`` places of the item's sorted
    segment and the upper group the last. A run of tied rest scores that
    straddles a boundary shares the places inside it equally.
    """
    size = len(cols)
    if size == 0:
        empty = np.zeros(0, dtype=np.float64)
        return empty, empty
    position = np.arange(size)
    starts = np.concatenate(([0], np.cumsum(n)[:-1]))
    new_run = np.ones(size, dtype=bool)
    new_run[1:] = (cols[1:] != cols[:-1]) | (rest[1:] != rest[:-1])
    run_start = np.maximum.accumulate(np.where(new_run, position, 0))
    run_id = np.cumsum(new_run) - 1
    run_ends = np.append(np.flatnonzero(new_run)[1:], size)
    segment = starts[cols]
    a = (run_start - segment).astype(np.float64)
    b = (run_ends[run_id] - segment).astype(np.float64)
    length = b - a
    places = fraction * n[cols].astype(np.float64)
    lower = np.clip(places - a, 0.0, length) / length
    upper = np.clip(b - (n[cols] - places), 0.0, length) / length
    return lower, upper


def _option_stats(
    responses: Responses,
    cells: _Cells,
    n: IntArray,
    sorted_valid: tuple[IntArray, IntArray, FloatArray, IntArray],
    weights: tuple[FloatArray, FloatArray],
) -> tuple[list[tuple[OptionStats, ...]], FloatArray]:
    """Per option: count and rate overall, rates in the groups, and the option's point-biserial."""
    k = cells.n_items
    counts_per_item = np.array([len(spec.options) for spec in responses.items], dtype=np.intp)
    offsets = np.concatenate(([0], np.cumsum(counts_per_item)[:-1])).astype(np.intp)
    slots = int(counts_per_item.sum())
    if slots == 0:
        return [() for _ in responses.items], np.full(k, np.nan)
    chose = cells.choices >= 0
    slot_of = offsets[cells.cols[chose]] + cells.choices[chose]
    count = _count_by(slot_of, slots)
    item_of_slot = np.repeat(np.arange(k), counts_per_item)
    chosen_per_item = _count_by(cells.cols[chose], k)
    nf = n.astype(np.float64)
    omitted = _ratio(nf - chosen_per_item, nf, n > 0)

    cols_v, choice_s, rc_s, cs = sorted_valid
    nv = _count_by(cols_v, k).astype(np.float64)
    srr = _sum_by(cs, rc_s * rc_s, k)
    rest_varies = _varies(srr, nv, np.full(k, 100.0))
    chose_s = choice_s >= 0
    slot_s = offsets[cs[chose_s]] + choice_s[chose_s]
    lower_w, upper_w = weights
    places = _sum_by(cs, upper_w, k)  # the upper group's size: exactly fraction * n
    lower_places = _sum_by(cs, lower_w, k)
    enough = nv >= 3
    upper_rate = _ratio(
        _sum_by(slot_s, upper_w[chose_s], slots), places[item_of_slot], enough[item_of_slot]
    )
    lower_rate = _ratio(
        _sum_by(slot_s, lower_w[chose_s], slots), lower_places[item_of_slot], enough[item_of_slot]
    )
    n_o = _count_by(slot_s, slots).astype(np.float64)
    n_item = nv[item_of_slot]
    s_or = _sum_by(slot_s, rc_s[chose_s], slots)
    spread = n_o * (1.0 - _ratio(n_o, n_item, n_item > 0)) * srr[item_of_slot]
    defined = (enough & rest_varies)[item_of_slot] & (n_o > 0) & (n_o < n_item)
    option_pb = _ratio(s_or, np.sqrt(np.maximum(spread, 0.0)), defined)
    rate = _ratio(count.astype(np.float64), nf[item_of_slot], n[item_of_slot] > 0)

    result: list[tuple[OptionStats, ...]] = []
    for j, spec in enumerate(responses.items):
        start = int(offsets[j])
        result.append(
            tuple(
                OptionStats(
                    option=option,
                    is_key=option in spec.keys,
                    count=int(count[start + i]),
                    rate=_value(rate[start + i]),
                    upper_rate=_value(upper_rate[start + i]),
                    lower_rate=_value(lower_rate[start + i]),
                    point_biserial=_value(option_pb[start + i]),
                )
                for i, option in enumerate(spec.options)
            )
        )
    return result, omitted


def _criterion_stats(responses: Responses) -> dict[str, tuple[CriterionStats, ...]]:
    found: dict[str, tuple[CriterionStats, ...]] = {}
    by_id = {spec.item: (j, spec) for j, spec in enumerate(responses.items)}
    for item, matrix in responses.criterion_marks.items():
        j, spec = by_id[item]
        seen = ~np.isnan(responses.marks[:, j])
        marked = seen[:, None] & ~np.isnan(matrix)
        counts = marked.sum(axis=0)
        sums = np.where(marked, matrix, 0.0).sum(axis=0)
        stats = []
        for c, criterion in enumerate(spec.criteria):
            mean = float(sums[c] / counts[c]) if counts[c] else None
            top = spec.criterion_max_marks[c] if spec.criterion_max_marks else None
            stats.append(
                CriterionStats(
                    criterion=criterion,
                    n=int(counts[c]),
                    mean_marks=mean,
                    max_marks=top,
                    facility=None if mean is None or not top else mean / top,
                )
            )
        found[item] = tuple(stats)
    return found


# ---- tests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Moments:
    n: IntArray
    mean: FloatArray
    median: FloatArray
    sd: FloatArray
    skewness: FloatArray
    kurtosis: FloatArray


def _group_median(values: FloatArray, groups: IntArray, size: int) -> FloatArray:
    """The median of each group's values (NaN for an empty group)."""
    n = _count_by(groups, size)
    if len(values) == 0:
        return np.full(size, np.nan)
    ordered = values[np.lexsort((values, groups))]
    starts = np.concatenate(([0], np.cumsum(n)[:-1]))
    last = len(values) - 1
    low = np.clip(starts + (n - 1) // 2, 0, last)
    high = np.clip(starts + n // 2, 0, last)
    return np.where(n > 0, (ordered[low] + ordered[high]) / 2.0, np.nan)


def _moments(values: FloatArray, groups: IntArray, size: int) -> _Moments:
    """Moodle's test statistics per group: SD with n - 1, skewness k3/k2^1.5, kurtosis k4/k2^2."""
    n = _count_by(groups, size)
    nf = n.astype(np.float64)
    mean = _ratio(_sum_by(groups, values, size), nf, n > 0)
    d = values - mean[groups]
    m2, m3, m4 = (_ratio(_sum_by(groups, d**p, size), nf, n > 0) for p in (2, 3, 4))
    k2 = _ratio(nf * m2, nf - 1, n > 1)
    k3 = _ratio(nf * nf * m3, (nf - 1) * (nf - 2), n > 2)
    k4 = _ratio(
        nf * nf * ((nf + 1) * m4 - 3 * (nf - 1) * m2 * m2), (nf - 1) * (nf - 2) * (nf - 3), n > 3
    )
    with np.errstate(invalid="ignore"):
        spread = _varies(k2, np.ones(size), np.full(size, 100.0))
        skewness = _ratio(k3, k2**1.5, (n > 2) & spread)
        kurtosis = _ratio(k4, k2 * k2, (n > 3) & spread)
    median = _group_median(values, groups, size)
    return _Moments(n, mean, median, np.sqrt(k2), skewness, kurtosis)


def _test_stats(
    responses: Responses,
    cells: _Cells,
    percent: FloatArray,
    form_max: FloatArray,
    min_form_size: int,
) -> tuple[ScoreStats, tuple[ScoreStats, ...]]:
    scored = ~np.isnan(percent)
    cut = (
        np.full(cells.n_candidates, np.nan)
        if responses.cut_marks is None
        else _ratio(responses.cut_marks * 100.0, form_max, scored)
    )
    items_seen = _count_by(cells.rows, cells.n_candidates).astype(np.float64)
    binary = (cells.item_max[cells.cols] == 1) & ((cells.marks == 0) | (cells.marks == 1))
    coefficient: Coefficient = "KR-20" if bool(binary.all()) else "alpha"

    forms: tuple[ScoreStats, ...] = ()
    reliability = math.nan
    method: ReliabilityMethod | None = None
    if responses.forms is not None:
        names, form_of = np.unique(np.array(responses.forms, dtype=object), return_inverse=True)
        form_of = form_of.astype(np.intp)
        form_alpha, form_binary = _form_alphas(cells, form_of, len(names))
        forms = _scopes(
            [str(name) for name in names],
            form_of,
            (percent, cut, items_seen),
            form_alpha,
            ["KR-20" if binary else "alpha" for binary in form_binary],
            "form",
        )
        sizes = np.array([form.n for form in forms])
        big = (sizes >= min_form_size) & ~np.isnan(form_alpha)
        if big.any():
            reliability = float(np.average(form_alpha[big], weights=sizes[big]))
            method = "forms_weighted"
    if method is None:
        centred = cells.marks - _item_means(cells)[cells.cols]
        typical = _median_positive(items_seen)
        reliability = _available_case_alpha(cells.rows, centred, cells.n_candidates, typical)
        everything = bool((~np.isnan(responses.marks)).all()) and len(cells.marks) == (
            cells.n_candidates * cells.n_items
        )
        method = "complete" if everything else "available_case"
    (assessment,) = _scopes(
        [None],
        np.zeros(cells.n_candidates, dtype=np.intp),
        (percent, cut, items_seen),
        np.array([reliability]),
        [coefficient],
        method,
    )
    return assessment, forms


def _scopes(
    names: Sequence[str | None],
    groups: IntArray,
    per_candidate: tuple[FloatArray, FloatArray, FloatArray],
    reliability: FloatArray,
    coefficients: Sequence[Coefficient],
    method: ReliabilityMethod,
) -> tuple[ScoreStats, ...]:
    """Test statistics for each group of candidates (a form, or everyone), all at once."""
    percent, cut, items_seen = per_candidate
    size = len(names)
    scored = ~np.isnan(percent)
    moments = _moments(percent[scored], groups[scored], size)
    defined = ~np.isnan(reliability)
    error = np.sqrt(np.maximum(0.0, 1.0 - np.where(defined, reliability, 0.0)))
    error = np.where(defined, error, np.nan)
    sem = moments.sd * error
    has_cut = scored & ~np.isnan(cut)
    with_cut = _count_by(groups[has_cut], size)
    some = with_cut > 0
    mean_cut = _ratio(
        _sum_by(groups[has_cut], cut[has_cut], size), with_cut.astype(np.float64), some
    )
    near = np.abs(percent - cut) <= sem[groups] + 1e-12
    near_count = _count_by(groups[has_cut & near], size)
    within = _ratio(
        near_count.astype(np.float64), with_cut.astype(np.float64), some & ~np.isnan(sem)
    )
    seen = items_seen > 0
    typical = _group_median(items_seen[seen], groups[seen], size)
    return tuple(
        ScoreStats(
            form=name,
            n=int(moments.n[g]),
            typical_items=_value(typical[g]),
            mean=_value(moments.mean[g]),
            median=_value(moments.median[g]),
            sd=_value(moments.sd[g]),
            skewness=_value(moments.skewness[g]),
            kurtosis=_value(moments.kurtosis[g]),
            reliability=_value(reliability[g]),
            coefficient=coefficients[g],
            reliability_method=method if defined[g] else None,
            sem=_value(sem[g]),
            error_ratio=_value(100.0 * error[g]),
            mean_cut=_value(mean_cut[g]),
            within_one_sem=_value(within[g]),
        )
        for g, name in enumerate(names)
    )


def _item_means(cells: _Cells) -> FloatArray:
    n = _count_by(cells.cols, cells.n_items).astype(np.float64)
    return _ratio(_sum_by(cells.cols, cells.marks, cells.n_items), n, n > 0)


def _median_positive(counts: FloatArray) -> float:
    positive = counts[counts > 0]
    return float(np.median(positive)) if len(positive) else math.nan


def _available_case_alpha(rows: IntArray, centred: FloatArray, size: int, k: float) -> float:
    """alpha = k*c / (v + (k - 1)*c) from every seen cell and every pair on one candidate's form."""
    a = _sum_by(rows, centred, size)
    b = _sum_by(rows, centred * centred, size)
    m = _count_by(rows, size).astype(np.float64)
    pairs = float(np.sum(m * (m - 1)))
    if pairs == 0 or math.isnan(k):
        return math.nan
    c = float(np.sum(a * a - b)) / pairs
    v = float(np.sum(b)) / float(np.sum(m))
    denominator = v + (k - 1) * c
    return k * c / denominator if denominator > 0 else math.nan


def _form_alphas(cells: _Cells, form_of: IntArray, f: int) -> tuple[FloatArray, BoolArray]:
    """Alpha over each form's complete matrix: the items every candidate on the form saw."""
    k = cells.n_items
    form_size = _count_by(form_of, f)
    cell_form = form_of[cells.rows]
    pair = cell_form * k + cells.cols
    keys, which = np.unique(pair, return_inverse=True)
    which = which.astype(np.intp)
    u = len(keys)
    count = _count_by(which, u)
    complete = count == form_size[keys // k]
    in_form = complete[which]
    countf = count.astype(np.float64)
    mean = _ratio(_sum_by(which, cells.marks, u), countf, count > 0)
    item_var = _ratio(_sum_by(which, (cells.marks - mean[which]) ** 2, u), countf - 1, count > 1)
    form_of_key = (keys // k).astype(np.intp)
    sum_item_var = _sum_by(form_of_key[complete], item_var[complete], f)
    n_items = _count_by(form_of_key[complete], f).astype(np.float64)
    totals = _sum_by(cells.rows[in_form], cells.marks[in_form], cells.n_candidates)
    sizes = form_size.astype(np.float64)
    total_mean = _ratio(_sum_by(form_of, totals, f), sizes, form_size > 0)
    total_var = _ratio(
        _sum_by(form_of, (totals - total_mean[form_of]) ** 2, f), sizes - 1, form_size > 1
    )
    form_marks = _sum_by(form_of_key[complete], cells.item_max[keys % k][complete], f)
    ok = (form_size >= 3) & (n_items >= 2) & _varies(total_var, np.ones(f), form_marks)
    alpha = _ratio(n_items * (total_var - sum_item_var), (n_items - 1) * total_var, ok)
    maxima = cells.item_max[cells.cols[in_form]]
    marks = cells.marks[in_form]
    not_binary = ~((maxima == 1) & ((marks == 0) | (marks == 1)))
    binary = _count_by(cell_form[in_form][not_binary], f) == 0
    return alpha, binary


# ---- competency statements -----------------------------------------------------------------


def _competency_stats(
    responses: Responses,
    cells: _Cells,
    assessment: ScoreStats,
    min_items: float,
    min_reliability: float,
) -> tuple[CompetencyStats, ...]:
    # Only items that count towards someone's score make up a statement's sub-score.
    operational = _count_by(cells.cols, cells.n_items) > 0
    statements: dict[str, int] = {}
    for j, spec in enumerate(responses.items):
        for statement in spec.competencies if operational[j] else ():
            statements.setdefault(statement, len(statements))
    s = len(statements)
    if s == 0:
        return ()
    per_item = [
        [statements[st] for st in dict.fromkeys(spec.competencies)] if operational[j] else []
        for j, spec in enumerate(responses.items)
    ]
    tags = np.array([len(found) for found in per_item], dtype=np.intp)
    flat = np.array([i for found in per_item for i in found], dtype=np.intp)
    tag_start = np.concatenate(([0], np.cumsum(tags)[:-1])).astype(np.intp)
    pool_items = _count_by(flat, s)

    # Repeat each seen cell once per statement of its item.
    repeats = tags[cells.cols]
    cell = np.repeat(np.arange(len(cells.cols)), repeats)
    within = np.arange(len(cell)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    statement = flat[tag_start[cells.cols[cell]] + within]
    centred = (cells.marks - _item_means(cells)[cells.cols])[cell]
    n = cells.n_candidates
    key = cells.rows[cell] * s + statement
    seen = _count_by(key, n * s).reshape(n, s).astype(np.float64)
    a = _sum_by(key, centred, n * s).reshape(n, s)
    b = _sum_by(key, centred * centred, n * s).reshape(n, s)

    candidates = (seen > 0).sum(axis=0)
    who, which = np.nonzero(seen > 0)
    typical = _group_median(seen[who, which], which.astype(np.intp), s)
    pairs = (seen * (seen - 1)).sum(axis=0)
    c = _ratio((a * a - b).sum(axis=0), pairs, pairs > 0)
    v = _ratio(b.sum(axis=0), seen.sum(axis=0), candidates > 0)
    denominator = v + (typical - 1) * c
    alpha = _ratio(typical * c, denominator, (pairs > 0) & (denominator > 0))

    whole, whole_k = assessment.reliability, assessment.typical_items
    result = []
    for name, i in statements.items():
        reliability = _value(alpha[i])
        method: SubscoreMethod = "available_case"
        k = float(typical[i]) if candidates[i] else 0.0
        if reliability is None and whole is not None and whole_k and k > 0:
            ratio = k / whole_k
            reliability, method = ratio * whole / (1 + (ratio - 1) * whole), "spearman_brown"
        result.append(
            CompetencyStats(
                statement=name,
                pool_items=int(pool_items[i]),
                candidates=int(candidates[i]),
                typical_items=k,
                reliability=reliability,
                reliability_method=None if reliability is None else method,
                too_few_to_judge=(
                    k < min_items or reliability is None or reliability < min_reliability
                ),
            )
        )
    return tuple(result)


# --------------------------------------------------------------------------------------------
# Flags
# --------------------------------------------------------------------------------------------

Severity = Literal["hard", "soft"]


@dataclass(frozen=True)
class Thresholds:
    """When an item or a test is flagged for review. The defaults are the issue's.

    Hard: corrected point-biserial below ``discrimination_min``; the key not the
    most chosen option in the upper group; facility above ``hard_facility_max``
    or below ``hard_facility_min``. Soft: point-biserial below
    ``soft_point_biserial_min``; facility outside ``soft_facility_min`` to
    ``soft_facility_max``; a distractor chosen by fewer than
    ``distractor_min_rate`` of candidates; reliability below ``alpha_min``.
    """

    discrimination_min: float = 0.0
    hard_facility_max: float = 0.95
    hard_facility_min: float = 0.10
    soft_point_biserial_min: float = 0.20
    soft_facility_min: float = 0.30
    soft_facility_max: float = 0.89
    distractor_min_rate: float = 0.05
    alpha_min: float = 0.70


@dataclass(frozen=True)
class Flag:
    """One reason to review. ``code`` is stable; ``message`` is for people."""

    code: str
    severity: Severity
    message: str
    option: str | None = None


@dataclass(frozen=True)
class ItemFlags:
    item: str
    hard: tuple[Flag, ...]
    soft: tuple[Flag, ...]

    @property
    def flagged(self) -> bool:
        return bool(self.hard or self.soft)


@dataclass(frozen=True)
class ScoreFlags:
    """Flags for one form, or for the assessment (``form`` None)."""

    form: str | None
    flags: tuple[Flag, ...]


@dataclass(frozen=True)
class FlagReport:
    items: tuple[ItemFlags, ...]
    tests: tuple[ScoreFlags, ...]

    def for_item(self, item: str) -> ItemFlags:
        for flags in self.items:
            if flags.item == item:
                return flags
        raise KeyError(item)

    @property
    def flagged_items(self) -> tuple[ItemFlags, ...]:
        return tuple(flags for flags in self.items if flags.flagged)


def flag_items(stats: Analysis, thresholds: Thresholds | None = None) -> FlagReport:
    """Flag items (hard and soft, with reason codes) and tests whose reliability is low.

    A hard flag makes its milder soft twin redundant, so negative discrimination
    does not also say "low discrimination", nor an extreme facility "outside the
    target range". A statistic that is undefined raises no flag.
    """
    limits = thresholds or Thresholds()
    items = tuple(_item_flags(item, limits) for item in stats.items)
    tests = tuple(
        ScoreFlags(test.form, _test_flags(test, limits))
        for test in (stats.assessment, *stats.forms)
    )
    return FlagReport(items, tests)


def _item_flags(item: ItemStats, limits: Thresholds) -> ItemFlags:
    hard: list[Flag] = []
    soft: list[Flag] = []
    pb, facility = item.point_biserial, item.facility
    if pb is not None and pb < limits.discrimination_min:
        hard.append(
            Flag(
                "negative_discrimination",
                "hard",
                f"Corrected point-biserial {pb:.2f}: stronger candidates do worse on it. "
                "Check the key.",
            )
        )
    elif pb is not None and pb < limits.soft_point_biserial_min:
        soft.append(
            Flag(
                "low_discrimination",
                "soft",
                f"Corrected point-biserial {pb:.2f} is below {limits.soft_point_biserial_min:.2f}.",
            )
        )
    miskey = _possible_miskey(item)
    if miskey is not None:
        hard.append(
            Flag(
                "possible_miskey",
                "hard",
                f"Option {miskey} is chosen more than the key in the upper group.",
                option=miskey,
            )
        )
    if facility is not None:
        if facility > limits.hard_facility_max or facility < limits.hard_facility_min:
            code = "too_easy" if facility > limits.hard_facility_max else "too_hard"
            hard.append(
                Flag(
                    code,
                    "hard",
                    f"Facility {facility:.2f} is outside "
                    f"{limits.hard_facility_min:.2f}–{limits.hard_facility_max:.2f}.",
                )
            )
        elif facility > limits.soft_facility_max or facility < limits.soft_facility_min:
            soft.append(
                Flag(
                    "facility_outside_target",
                    "soft",
                    f"Facility {facility:.2f} is outside "
                    f"{limits.soft_facility_min:.2f}–{limits.soft_facility_max:.2f}.",
                )
            )
    for option in item.options:
        if (
            not option.is_key
            and option.rate is not None
            and option.rate < limits.distractor_min_rate
        ):
            soft.append(
                Flag(
                    "weak_distractor",
                    "soft",
                    f"Distractor {option.option} was chosen by {option.rate:.0%} of candidates.",
                    option=option.option,
                )
            )
    return ItemFlags(item.item, tuple(hard), tuple(soft))


def _possible_miskey(item: ItemStats) -> str | None:
    """The upper group's most chosen option, unless a key is (at least jointly) the most chosen."""
    rated = [option for option in item.options if option.upper_rate is not None]
    if not rated or not any(option.is_key for option in rated):
        return None
    top = max(option.upper_rate or 0.0 for option in rated)
    if top <= 0:
        return None
    if any(option.is_key and (option.upper_rate or 0.0) >= top - 1e-12 for option in rated):
        return None
    return next(o.option for o in rated if (o.upper_rate or 0.0) >= top - 1e-12)


def _test_flags(test: ScoreStats, limits: Thresholds) -> tuple[Flag, ...]:
    if test.reliability is not None and test.reliability < limits.alpha_min:
        where = f"Form {test.form}" if test.form is not None else "The assessment"
        return (
            Flag(
                "alpha_below",
                "soft",
                f"{where}: {test.coefficient} {test.reliability:.2f} "
                f"is below {limits.alpha_min:.2f}.",
            ),
        )
    return ()
