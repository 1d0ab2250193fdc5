"""Pydantic models of frameworks, banks, items and assessments, as written in YAML.

The models are frozen and forbid unknown keys, so a typo is an error rather
than silently dropped content. Scalars are strict: YAML already gives numbers,
booleans and dates their own types, so ``count: "3"`` or ``id: 7`` is reported
instead of quietly converted. Checks that span more than one field raise
:class:`FieldProblem`, which carries the data path of the value at fault so the
loader can point at its line.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,63}$"
STATEMENT_PATTERN = r"^[A-Z]{1,4}[0-9]{1,3}$"
OPTION_PATTERN = r"^[a-z0-9]{1,8}$"
CRITERION_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
URL_PATTERN = r"^https?://\S+$"
NOT_BLANK_PATTERN = r"\S"

PATTERN_MESSAGES = {
    SLUG_PATTERN: "must be 2 to 64 lower-case letters, digits or hyphens, "
    "starting with a letter or digit",
    STATEMENT_PATTERN: "must be 1 to 4 capital letters then 1 to 3 digits, such as P5 or PS7",
    OPTION_PATTERN: "must be 1 to 8 lower-case letters or digits",
    CRITERION_PATTERN: "must be 1 to 32 lower-case letters, digits or hyphens, "
    "starting with a letter or digit",
    URL_PATTERN: "must be a web address starting with https:// or http://",
    NOT_BLANK_PATTERN: "must not be blank",
}
"""What each identifier pattern means, for error messages."""

Slug = Annotated[str, StringConstraints(strict=True, pattern=SLUG_PATTERN)]
StatementId = Annotated[str, StringConstraints(strict=True, pattern=STATEMENT_PATTERN)]
OptionId = Annotated[str, StringConstraints(strict=True, pattern=OPTION_PATTERN)]
CriterionId = Annotated[str, StringConstraints(strict=True, pattern=CRITERION_PATTERN)]
Url = Annotated[str, StringConstraints(strict=True, pattern=URL_PATTERN, max_length=500)]
Text = Annotated[str, StringConstraints(strict=True, pattern=NOT_BLANK_PATTERN)]
Title = Annotated[str, StringConstraints(strict=True, pattern=NOT_BLANK_PATTERN, max_length=300)]
"""A title, which the database keeps in at most 300 characters."""
VersionName = Annotated[
    str, StringConstraints(strict=True, pattern=NOT_BLANK_PATTERN, max_length=40)
]
"""A framework version, which the database keeps in at most 40 characters."""
Markdown = Text
"""Markdown source; rendered and sanitised only when shown."""


# Upper bounds: far beyond any real bank, but small enough that a typo (an extra
# digit or two) is caught here rather than by the database or at delivery.
StatementNumber = Annotated[int, Field(strict=True, ge=1, le=999)]
Select = Annotated[int, Field(strict=True, ge=1, le=11)]
AnswerLength = Annotated[int, Field(strict=True, ge=1, le=2000)]
WordLimit = Annotated[int, Field(strict=True, ge=1, le=5000)]
Marks = Annotated[int, Field(strict=True, ge=1, le=100)]
DrawCount = Annotated[int, Field(strict=True, ge=1, le=200)]
ScenarioCount = Annotated[int, Field(strict=True, ge=1, le=50)]
ItemsEach = Annotated[int, Field(strict=True, ge=1, le=50)]
MaxAttempts = Annotated[int, Field(strict=True, ge=1, le=100)]
CoolOffDays = Annotated[int, Field(strict=True, ge=0, le=730)]
TimeLimit = Annotated[int, Field(strict=True, ge=1, le=1440)]

MAX_NUMBER = 1e12
"""Largest size of a numeric key or tolerance: far beyond any real answer."""
Number = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-MAX_NUMBER, le=MAX_NUMBER)]
Rating = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=1)]
Percent = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, le=100)]
Flag = Annotated[bool, Field(strict=True)]

ItemStatus = Literal["draft", "live", "retired"]
ItemType = Literal["single", "multiple", "ordering", "numeric", "text", "written"]
ITEM_TYPES: tuple[ItemType, ...] = ("single", "multiple", "ordering", "numeric", "text", "written")
ITEM_STATUSES: tuple[ItemStatus, ...] = ("draft", "live", "retired")
Audience = Literal["practitioner", "supervisor", "leader"]
Use = Literal["accreditation", "practice"]
USES: tuple[Use, ...] = ("accreditation", "practice")
DEFAULT_USE: tuple[Use, ...] = ("accreditation",)
"""Where an item may be used when it says nothing: accreditation only, so its key stays unseen."""


class FieldProblem(ValueError):
    """A validation failure that belongs to a value below the field being checked."""

    def __init__(
        self, message: str, *loc: str | int, first: tuple[str | int, ...] | None = None
    ) -> None:
        super().__init__(message)
        self.loc = loc
        self.first = first
        """For a duplicate, where the first occurrence is, relative to the field."""


class Model(BaseModel):
    """Base for every bank model: immutable, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _reject_duplicates(values: Iterable[Hashable], what: str, *inner: str) -> None:
    """Raise at the second occurrence of any value."""
    first: dict[Hashable, int] = {}
    for index, value in enumerate(values):
        if value in first:
            message = f"duplicate {what} {value!r}"
            raise FieldProblem(message, index, *inner, first=(first[value], *inner))
        first[value] = index


def _unique(what: str) -> Any:
    """Make a field validator that rejects repeated entries in a list."""

    def check(cls: type[Model], value: Sequence[Hashable] | None) -> Any:
        if value is not None:
            _reject_duplicates(value, what)
        return value

    return classmethod(check)


# Frameworks ---------------------------------------------------------------


class Statement(Model):
    """One statement of a competency framework, such as P5."""

    id: StatementId
    number: StatementNumber
    title: Title
    summary: Text


class Framework(Model):
    """A competency framework: a versioned, numbered list of statements."""

    id: Slug
    title: Title
    version: VersionName
    source_url: Url
    status: Literal["provisional", "published"]
    audience: Audience
    statements: tuple[Statement, ...] = Field(min_length=1)

    @field_validator("statements")
    @classmethod
    def _statements_unique(cls, statements: tuple[Statement, ...]) -> tuple[Statement, ...]:
        _reject_duplicates((s.id for s in statements), "statement id", "id")
        _reject_duplicates((s.number for s in statements), "statement number", "number")
        return statements


# Banks ----------------------------------------------------------------------


class Bank(Model):
    """A bank's ``bank.yaml``: its id, title and framework."""

    id: Slug
    title: Title
    framework: Slug


class Scenario(Model):
    """A case study shared by several items."""

    id: Slug
    title: Title
    vignette: Markdown
    status: ItemStatus = "live"


class Reference(Model):
    """A source that supports an item's key."""

    title: Text
    url: Url | None = None


class Option(Model):
    """One option of a single, multiple or ordering item."""

    id: OptionId
    text: Markdown


class Level(Model):
    """One level of a rubric criterion: the marks it gives and what an answer at it shows."""

    marks: Annotated[int, Field(strict=True, ge=0, le=100)]
    descriptor: Markdown


class RubricCriterion(Model):
    """One marking criterion of a written item, with a descriptor for each level of marks.

    The levels run from 0 up to the criterion's marks, in order; a marker gives
    one of them, so two markers applying the same descriptors give the same marks.
    """

    id: CriterionId
    criterion: Markdown
    marks: Marks
    levels: tuple[Level, ...] = Field(min_length=2, max_length=11)

    @field_validator("levels")
    @classmethod
    def _levels_span_the_marks(
        cls, levels: tuple[Level, ...], info: ValidationInfo
    ) -> tuple[Level, ...]:
        given = [level.marks for level in levels]
        for index, (before, after) in enumerate(itertools.pairwise(given)):
            if after <= before:
                raise FieldProblem(
                    "levels must rise in marks, each higher than the last", index + 1
                )
        if given[0] != 0:
            raise FieldProblem("the first level must be 0 marks", 0)
        marks = info.data.get("marks")
        if marks is not None and given[-1] != marks:
            raise FieldProblem(
                f"the top level must be the criterion's {marks} marks", len(levels) - 1
            )
        return levels


class ItemBase(Model):
    """Fields every item has."""

    id: Slug
    status: ItemStatus
    author: Text
    competencies: tuple[StatementId, ...] = Field(min_length=1)
    use: tuple[Use, ...] = Field(default=DEFAULT_USE, min_length=1)
    scenario: Slug | None = None
    stem: Markdown
    rationale: Markdown | None = None
    references: tuple[Reference, ...] | None = Field(default=None, min_length=1, max_length=20)
    angoff: tuple[Rating, ...] | None = Field(default=None, min_length=1, max_length=50)

    _competencies_unique = field_validator("competencies")(_unique("statement id"))

    @field_validator("use")
    @classmethod
    def _uses_in_order(cls, use: tuple[Use, ...]) -> tuple[Use, ...]:
        # One order, so [practice, accreditation] is the same content as the reverse.
        _reject_duplicates(use, "use")
        return tuple(u for u in USES if u in use)


class OptionsMixin(Model):
    """Checks shared by items that offer options."""

    @field_validator("options", check_fields=False)
    @classmethod
    def _option_ids_unique(cls, options: tuple[Option, ...]) -> tuple[Option, ...]:
        _reject_duplicates((o.id for o in options), "option id", "id")
        return options


def _option_ids(info: ValidationInfo) -> list[str] | None:
    """Return the ids of the options validated so far, or None if they were invalid."""
    options = info.data.get("options")
    return None if options is None else [o.id for o in options]


def _check_keys_exist(keys: Sequence[str], ids: list[str]) -> None:
    for index, key in enumerate(keys):
        if key not in ids:
            raise FieldProblem(f"{key!r} is not one of the option ids {_listed(ids)}", index)


def _listed(values: Iterable[object]) -> str:
    return ", ".join(str(v) for v in values)


class SingleItem(ItemBase, OptionsMixin):
    """One right option among two to eight."""

    type: Literal["single"]
    options: tuple[Option, ...] = Field(min_length=2, max_length=8)
    key: OptionId

    @field_validator("key")
    @classmethod
    def _key_is_an_option(cls, key: str, info: ValidationInfo) -> str:
        ids = _option_ids(info)
        if ids is not None and key not in ids:
            raise ValueError(f"{key!r} is not one of the option ids {_listed(ids)}")
        return key


class MultipleItem(ItemBase, OptionsMixin):
    """Exactly ``select`` right options among three to twelve."""

    type: Literal["multiple"]
    options: tuple[Option, ...] = Field(min_length=3, max_length=12)
    select: Select
    scoring: Literal["all_or_nothing", "partial"] = "all_or_nothing"
    key: tuple[OptionId, ...] = Field(min_length=1)

    @field_validator("select")
    @classmethod
    def _select_fewer_than_options(cls, select: int, info: ValidationInfo) -> int:
        ids = _option_ids(info)
        if ids is not None and select >= len(ids):
            raise ValueError(f"must be fewer than the {len(ids)} options")
        return select

    @field_validator("key")
    @classmethod
    def _key_matches_select(cls, key: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        _reject_duplicates(key, "option id")
        ids = _option_ids(info)
        if ids is not None:
            _check_keys_exist(key, ids)
        select = info.data.get("select")
        if select is not None and len(key) != select:
            ids_word = "option id" if len(key) == 1 else "option ids"
            raise ValueError(f"lists {len(key)} {ids_word} but select is {select}")
        return key


class OrderingItem(ItemBase, OptionsMixin):
    """Three to eight options to put in the right order."""

    type: Literal["ordering"]
    options: tuple[Option, ...] = Field(min_length=3, max_length=8)
    scoring: Literal["all_or_nothing", "proportion"] = "all_or_nothing"
    key: tuple[OptionId, ...] = Field(min_length=1)

    @field_validator("key")
    @classmethod
    def _key_is_a_permutation(cls, key: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        _reject_duplicates(key, "option id")
        ids = _option_ids(info)
        if ids is None:
            return key
        _check_keys_exist(key, ids)
        missing = [i for i in ids if i not in key]
        if missing:
            raise ValueError(f"must list every option id in order; missing {_listed(missing)}")
        return key


class NumericItem(ItemBase):
    """A number, right when within ``tolerance`` of the key."""

    type: Literal["numeric"]
    key: Number
    tolerance: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=MAX_NUMBER)] = 0
    unit: Text | None = None


class TextItem(ItemBase):
    """A short typed answer, right when it matches an accepted answer after normalising."""

    type: Literal["text"]
    max_length: AnswerLength = 200
    accepted: tuple[Text, ...] = Field(min_length=1, max_length=50)

    @field_validator("accepted")
    @classmethod
    def _accepted_fit(cls, accepted: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        _reject_duplicates(accepted, "accepted answer")
        max_length = info.data.get("max_length")
        for index, answer in enumerate(accepted):
            if max_length is not None and len(answer) > max_length:
                message = f"is {len(answer)} characters, longer than max_length {max_length}"
                raise FieldProblem(message, index)
        return accepted


class WrittenItem(ItemBase):
    """A written answer, marked by assessors against a rubric."""

    type: Literal["written"]
    word_limit: WordLimit
    rubric: tuple[RubricCriterion, ...] = Field(min_length=3, max_length=5)
    guidance: Markdown | None = None

    @field_validator("rubric")
    @classmethod
    def _criteria_unique(cls, rubric: tuple[RubricCriterion, ...]) -> tuple[RubricCriterion, ...]:
        _reject_duplicates((c.id for c in rubric), "criterion id", "id")
        return rubric

    @property
    def marks(self) -> int:
        """Return the item's worth: the sum of its rubric marks."""
        return sum(c.marks for c in self.rubric)


# Field order matters above: a field validator sees only the fields declared
# before it, so options and select come before key.
# OptionsMixin comes second in the bases so the item's own fields keep their order.

Item = Annotated[
    SingleItem | MultipleItem | OrderingItem | NumericItem | TextItem | WrittenItem,
    Field(discriminator="type"),
]


class BankFile(Model):
    """Any YAML file in a bank folder other than ``bank.yaml``."""

    scenarios: tuple[Scenario, ...] = ()
    items: tuple[Item, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _has_content(cls, data: Any) -> Any:
        if isinstance(data, dict) and not ({"scenarios", "items"} & data.keys()):
            raise ValueError("a bank file needs scenarios, items or both")
        return data


# Assessments ------------------------------------------------------------------


class FrameworkRef(Model):
    """The framework, and the version of it, an assessment scores against."""

    id: Slug
    version: VersionName


class StatementDraw(Model):
    """Draw ``count`` standalone items mapped to any of ``statements``."""

    bank: Slug
    statements: tuple[StatementId, ...] = Field(min_length=1)
    count: DrawCount
    types: tuple[ItemType, ...] | None = Field(default=None, min_length=1)
    pretest: Flag = False

    _statements_unique = field_validator("statements")(_unique("statement id"))
    _types_unique = field_validator("types")(_unique("item type"))


class ScenarioDraw(Model):
    """Draw ``scenarios`` whole scenarios and ``items_each`` items of each."""

    bank: Slug
    scenarios: ScenarioCount
    items_each: ItemsEach
    ids: tuple[Slug, ...] | None = Field(default=None, min_length=1)
    pretest: Flag = False

    _ids_unique = field_validator("ids")(_unique("scenario id"))


class FixedDraw(Model):
    """Always deliver the listed items."""

    bank: Slug
    fixed: tuple[Slug, ...] = Field(min_length=1, max_length=200)
    pretest: Flag = False

    _fixed_unique = field_validator("fixed")(_unique("item id"))


_DRAW_KEYS = {"statements": "statement-draw", "scenarios": "scenario-draw", "fixed": "fixed-draw"}


def _draw_kind(value: Any) -> str | None:
    """Tell the kind of a draw rule from which of its defining keys it has."""
    # Serialising hands over the model itself: name its own kind.
    for model, tag in _DRAW_MODELS:
        if isinstance(value, model):
            return tag
    if not isinstance(value, dict):
        # Let the first kind report that a mapping is needed.
        return "statement-draw"
    kinds = [tag for key, tag in _DRAW_KEYS.items() if key in value]
    return kinds[0] if len(kinds) == 1 else None


_DRAW_MODELS = (
    (StatementDraw, "statement-draw"),
    (ScenarioDraw, "scenario-draw"),
    (FixedDraw, "fixed-draw"),
)

DrawRule = Annotated[
    Annotated[StatementDraw, Tag("statement-draw")]
    | Annotated[ScenarioDraw, Tag("scenario-draw")]
    | Annotated[FixedDraw, Tag("fixed-draw")],
    Discriminator(
        _draw_kind,
        custom_error_type="draw_kind",
        custom_error_message="a draw rule needs exactly one of statements, scenarios or fixed",
    ),
]
DRAW_TAGS = frozenset(_DRAW_KEYS.values())


class Section(Model):
    """A titled part of an assessment, filled by its draw rules in order."""

    title: Text
    draws: tuple[DrawRule, ...] = Field(min_length=1, max_length=50)


class PassMark(Model):
    """How the overall cut score is set."""

    method: Literal["fixed", "angoff"]
    percent: Percent | None = Field(default=None, validate_default=True)
    sem_adjustment: (
        Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-3, le=3)] | None
    ) = Field(default=None, validate_default=True)

    @field_validator("percent")
    @classmethod
    def _percent_for_fixed(cls, percent: float | None, info: ValidationInfo) -> float | None:
        method = info.data.get("method")
        if method == "fixed" and percent is None:
            raise ValueError("is required when the method is fixed")
        if method == "angoff" and percent is not None:
            raise ValueError("applies only to the fixed method")
        return percent

    @field_validator("sem_adjustment")
    @classmethod
    def _sem_for_angoff(cls, sem: float | None, info: ValidationInfo) -> float | None:
        method = info.data.get("method")
        if method == "fixed" and sem is not None:
            raise ValueError("applies only to the angoff method")
        return 0.0 if method == "angoff" and sem is None else sem


DEFAULT_STATEMENT_THRESHOLD = 50.0


class CompetencyRule(Model):
    """Whether each statement must be passed on its own as well as overall."""

    method: Literal["compensatory", "conjunctive"]
    threshold_percent: Percent | None = Field(default=None, validate_default=True)

    @field_validator("threshold_percent")
    @classmethod
    def _threshold_for_conjunctive(
        cls, threshold: float | None, info: ValidationInfo
    ) -> float | None:
        method = info.data.get("method")
        if method == "conjunctive" and threshold is None:
            raise ValueError("is required when the method is conjunctive")
        # Under the compensatory rule the threshold only labels each statement in the
        # candidate's profile as met or not yet met; it never decides the outcome.
        return DEFAULT_STATEMENT_THRESHOLD if threshold is None else threshold


class AttemptPolicy(Model):
    """How often a candidate may sit the assessment."""

    max_attempts: MaxAttempts | None = None
    cool_off_days: CoolOffDays = 0


class ResultsPolicy(Model):
    """When results are released and whether candidates may review items."""

    release: Literal["immediate", "after_moderation"]
    review: Flag = False


PRACTICE_RESULTS = ResultsPolicy(release="immediate", review=True)
"""Results policy of a practice assessment that does not give one."""


class Window(Model):
    """When the assessment may be taken."""

    opens: Annotated[AwareDatetime, Field(strict=True)]
    closes: Annotated[AwareDatetime, Field(strict=True)]

    @field_validator("closes")
    @classmethod
    def _closes_after_opens(cls, closes: AwareDatetime, info: ValidationInfo) -> AwareDatetime:
        opens = info.data.get("opens")
        if opens is not None and closes <= opens:
            raise ValueError(f"must be after opens ({opens.isoformat()})")
        return closes


class MarkingRules(Model):
    """How written answers are marked and results moderated, with the defaults given here.

    Two markers' totals agree when they differ by no more than
    ``tolerance_percent`` of the item's marks and fall on the same side of the
    item's boundary (its Angoff standard: the marks a minimally competent
    candidate is expected to earn). The agreed mark is their mean, or the lower.
    A larger gap goes to a third marker, or straight to the moderator. Before
    release, results near the cut or failing with a written answer are
    moderated, and a sample of at least ``sample_percent`` of the rest, and no
    fewer than ``sample_minimum`` of them.
    """

    tolerance_percent: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=100)] = 10
    agreed_mark: Literal["mean", "lower"] = "mean"
    boundary: Literal["angoff", "none"] = "angoff"
    discrepancy: Literal["third_marker", "moderator"] = "third_marker"
    sample_percent: Percent = 10
    sample_minimum: Annotated[int, Field(strict=True, ge=0, le=10_000)] = 10


DEFAULT_MARKING = MarkingRules()


class Shuffle(Model):
    """Whether items, and options within items, are shuffled per attempt."""

    items: Flag = True
    options: Flag = True


def _without_default(schema: dict[str, Any]) -> None:
    """Leave out a placeholder default that is never the value."""
    schema.pop("default", None)


class Assessment(Model):
    """A blueprint from which each attempt draws its own form."""

    id: Slug
    title: Title
    framework: FrameworkRef
    audience: Audience
    mode: Literal["accreditation", "practice"]
    time_limit_minutes: TimeLimit | None = Field(default=None, validate_default=True)
    shuffle: Shuffle = Shuffle()
    sections: tuple[Section, ...] = Field(min_length=1, max_length=20)
    pass_mark: PassMark
    competency_rule: CompetencyRule = CompetencyRule(method="compensatory")
    attempts: AttemptPolicy = AttemptPolicy()
    # None stands for "not given" and never survives validation: accreditation
    # requires results and practice gets PRACTICE_RESULTS.
    results: ResultsPolicy = Field(
        default=None, validate_default=True, json_schema_extra=_without_default
    )
    feedback: Literal["after_each_item", "at_end"] | None = Field(
        default=None, validate_default=True
    )
    window: Window | None = None
    marking: MarkingRules = DEFAULT_MARKING

    @field_validator("time_limit_minutes")
    @classmethod
    def _timed_if_accreditation(cls, minutes: int | None, info: ValidationInfo) -> int | None:
        if minutes is None and info.data.get("mode") == "accreditation":
            raise ValueError("is required for accreditation mode")
        return minutes

    @field_validator("sections")
    @classmethod
    def _some_draw_scored(cls, sections: tuple[Section, ...]) -> tuple[Section, ...]:
        if all(rule.pretest for section in sections for rule in section.draws):
            raise ValueError("needs at least one draw rule that is not pretest")
        return sections

    @field_validator("results", mode="before")
    @classmethod
    def _results_if_accreditation(cls, results: Any, info: ValidationInfo) -> Any:
        if results is not None:
            return results
        if info.data.get("mode") == "accreditation":
            raise ValueError("is required for accreditation mode")
        return PRACTICE_RESULTS

    @field_validator("feedback")
    @classmethod
    def _feedback_if_practice(cls, feedback: str | None, info: ValidationInfo) -> str | None:
        mode = info.data.get("mode")
        if feedback is not None and mode == "accreditation":
            raise ValueError("applies only to practice mode")
        return "at_end" if feedback is None and mode == "practice" else feedback

    def draw_rules(self) -> list[tuple[int, int, StatementDraw | ScenarioDraw | FixedDraw]]:
        """Return every draw rule with its section and rule index, in delivery order."""
        return [
            (s, r, rule)
            for s, section in enumerate(self.sections)
            for r, rule in enumerate(section.draws)
        ]
