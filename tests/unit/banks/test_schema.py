"""The models: what each kind of file may hold, with clear errors where it may not."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from accredit.banks.jsonschema import DIALECT, json_schemas, schema_text, write_json_schemas
from accredit.banks.loader import problems_from
from accredit.banks.schema import (
    PRACTICE_RESULTS,
    Assessment,
    Bank,
    BankFile,
    FieldProblem,
    Framework,
    Item,
    MultipleItem,
    NumericItem,
    PassMark,
    SingleItem,
    WrittenItem,
)
from accredit.banks.yamlsource import YamlDocument

ITEMS = TypeAdapter(Item)
SCHEMA_DIR = Path(__file__).resolve().parents[3] / "docs" / "schemas"
MakeItem = Callable[..., dict[str, Any]]


def problems(model: type[BaseModel], raw: object) -> list[tuple[str, str]]:
    """Validate raw data and return (field, message) as the loader reports them."""
    try:
        model.model_validate(raw)
    except ValidationError as exc:
        document = YamlDocument(raw, {(): 1}, [])
        return [(p.field, p.message) for p in problems_from(exc.errors(), model, document, "f")]
    return []


def item_problems(raw: object) -> list[tuple[str, str]]:
    return problems(BankFile, {"items": [raw]})


@pytest.mark.parametrize("kind", ["single", "multiple", "ordering", "numeric", "text", "written"])
def test_every_item_type_of_the_valid_tree_validates(kind: str, make_item: MakeItem) -> None:
    parsed = ITEMS.validate_python(make_item(kind))

    assert parsed.type == kind


def test_items_are_frozen(make_item: MakeItem) -> None:
    parsed = ITEMS.validate_python(make_item("single"))

    with pytest.raises(ValidationError):
        parsed.stem = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kind", "changes", "field", "message"),
    [
        ("single", {"key": "z"}, "items[0].key", "'z' is not one of the option ids a, b, c, d"),
        (
            "single",
            {"options": [{"id": "a", "text": "A"}, {"id": "a", "text": "B"}], "key": "a"},
            "items[0].options[1].id",
            "duplicate option id 'a'",
        ),
        (
            "single",
            {"options": [{"id": "a", "text": "A"}]},
            "items[0].options",
            "must have at least 2 entries (has 1)",
        ),
        ("multiple", {"select": 5}, "items[0].select", "must be fewer than the 5 options"),
        (
            "multiple",
            {"key": ["a", "b", "z"]},
            "items[0].key[2]",
            "'z' is not one of the option ids a, b, c, d, e",
        ),
        ("multiple", {"key": ["a", "a", "b"]}, "items[0].key[1]", "duplicate option id 'a'"),
        ("ordering", {"key": ["a", "b", "b"]}, "items[0].key[2]", "duplicate option id 'b'"),
        ("numeric", {"key": ".nan"}, "items[0].key", "must be a number, not text"),
        ("numeric", {"key": float("nan")}, "items[0].key", "must be a finite number"),
        ("numeric", {"tolerance": -1}, "items[0].tolerance", "must be at least 0 (not -1)"),
        (
            "text",
            {"accepted": ["far too long an answer"], "max_length": 5},
            "items[0].accepted[0]",
            "is 22 characters, longer than max_length 5",
        ),
        (
            "text",
            {"accepted": ["same", "same"]},
            "items[0].accepted[1]",
            "duplicate accepted answer 'same'",
        ),
        (
            "written",
            {"rubric": [{"id": "r1", "criterion": "x", "marks": 0}]},
            "items[0].rubric[0].marks",
            "must be at least 1 (not 0)",
        ),
        ("written", {"key": "a"}, "items[0].key", "unknown key 'key'"),
        ("single", {"angoff": [0.5, -0.1]}, "items[0].angoff[1]", "must be at least 0 (not -0.1)"),
        ("single", {"references": []}, "items[0].references", "must have at least 1 entry"),
        ("single", {"competencies": ["P1", "P1"]}, "items[0].competencies[1]", "duplicate"),
        ("single", {"competencies": ["p1"]}, "items[0].competencies[0]", "'p1' must be 1 to 4"),
        ("single", {"stem": "   "}, "items[0].stem", "must not be blank"),
        ("single", {"status": "published"}, "items[0].status", "must be one of draft, live"),
        ("single", {"id": 7}, "items[0].id", "must be text, not a number (7); put it in quotes"),
        ("single", {"type": None}, "items[0].type", "is required; use one of single, multiple"),
        ("text-only", {}, "items[0]", "must be a mapping of keys to values, not text"),
        (
            "single",
            {"references": [{"title": "T", "url": "javascript:alert(1)"}]},
            "items[0].references[0].url",
            "must be a web address starting with https:// or http://",
        ),
    ],
)
def test_item_errors_name_the_field_and_say_what_is_wrong(
    kind: str, changes: dict[str, Any], field: str, message: str, make_item: MakeItem
) -> None:
    raw = "just text" if kind == "text-only" else make_item(kind, **changes)

    found = item_problems(raw)

    assert any(f == field and message in m for f, m in found), found


def test_duplicate_reports_name_the_line_of_the_first(make_item: MakeItem) -> None:
    raw = {"items": [make_item("single", competencies=["P1", "P2", "P1"])]}
    lines = {(): 1, ("items",): 1, ("items", 0): 2, ("items", 0, "competencies", 0): 6}
    lines[("items", 0, "competencies", 2)] = 8
    with pytest.raises(ValidationError) as caught:
        BankFile.model_validate(raw)

    found = problems_from(caught.value.errors(), BankFile, YamlDocument(raw, lines, []), "f")

    assert [str(p) for p in found] == [
        "f:8: items[0].competencies[2]: duplicate statement id 'P1' (first at line 6)"
    ]


def test_written_item_is_worth_its_rubric_marks(make_item: MakeItem) -> None:
    parsed = ITEMS.validate_python(make_item("written"))

    assert isinstance(parsed, WrittenItem)
    assert parsed.marks == 4


def test_defaults(make_item: MakeItem) -> None:
    multiple = ITEMS.validate_python(make_item("multiple", scoring=None))
    numeric = ITEMS.validate_python(make_item("numeric", tolerance=None, unit=None))

    assert isinstance(multiple, MultipleItem)
    assert multiple.scoring == "all_or_nothing"
    assert isinstance(numeric, NumericItem)
    assert numeric.tolerance == 0
    assert numeric.unit is None


def test_single_item_key_must_be_text(make_item: MakeItem) -> None:
    found = item_problems(make_item("single", key=1))

    assert found == [("items[0].key", "must be text, not a number (1); put it in quotes")]
    assert isinstance(ITEMS.validate_python(make_item("single")), SingleItem)


def test_a_bank_file_needs_scenarios_or_items() -> None:
    assert problems(BankFile, {}) == [("", "a bank file needs scenarios, items or both")]
    assert problems(BankFile, {"items": []}) == []


def test_framework_statement_ids_and_numbers_are_unique(raw_files: dict[str, Any]) -> None:
    raw = raw_files["frameworks/kss-test.yaml"]
    raw["statements"][2]["id"] = "P1"

    assert problems(Framework, raw) == [
        ("statements[2].id", "duplicate statement id 'P1' (first at line 1)")
    ]

    raw["statements"][2]["id"] = "P3"
    raw["statements"][2]["number"] = 2
    assert problems(Framework, raw) == [
        ("statements[2].number", "duplicate statement number 2 (first at line 1)")
    ]


def test_bank_forbids_unknown_keys_and_suggests_the_right_one() -> None:
    raw = {"id": "practice", "title": "T", "framwork": "kss-test"}

    assert problems(Bank, raw) == [
        ("framework", "is required but missing"),
        ("framwork", "unknown key 'framwork'; did you mean 'framework'?"),
    ]


def test_pass_mark_defaults_sem_adjustment_for_angoff_only() -> None:
    assert PassMark(method="angoff").sem_adjustment == 0
    assert PassMark(method="fixed", percent=60).sem_adjustment is None


def test_field_problem_carries_its_place() -> None:
    problem = FieldProblem("is wrong", 2, "id", first=(0, "id"))

    assert problem.loc == (2, "id")
    assert problem.first == (0, "id")
    assert str(problem) == "is wrong"


def _rule(**rule: Any) -> list[dict[str, Any]]:
    return [{"title": "S", "draws": [{"bank": "practice", **rule}]}]


class TestAssessment:
    def test_the_valid_examples_parse(
        self, make_assessment: MakeItem, raw_files: dict[str, Any]
    ) -> None:
        accreditation = Assessment.model_validate(make_assessment())
        practice = Assessment.model_validate(raw_files["assessments/practice-quiz.yaml"])

        assert accreditation.pass_mark.sem_adjustment == 0
        assert practice.results == PRACTICE_RESULTS
        assert practice.feedback == "after_each_item"
        assert practice.time_limit_minutes is None
        assert len(accreditation.draw_rules()) == 4

    def test_practice_feedback_defaults_to_at_end(self, raw_files: dict[str, Any]) -> None:
        raw = raw_files["assessments/practice-quiz.yaml"]
        del raw["feedback"]

        assert Assessment.model_validate(raw).feedback == "at_end"

    @pytest.mark.parametrize(
        ("changes", "field", "message"),
        [
            ({"time_limit_minutes": None}, "time_limit_minutes", "is required for accreditation"),
            ({"results": None}, "results", "is required for accreditation mode"),
            ({"feedback": "at_end"}, "feedback", "applies only to practice mode"),
            ({"mode": "exam"}, "mode", "must be one of accreditation or practice (not 'exam')"),
            (
                {"pass_mark": {"method": "fixed"}},
                "pass_mark.percent",
                "is required when the method is fixed",
            ),
            (
                {"pass_mark": {"method": "fixed", "percent": 0}},
                "pass_mark.percent",
                "must be more than 0 (not 0)",
            ),
            (
                {"pass_mark": {"method": "angoff", "percent": 60}},
                "pass_mark.percent",
                "applies only to the fixed method",
            ),
            (
                {"pass_mark": {"method": "fixed", "percent": 60, "sem_adjustment": 1}},
                "pass_mark.sem_adjustment",
                "applies only to the angoff method",
            ),
            (
                {"competency_rule": {"method": "conjunctive"}},
                "competency_rule.threshold_percent",
                "is required when the method is conjunctive",
            ),
            (
                {"competency_rule": {"method": "conjunctive", "threshold_percent": 120}},
                "competency_rule.threshold_percent",
                "must be at most 100 (not 120)",
            ),
            (
                {"window": {"opens": "2027-01-04", "closes": "2027-02-04"}},
                "window.opens",
                "must be a date and time with a time zone",
            ),
            (
                {"sections": _rule(count=2)},
                "sections[0].draws[0]",
                "a draw rule needs exactly one of statements, scenarios or fixed",
            ),
            (
                {"sections": _rule(fixed=["a-b"], pretest=True)},
                "sections",
                "needs at least one draw rule that is not pretest",
            ),
            (
                {"sections": _rule(statements=["P1"], count="2")},
                "sections[0].draws[0].count",
                "must be a whole number, not text",
            ),
            (
                {"sections": _rule(scenarios=1, items_each=2, count=1)},
                "sections[0].draws[0].count",
                "unknown key 'count'",
            ),
        ],
    )
    def test_errors(
        self, changes: dict[str, Any], field: str, message: str, make_assessment: MakeItem
    ) -> None:
        found = problems(Assessment, make_assessment(**changes))

        assert any(f == field and message in m for f, m in found), found

    def test_window_opens_before_it_closes(self, make_assessment: MakeItem) -> None:
        raw = make_assessment()
        raw["window"]["closes"] = raw["window"]["opens"]

        assert problems(Assessment, raw) == [
            ("window.closes", "must be after opens (2027-01-04T09:00:00+00:00)")
        ]


class TestJsonSchemas:
    def test_every_kind_of_file_has_a_draft_2020_12_schema(self) -> None:
        schemas = json_schemas()

        assert sorted(schemas) == ["assessment", "bank", "bank-file", "framework"]
        assert all(s["$schema"] == DIALECT for s in schemas.values())
        assert schemas["bank"]["additionalProperties"] is False
        assert schemas["bank"]["properties"]["id"]["pattern"] == "^[a-z0-9][a-z0-9-]{1,63}$"

    def test_files_on_disk_match_the_models(self) -> None:
        for name, schema in json_schemas().items():
            on_disk = (SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8")
            assert on_disk == schema_text(schema), (
                f"docs/schemas/{name}.json is stale; regenerate it with write_json_schemas()"
            )

    def test_write_json_schemas_writes_one_file_per_schema(self, tmp_path: Path) -> None:
        written = write_json_schemas(tmp_path / "schemas")

        assert sorted(p.name for p in written) == [
            "assessment.json",
            "bank-file.json",
            "bank.json",
            "framework.json",
        ]
        assert json.loads(written[0].read_text(encoding="utf-8"))["$schema"] == DIALECT


def test_use_defaults_to_accreditation_only_and_keeps_one_order(make_item: MakeItem) -> None:
    assert ITEMS.validate_python(make_item("single", use=None)).use == ("accreditation",)
    both = ITEMS.validate_python(make_item("single", use=["practice", "accreditation"]))
    assert both.use == ("accreditation", "practice")


@pytest.mark.parametrize(
    ("use", "field", "message"),
    [
        (["exam"], "items[0].use[0]", "must be one of accreditation or practice (not 'exam')"),
        ([], "items[0].use", "must have at least 1 entry (has 0)"),
        (
            ["practice", "practice"],
            "items[0].use[1]",
            "duplicate use 'practice' (first at line 1)",
        ),
        ("practice", "items[0].use", "must be a list, not text"),
    ],
)
def test_use_errors(use: object, field: str, message: str, make_item: MakeItem) -> None:
    assert (field, message) in item_problems(make_item("single", use=use))


@pytest.mark.parametrize(
    ("kind", "changes", "field", "message"),
    [
        ("multiple", {"select": 12}, "items[0].select", "must be at most 11 (not 12)"),
        ("text", {"max_length": 2001}, "items[0].max_length", "must be at most 2000 (not 2001)"),
        ("written", {"word_limit": 10**9}, "items[0].word_limit", "must be at most 5000"),
        (
            "written",
            {"rubric": [{"id": "r1", "criterion": "C", "marks": 101}]},
            "items[0].rubric[0].marks",
            "must be at most 100 (not 101)",
        ),
        ("numeric", {"key": 1e13}, "items[0].key", "must be at most 1000000000000"),
        ("numeric", {"tolerance": 1e13}, "items[0].tolerance", "must be at most 1000000000000"),
        ("single", {"angoff": [0.5] * 51}, "items[0].angoff", "must have at most 50 entries"),
    ],
)
def test_item_numbers_have_upper_bounds(
    kind: str, changes: dict[str, Any], field: str, message: str, make_item: MakeItem
) -> None:
    found = item_problems(make_item(kind, **changes))

    assert any(f == field and message in m for f, m in found), found


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"time_limit_minutes": 1441}, "time_limit_minutes", "must be at most 1440 (not 1441)"),
        (
            {"attempts": {"max_attempts": 101}},
            "attempts.max_attempts",
            "must be at most 100 (not 101)",
        ),
        (
            {"attempts": {"cool_off_days": 99999999999}},
            "attempts.cool_off_days",
            "must be at most 730 (not 99999999999)",
        ),
        (
            {"sections": _rule(statements=["P1"], count=201)},
            "sections[0].draws[0].count",
            "must be at most 200 (not 201)",
        ),
        (
            {"sections": _rule(scenarios=51, items_each=1)},
            "sections[0].draws[0].scenarios",
            "must be at most 50 (not 51)",
        ),
        (
            {"sections": _rule(scenarios=1, items_each=51)},
            "sections[0].draws[0].items_each",
            "must be at most 50 (not 51)",
        ),
        ({"title": "T" * 301}, "title", "must be at most 300 characters (has 301)"),
    ],
)
def test_assessment_numbers_have_upper_bounds(
    changes: dict[str, Any], field: str, message: str, make_assessment: MakeItem
) -> None:
    found = problems(Assessment, make_assessment(**changes))

    assert any(f == field and message in m for f, m in found), found


def test_framework_fields_fit_the_database(raw_files: dict[str, Any]) -> None:
    raw = dict(raw_files["frameworks/kss-test.yaml"], version="v" * 41)
    raw["statements"] = [dict(raw["statements"][0], number=2**40)]

    assert problems(Framework, raw) == [
        ("version", "must be at most 40 characters (has 41)"),
        ("statements[0].number", f"must be at most 999 (not {2**40})"),
    ]


def _criterion(number: int, levels: list[int], marks: int | None = None) -> dict[str, object]:
    return {
        "id": f"r{number}", "criterion": f"Criterion {number}",
        "marks": levels[-1] if marks is None else marks,
        "levels": [{"marks": m, "descriptor": f"At {m}"} for m in levels],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("rubric", "field", "message"),
    [
        ([_criterion(1, [0, 1]), _criterion(2, [0, 1])], "items[0].rubric",
         "must have at least 3 entries (has 2)"),
        ([_criterion(n, [0, 1]) for n in range(6)], "items[0].rubric",
         "must have at most 5 entries (has 6)"),
        ([_criterion(1, [1, 2]), _criterion(2, [0, 1]), _criterion(3, [0, 1])],
         "items[0].rubric[0].levels[0]", "the first level must be 0 marks"),
        ([_criterion(1, [0, 2, 1], marks=1), _criterion(2, [0, 1]), _criterion(3, [0, 1])],
         "items[0].rubric[0].levels[2]", "levels must rise in marks, each higher than the last"),
        ([_criterion(1, [0, 1], marks=3), _criterion(2, [0, 1]), _criterion(3, [0, 1])],
         "items[0].rubric[0].levels[1]", "the top level must be the criterion's 3 marks"),
    ],
)  # fmt: skip
def test_a_rubric_has_three_to_five_criteria_with_levels_spanning_their_marks(
    make_item: MakeItem, rubric: list[dict[str, object]], field: str, message: str
) -> None:
    assert (field, message) in item_problems(make_item("written", rubric=rubric))


def test_a_criterion_without_level_descriptors_is_refused(make_item: MakeItem) -> None:
    rubric = [_criterion(n, [0, 1]) for n in range(3)]
    del rubric[1]["levels"]

    assert ("items[0].rubric[1].levels", "is required but missing") in item_problems(
        make_item("written", rubric=rubric)
    )


def test_levels_may_skip_marks_so_a_marker_chooses_between_bands(make_item: MakeItem) -> None:
    rubric = [_criterion(1, [0, 2, 4]), _criterion(2, [0, 1]), _criterion(3, [0, 1])]

    parsed = ITEMS.validate_python(make_item("written", rubric=rubric))

    assert isinstance(parsed, WrittenItem)
    assert [level.marks for level in parsed.rubric[0].levels] == [0, 2, 4]
    assert parsed.marks == 6
