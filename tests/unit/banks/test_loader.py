"""Loading whole trees: one row per kind of error, and many errors in one pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from accredit.banks import load_tree
from accredit.banks.yamlsource import Problem

Edit = Callable[[Path, str, str, str], None]
FindLine = Callable[[Path, str, str], int]
WriteBank = Callable[[Path, dict[str, object]], Path]

STANDALONE = "banks/practice/standalone.yaml"
CASES = "banks/practice/cases.yaml"
EXTRA = "banks/practice/extra.yaml"
BANK = "banks/practice/bank.yaml"
ACCREDITATION = "assessments/accreditation.yaml"
PRACTICE = "assessments/practice-quiz.yaml"

DRAFT_ITEM = """\
items:
  - id: pra-draft
    type: single
    status: draft
    author: Test content team
    competencies: [P1]
    scenario: scn-amria
    stem: A draft item.
    options:
      - {id: a, text: One}
      - {id: b, text: Two}
    key: a
"""


@dataclass(frozen=True)
class Case:
    """One way to break the valid tree, and the single error it must cause."""

    file: str
    old: str | None  # None: write ``new`` as the whole file
    new: str | bytes
    marker: str | int  # text on the expected line, or the line number itself
    field: str
    message: str
    at: str | None = None  # the file the error is in, when not the edited one

    @property
    def error_file(self) -> str:
        """Return the file the error must be reported in."""
        return self.at or self.file


CASES_TABLE: dict[str, Case] = {
    "syntax error": Case(
        STANDALONE,
        "stem: Which three of these are signs of neglect?",
        "stem: Which three: of these are signs of neglect?",
        "Which three: of these",
        "",
        "invalid YAML: mapping values are not allowed",
    ),
    "missing key": Case(
        STANDALONE,
        "    key: 45\n",
        "",
        "- id: pra-numeric",
        "items[3].key",
        "is required but missing",
    ),
    "unknown key": Case(
        STANDALONE,
        "    tolerance: 0\n",
        "    tolerence: 0\n",
        "tolerence: 0",
        "items[3].tolerence",
        "unknown key 'tolerence'; did you mean 'tolerance'?",
    ),
    "key names no option": Case(
        STANDALONE,
        "    key: b\n",
        "    key: z\n",
        "key: z",
        "items[0].key",
        "'z' is not one of the option ids a, b, c, d",
    ),
    "multiple key count is not select": Case(
        STANDALONE,
        "    scoring: partial\n    key: [a, b, c]",
        "    scoring: partial\n    key: [a, b]",
        "key: [a, b]",
        "items[1].key",
        "lists 2 option ids but select is 3",
    ),
    "ordering key not a permutation": Case(
        STANDALONE,
        "    key: [a, b, c]\n    rationale: Information",
        "    key: [a, c]\n    rationale: Information",
        "key: [a, c]",
        "items[2].key",
        "must list every option id in order; missing b",
    ),
    "unknown item type": Case(
        STANDALONE,
        "    type: ordering\n",
        "    type: ordring\n",
        "type: ordring",
        "items[2].type",
        "'ordring' is not one of single, multiple, ordering, numeric, text, written",
    ),
    "unknown statement id": Case(
        STANDALONE,
        "competencies: [P1, P2]",
        "competencies: [P1, P7]",
        "competencies: [P1, P7]",
        "items[1].competencies[1]",
        "statement 'P7' is not in framework 'kss-test'",
    ),
    "duplicate item id across files": Case(
        EXTRA,
        None,
        DRAFT_ITEM.replace("pra-draft", "pra-case-1").replace("    scenario: scn-amria\n", ""),
        "- id: pra-case-1",
        "items[0].id",
        # Line 8 of cases.yaml is "  - id: pra-case-1".
        "duplicate item id 'pra-case-1' "
        "(first defined at question_banks/banks/practice/cases.yaml:8)",
    ),
    "duplicate scenario id": Case(
        EXTRA,
        None,
        "scenarios:\n  - id: scn-amira\n    title: A copy\n    vignette: Copied text.\n",
        "- id: scn-amira",
        "scenarios[0].id",
        "duplicate scenario id 'scn-amira' (first defined at "
        "question_banks/banks/practice/cases.yaml:2)",
    ),
    "unknown scenario reference": Case(
        EXTRA,
        None,
        DRAFT_ITEM,
        "scenario: scn-amria",
        "items[0].scenario",
        "scenario 'scn-amria' does not exist in bank 'practice'; did you mean 'scn-amira'?",
    ),
    "pool smaller than its draw": Case(
        ACCREDITATION,
        "statements: [P1], count: 1",
        "statements: [P1], count: 3",
        "statements: [P1], count: 3",
        "sections[0].draws[0]",
        "pool has 2 live standalone accreditation items for P1 but the rule draws 3",
    ),
    "scenario pool smaller than its draw": Case(
        ACCREDITATION,
        "scenarios: 1, items_each: 4",
        "scenarios: 1, items_each: 5",
        "items_each: 5",
        "sections[1].draws[0]",
        "pool has 0 live scenarios with at least 5 live accreditation items but the rule draws 1",
    ),
    "python object tag": Case(
        STANDALONE,
        "    rationale: Section 47 places",
        "    rationale: !!python/object:os.system Section 47 places",
        "!!python/object",
        "items[0].rationale",
        "the tag !!python/object:os.system is not allowed",
    ),
    "python name tag": Case(
        STANDALONE,
        "    unit: working days",
        "    unit: !!python/name:os.system ''",
        "!!python/name",
        "items[3].unit",
        "the tag !!python/name:os.system is not allowed",
    ),
    "custom tag": Case(
        STANDALONE,
        "    guidance: Credit any",
        "    guidance: !include Credit any",
        "!include",
        "items[5].guidance",
        "the tag !include is not allowed",
    ),
    "duplicate mapping key": Case(
        STANDALONE,
        "    tolerance: 0\n",
        "    tolerance: 0\n    tolerance: 1\n",
        "tolerance: 1",
        "items[3].tolerance",
        "duplicate key 'tolerance' (first at line",
    ),
    "angoff out of range": Case(
        STANDALONE,
        "angoff: [0.4]",
        "angoff: [1.4]",
        "angoff: [1.4]",
        "items[2].angoff[0]",
        "must be at most 1 (not 1.4)",
    ),
    "pass mark out of range": Case(
        PRACTICE,
        "percent: 60",
        "percent: 160",
        "percent: 160",
        "pass_mark.percent",
        "must be at most 100 (not 160)",
    ),
    "assessment framework missing": Case(
        PRACTICE,
        "{id: kss-test,",
        "{id: kss-tset,",
        "kss-tset",
        "framework.id",
        "framework 'kss-tset' does not exist; did you mean 'kss-test'?",
    ),
    "framework version mismatch": Case(
        PRACTICE,
        'version: "2018-05"}',
        'version: "2019-01"}',
        "2019-01",
        "framework.version",
        "framework 'kss-test' is at version '2018-05' "
        "(question_banks/frameworks/kss-test.yaml:1), not '2019-01'",
    ),
    "audience mismatch": Case(
        PRACTICE,
        "audience: practitioner",
        "audience: leader",
        "audience: leader",
        "audience",
        "audience 'leader' does not match framework 'kss-test', whose audience is 'practitioner'",
    ),
    "window closes before it opens": Case(
        ACCREDITATION,
        "closes: 2027-03-31T17:00:00Z",
        "closes: 2026-03-31T17:00:00Z",
        "closes:",
        "window.closes",
        "must be after opens (2027-01-04T09:00:00+00:00)",
    ),
    "time limit missing for accreditation": Case(
        ACCREDITATION,
        "time_limit_minutes: 60\n",
        "",
        1,
        "time_limit_minutes",
        "is required for accreditation mode",
    ),
    "feedback given for accreditation": Case(
        ACCREDITATION,
        "mode: accreditation\n",
        "mode: accreditation\nfeedback: at_end\n",
        "feedback: at_end",
        "feedback",
        "applies only to practice mode",
    ),
    "fixed item not live": Case(
        STANDALONE,
        "    status: live\n    author: Test content team\n    competencies: [P3]\n    stem: Exp",
        "    status: draft\n    author: Test content team\n    competencies: [P3]\n    stem: Exp",
        "fixed: [pra-written]",
        "sections[2].draws[0].fixed[0]",
        "item 'pra-written' is draft, not live (question_banks/banks/practice/standalone.yaml:",
        at=ACCREDITATION,
    ),
    "bank id is not its folder name": Case(
        BANK,
        "id: practice",
        "id: practise",
        "id: practise",
        "id",
        "bank id 'practise' does not match its folder name 'practice'",
    ),
    "assessment id is not its file name": Case(
        PRACTICE,
        "id: practice-quiz",
        "id: practice-test",
        "id: practice-test",
        "id",
        "assessment id 'practice-test' does not match its file name 'practice-quiz'",
    ),
    "non-UTF-8 file": Case(
        EXTRA,
        None,
        b"items:\n  - id: pra-latin\n    stem: caf\xe9\n",
        3,
        "",
        "is not valid UTF-8 (byte 0xe9); save the file as UTF-8",
    ),
    "empty file": Case(EXTRA, None, "# nothing here yet\n", 1, "", "is empty"),
    "top-level list": Case(
        EXTRA,
        None,
        "- id: pra-list\n  type: single\n",
        1,
        "",
        "must be a mapping of keys to values, not a list",
    ),
    "bank file with neither scenarios nor items": Case(
        EXTRA, None, "title: notes\n", 1, "", "a bank file needs scenarios, items or both"
    ),
    "id with capital letters": Case(
        STANDALONE,
        "  - id: pra-numeric",
        "  - id: PRA-Numeric",
        "PRA-Numeric",
        "items[3].id",
        "'PRA-Numeric' must be 2 to 64 lower-case letters, digits or hyphens",
    ),
    "number given where text is needed": Case(
        PRACTICE,
        'version: "2018-05"}',
        "version: 2018}",
        "version: 2018",
        "framework.version",
        "must be text, not a number (2018); put it in quotes",
    ),
}


def _apply(root: Path, case: Case, edit: Edit) -> None:
    path = root / case.file
    if case.old is None:
        if isinstance(case.new, bytes):
            path.write_bytes(case.new)
        else:
            path.write_text(case.new, encoding="utf-8")
    else:
        assert isinstance(case.new, str)
        edit(root, case.file, case.old, case.new)


def _expected_line(root: Path, case: Case, find_line: FindLine) -> int:
    if isinstance(case.marker, int):
        return case.marker
    return find_line(root, case.error_file, case.marker)


def test_valid_tree_has_no_problems(valid_tree: Path) -> None:
    result = load_tree(valid_tree)

    assert result.errors == ()
    assert result.warnings == ()
    assert result.ok
    assert list(result.frameworks) == ["kss-test"]
    assert list(result.assessments) == ["accreditation", "practice-quiz"]
    bank = result.banks["practice"]
    assert len(bank.items) == 10
    assert list(bank.scenarios) == ["scn-amira"]


@pytest.mark.parametrize("name", list(CASES_TABLE))
def test_each_kind_of_error_is_reported_at_its_place(
    name: str,
    valid_tree: Path,
    edit: Edit,
    find_line: FindLine,
) -> None:
    case = CASES_TABLE[name]
    _apply(valid_tree, case, edit)

    result = load_tree(valid_tree)

    line = _expected_line(valid_tree, case, find_line)
    path = f"question_banks/{case.error_file}"
    assert [(e.path, e.line, e.field) for e in result.errors] == [(path, line, case.field)], (
        "\n".join(map(str, result.errors))
    )
    problem = result.errors[0]
    assert case.message in problem.message
    assert str(problem).startswith(f"{path}:{line}: ")
    assert not result.ok


def test_problem_renders_as_path_line_field_message() -> None:
    problem = Problem("question_banks/banks/x/a.yaml", 12, "items[3].options[1].id", "is wrong")

    assert str(problem) == "question_banks/banks/x/a.yaml:12: items[3].options[1].id: is wrong"
    assert str(Problem("a.yaml", 3, "", "is empty")) == "a.yaml:3: is empty"
    assert str(Problem("banks/x", 0, "", "has no bank.yaml")) == "banks/x: has no bank.yaml"


def test_ten_problems_across_files_come_back_from_one_load(
    valid_tree: Path, edit: Edit, find_line: FindLine
) -> None:
    # Each breakage leaves every pool big enough, so no error is a knock-on of another.
    breakages = [
        (
            STANDALONE,
            "rationale: Section 47",
            "rationale: !!python/object:x Section 47",
            "!!python",
        ),
        (STANDALONE, "    tolerance: 0\n", "    tolerance: 0\n    tolerance: 1\n", "tolerance: 1"),
        (STANDALONE, "competencies: [P1, P2]", "competencies: [P1, P7]", "[P1, P7]"),
        (
            CASES,
            "    title: Amira, aged 15\n",
            "    title: Amira, aged 15\n    title: Amira\n",
            "Amira\n",
        ),
        (ACCREDITATION, "threshold_percent: 50", "threshold_percent: 0", "threshold_percent"),
        (ACCREDITATION, "max_attempts: 3", "max_attempts: three", "three"),
        (PRACTICE, "count: 5", "count: 7", "count: 7"),
        (PRACTICE, "audience: practitioner", "audience: leader", "audience: leader"),
    ]
    for file, old, new, _ in breakages:
        edit(valid_tree, file, old, new)
    new_files = {
        "frameworks/kss-other.yaml": ("id: kss-other\nstatus: drafted\n", 1),
        EXTRA: (DRAFT_ITEM.replace("scenario: scn-amria", "scenery: none"), 7),
    }
    for file, (text, _) in new_files.items():
        (valid_tree / file).write_text(text, encoding="utf-8")

    result = load_tree(valid_tree)

    expected = {
        (f"question_banks/{file}", find_line(valid_tree, file, marker.removesuffix("\n")))
        for file, _, _, marker in breakages
        if not marker.endswith("\n")
    }
    expected.add((f"question_banks/{CASES}", 4))  # the second "title:" of the scenario
    expected |= {(f"question_banks/{file}", line) for file, (_, line) in new_files.items()}
    found = [(e.path, e.line) for e in result.errors]
    assert len(expected) == 10
    assert set(found) >= expected, "\n".join(map(str, result.errors))
    files = {path for path, _ in found}
    assert len(files) == 6
    # The framework file lacks several keys and has a bad status: one error per key.
    assert len([f for f in found if f[0].endswith("kss-other.yaml")]) > 1
    others = [f for f in found if not f[0].endswith("kss-other.yaml")]
    assert sorted(others) == sorted(e for e in expected if not e[0].endswith("kss-other.yaml"))


def test_missing_root_is_an_error_not_an_exception(tmp_path: Path) -> None:
    result = load_tree(tmp_path / "nowhere")

    assert [str(e) for e in result.errors] == ["nowhere: folder not found"]


def test_bank_folder_without_bank_yaml(
    write_bank: WriteBank, valid_files: dict[str, object], tmp_path: Path
) -> None:
    valid_files["banks/orphan/items.yaml"] = {"items": []}
    result = load_tree(write_bank(tmp_path, valid_files))

    assert [str(e) for e in result.errors] == [
        "question_banks/banks/orphan: bank folder has no bank.yaml"
    ]


def test_yml_files_are_ignored_with_a_warning(
    write_bank: WriteBank, valid_files: dict[str, object], tmp_path: Path
) -> None:
    valid_files["banks/practice/more.yml"] = "items: []\n"
    result = load_tree(write_bank(tmp_path, valid_files))

    assert result.ok
    assert [str(w) for w in result.warnings] == [
        "question_banks/banks/practice/more.yml: is ignored: question-bank files must end in .yaml"
    ]


def test_valid_items_of_a_broken_file_are_still_checked(valid_tree: Path, edit: Edit) -> None:
    edit(valid_tree, STANDALONE, "    key: b\n", "    key: z\n")
    edit(valid_tree, CASES, "  - id: pra-case-4", "  - id: pra-numeric")

    result = load_tree(valid_tree)

    messages = [str(e) for e in result.errors]
    assert any("items[0].key" in m for m in messages)
    # standalone.yaml failed as a whole, yet its valid pra-numeric is still loaded,
    # so it clashes with the copy in cases.yaml (which sorts first).
    assert any(
        m.startswith(f"question_banks/{STANDALONE}:")
        and f"duplicate item id 'pra-numeric' (first defined at question_banks/{CASES}:" in m
        for m in messages
    ), messages


def test_pool_message_says_when_broken_items_were_left_out(valid_tree: Path, edit: Edit) -> None:
    edit(valid_tree, STANDALONE, "    key: b\n", "    key: z\n")
    edit(valid_tree, ACCREDITATION, "statements: [P1], count: 1", "statements: [P1], count: 2")

    result = load_tree(valid_tree)

    pools = [e for e in result.errors if e.field == "sections[0].draws[0]"]
    assert [p.message for p in pools] == [
        "pool has 1 live standalone accreditation item for P1 but the rule draws 2 "
        "(not counting 1 item of bank 'practice' that has errors)"
    ]


def test_warnings_for_live_items_without_rationale_or_references(
    valid_tree: Path, edit: Edit
) -> None:
    edit(
        valid_tree, STANDALONE, "    rationale: Section 47 places the duty to make enquiries.\n", ""
    )
    edit(
        valid_tree,
        STANDALONE,
        "    references:\n      - title: Children Act 1989, section 47\n"
        "        url: https://www.legislation.gov.uk/ukpga/1989/41/section/47\n",
        "",
    )

    result = load_tree(valid_tree)

    assert result.ok
    assert [(w.field, w.message) for w in result.warnings] == [
        ("items[0].rationale", "live item has no rationale"),
        ("items[0].references", "live item has no references"),
    ]


def test_a_symlinked_file_that_leads_out_of_the_tree_is_refused(
    valid_tree: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "elsewhere" / "secret.yaml"
    secret.parent.mkdir()
    secret.write_text("items: []\n", encoding="utf-8")
    (valid_tree / "banks/practice/leak.yaml").symlink_to(secret)
    (valid_tree / "assessments/leak.yaml").symlink_to(secret)

    result = load_tree(valid_tree)

    assert [str(e) for e in result.errors] == [
        f"question_banks/{path}: is a symbolic link that leads outside the question-bank "
        "folder, so it is not read; copy the file into the folder instead"
        for path in ("assessments/leak.yaml", "banks/practice/leak.yaml")
    ]


def test_a_symlinked_folder_that_leads_out_of_the_tree_is_refused(
    valid_tree: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "other-bank"
    outside.mkdir()
    (outside / "bank.yaml").write_text("id: other\ntitle: T\nframework: kss-test\n")
    (valid_tree / "banks/other").symlink_to(outside, target_is_directory=True)
    frameworks = valid_tree / "frameworks"
    frameworks.rename(tmp_path / "frameworks")
    frameworks.symlink_to(tmp_path / "frameworks", target_is_directory=True)

    result = load_tree(valid_tree)

    refused = [e.path for e in result.errors if "symbolic link" in e.message]
    assert refused == ["question_banks/banks/other", "question_banks/frameworks"]
    assert "other" not in result.banks
    assert result.frameworks == {}


def test_a_symlink_within_the_tree_is_followed(valid_tree: Path) -> None:
    shared = valid_tree / "banks/practice/cases.yaml"
    shared.rename(valid_tree / "cases.yaml")
    shared.symlink_to(Path("../../cases.yaml"))

    result = load_tree(valid_tree)

    assert result.ok, [str(e) for e in result.errors]
    assert "pra-case-1" in result.banks["practice"].items
