"""Checks across files: references, pools, and the warnings that guide authors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from accredit.banks import load_tree
from accredit.banks.loader import LoadResult

Edit = Callable[[Path, str, str, str], None]
WriteBank = Callable[[Path, dict[str, object]], Path]

STANDALONE = "banks/practice/standalone.yaml"
CASES = "banks/practice/cases.yaml"
ACCREDITATION = "assessments/accreditation.yaml"
PRACTICE = "assessments/practice-quiz.yaml"
FRAMEWORK = "frameworks/kss-test.yaml"


def errors(result: LoadResult) -> list[str]:
    return [str(e).removeprefix("question_banks/") for e in result.errors]


def warnings(result: LoadResult) -> list[str]:
    return [str(w).removeprefix("question_banks/") for w in result.warnings]


def other_framework(raw_files: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return dict(raw_files[FRAMEWORK], **changes)


def test_duplicate_framework_ids_name_the_first(
    tmp_path: Path, write_bank: WriteBank, valid_files: dict[str, object]
) -> None:
    valid_files["frameworks/zz-copy.yaml"] = valid_files[FRAMEWORK]

    result = load_tree(write_bank(tmp_path, valid_files))

    assert errors(result) == [
        "frameworks/zz-copy.yaml:1: id: duplicate framework id 'kss-test' "
        "(first defined at question_banks/frameworks/kss-test.yaml:1)"
    ]


def test_bank_framework_must_exist(valid_tree: Path, edit: Edit) -> None:
    edit(valid_tree, "banks/practice/bank.yaml", "framework: kss-test", "framework: kss-tests")

    result = load_tree(valid_tree)

    # Competencies cannot be checked, and rules on the bank are not blamed for it.
    assert errors(result) == [
        "banks/practice/bank.yaml:3: framework: framework 'kss-tests' does not exist; "
        "did you mean 'kss-test'?"
    ]


def test_a_broken_framework_causes_no_knock_on_errors(valid_tree: Path, edit: Edit) -> None:
    edit(valid_tree, FRAMEWORK, "status: provisional", "status: draft")

    result = load_tree(valid_tree)

    assert errors(result) == [
        "frameworks/kss-test.yaml:5: status: must be one of provisional or published (not 'draft')"
    ]


def test_item_may_use_only_a_scenario_of_its_own_bank(
    tmp_path: Path, write_bank: WriteBank, valid_files: dict[str, object]
) -> None:
    valid_files["banks/second/bank.yaml"] = {"id": "second", "title": "T", "framework": "kss-test"}
    valid_files["banks/second/items.yaml"] = {
        "items": [
            {
                "id": "sec-1",
                "type": "numeric",
                "status": "draft",
                "author": "A",
                "competencies": ["P1"],
                "scenario": "scn-amira",
                "stem": "How many?",
                "key": 3,
            }
        ]
    }

    result = load_tree(write_bank(tmp_path, valid_files))

    assert errors(result) == [
        "banks/second/items.yaml:8: items[0].scenario: scenario 'scn-amira' is in bank "
        "'practice'; an item may use only a scenario of its own bank 'second'"
    ]


def test_draw_rule_bank_must_exist_and_use_the_framework(
    tmp_path: Path,
    write_bank: WriteBank,
    valid_files: dict[str, object],
    raw_files: dict[str, Any],
) -> None:
    valid_files["frameworks/kss-other.yaml"] = other_framework(raw_files, id="kss-other")
    valid_files["banks/other/bank.yaml"] = {"id": "other", "title": "T", "framework": "kss-other"}
    valid_files[PRACTICE] = str(valid_files[PRACTICE]).replace(
        "      - {bank: practice, statements: [P1, P2, P3], count: 5}\n",
        "      - {bank: practice, statements: [P1, P2, P3], count: 5}\n"
        "      - {bank: other, fixed: [pra-single]}\n"
        "      - {bank: practis, fixed: [pra-single]}\n",
    )

    result = load_tree(write_bank(tmp_path, valid_files))

    assert errors(result) == [
        "assessments/practice-quiz.yaml:11: sections[0].draws[1].bank: bank 'other' uses "
        "framework 'kss-other', not 'kss-test'",
        "assessments/practice-quiz.yaml:12: sections[0].draws[2].bank: bank 'practis' does "
        "not exist; did you mean 'practice'?",
    ]
    assert "banks/other/bank.yaml:1: bank has no items" in warnings(result)


def test_fixed_items_must_exist_in_that_bank(
    tmp_path: Path, write_bank: WriteBank, valid_files: dict[str, object]
) -> None:
    valid_files[ACCREDITATION] = str(valid_files[ACCREDITATION]).replace(
        "fixed: [pra-written]", "fixed: [pra-writen, pra-text]"
    )

    result = load_tree(write_bank(tmp_path, valid_files))

    assert errors(result) == [
        "assessments/accreditation.yaml:18: sections[2].draws[0].fixed[0]: item 'pra-writen' "
        "does not exist; did you mean 'pra-written'?"
    ]


def test_scenario_draw_ids_must_exist(valid_tree: Path, edit: Edit) -> None:
    edit(valid_tree, ACCREDITATION, "items_each: 4}", "items_each: 4, ids: [scn-amira, scn-x]}")

    result = load_tree(valid_tree)

    assert errors(result) == [
        "assessments/accreditation.yaml:15: sections[1].draws[0].ids[1]: scenario 'scn-x' "
        "does not exist in bank 'practice'"
    ]


def test_unknown_statement_in_a_rule_is_not_also_a_short_pool(valid_tree: Path, edit: Edit) -> None:
    edit(valid_tree, ACCREDITATION, "statements: [P1], count: 1", "statements: [P9], count: 1")

    result = load_tree(valid_tree)

    assert errors(result) == [
        "assessments/accreditation.yaml:11: sections[0].draws[0].statements[0]: statement "
        "'P9' is not in framework 'kss-test'"
    ]


def test_rules_for_one_statement_share_its_pool(valid_tree: Path, edit: Edit) -> None:
    # Each rule fits the two live standalone P1 items, but together they need three.
    edit(
        valid_tree,
        ACCREDITATION,
        "      - {bank: practice, statements: [P1], count: 1}\n",
        "      - {bank: practice, statements: [P1], count: 1}\n"
        "      - {bank: practice, statements: [P1], count: 2}\n",
    )

    result = load_tree(valid_tree)

    assert errors(result) == [
        "assessments/accreditation.yaml:12: sections[0].draws[1]: with sections[0].draws[0] "
        "this rule draws 3 items for P1, but the pool has 2 live standalone accreditation items "
        "for it"
    ]


def test_warns_about_a_statement_a_rule_can_never_draw_from(valid_tree: Path, edit: Edit) -> None:
    edit(
        valid_tree, ACCREDITATION, "types: [ordering, numeric, text]", "types: [ordering, numeric]"
    )

    result = load_tree(valid_tree)

    assert result.ok
    assert warnings(result) == [
        "assessments/accreditation.yaml:12: sections[0].draws[1].statements[1]: statement "
        "'P3' has no live standalone accreditation items of type ordering, numeric in bank "
        "'practice', so this rule never draws from it"
    ]


def test_warns_once_per_unrated_item_an_angoff_assessment_may_draw(
    valid_tree: Path, edit: Edit
) -> None:
    edit(valid_tree, STANDALONE, "    angoff: [0.7, 0.65, 0.6]\n", "")
    edit(valid_tree, STANDALONE, "    angoff: [0.5]\n", "")  # pra-written: pretest only
    edit(valid_tree, CASES, "    angoff: [0.6]\n", "")

    result = load_tree(valid_tree)

    assert result.ok
    assert [w.field for w in result.warnings] == ["items[2].angoff", "items[0].angoff"]
    assert warnings(result)[0] == (
        "banks/practice/cases.yaml:40: items[2].angoff: live item has no angoff ratings, but "
        "assessment 'accreditation' sets its pass mark by Angoff and may draw it"
    )


def test_warns_about_a_live_item_in_a_scenario_that_is_not_live(
    valid_tree: Path, edit: Edit
) -> None:
    edit(
        valid_tree,
        CASES,
        "    title: Amira, aged 15\n",
        "    title: Amira, aged 15\n    status: draft\n",
    )
    edit(valid_tree, ACCREDITATION, "      - {bank: practice, scenarios: 1, items_each: 4}\n", "")
    edit(valid_tree, ACCREDITATION, "  - title: Applied to a case\n    draws:\n", "")

    result = load_tree(valid_tree)

    assert result.ok
    assert len(result.warnings) == 4
    assert warnings(result)[0] == (
        "banks/practice/cases.yaml:14: items[0].scenario: live item belongs to draft scenario "
        "'scn-amira', so it is never drawn"
    )


def test_an_unreadable_bank_file_skips_pool_checks_with_a_warning(
    valid_tree: Path, edit: Edit
) -> None:
    edit(valid_tree, STANDALONE, "items:\n", "items: [\n")

    result = load_tree(valid_tree)

    assert len(result.errors) == 1
    assert result.errors[0].path == f"question_banks/{STANDALONE}"
    assert warnings(result) == [
        "banks/practice/bank.yaml:1: a file of this bank could not be read, so draw rules "
        "using it were not checked"
    ]


def test_loaded_entities_know_where_they_came_from(valid_tree: Path) -> None:
    result = load_tree(valid_tree)

    item = result.banks["practice"].items["pra-case-2"]
    assert (item.path, item.line) == (f"question_banks/{CASES}", 24)
    assert item.where == f"question_banks/{CASES}:24"
    assert item.place.field_of("key") == "items[1].key"
    framework = result.frameworks["kss-test"]
    assert (framework.path, framework.line) == (f"question_banks/{FRAMEWORK}", 1)
    assert result.banks["practice"].place.path == "question_banks/banks/practice/bank.yaml"


def test_a_bank_file_at_the_top_of_banks_is_ignored_with_a_warning(
    tmp_path: Path, write_bank: WriteBank, valid_files: dict[str, object]
) -> None:
    valid_files["banks/stray.yaml"] = yaml.safe_dump({"items": []})

    result = load_tree(write_bank(tmp_path, valid_files))

    assert result.ok
    assert warnings(result) == [
        "banks/stray.yaml: is ignored: bank files belong in a folder under banks/"
    ]


def test_a_practice_assessment_counts_only_practice_items(valid_tree: Path, edit: Edit) -> None:
    # pra-single is now for accreditation only: the practice quiz's pool loses it.
    edit(
        valid_tree,
        STANDALONE,
        "    angoff: [0.7, 0.65, 0.6]\n    use: [accreditation, practice]\n",
        "    angoff: [0.7, 0.65, 0.6]\n",
    )
    edit(valid_tree, PRACTICE, "count: 5", "count: 6")

    result = load_tree(valid_tree)

    assert errors(result) == [
        "assessments/practice-quiz.yaml:10: sections[0].draws[0]: pool has 5 live standalone "
        "practice items for P1, P2, P3 but the rule draws 6"
    ]


def test_an_accreditation_assessment_never_counts_practice_only_items(
    valid_tree: Path, edit: Edit
) -> None:
    edit(
        valid_tree,
        STANDALONE,
        "    angoff: [0.7, 0.65, 0.6]\n    use: [accreditation, practice]\n",
        "    angoff: [0.7, 0.65, 0.6]\n    use: [practice]\n",
    )
    edit(valid_tree, ACCREDITATION, "statements: [P1], count: 1", "statements: [P1], count: 2")

    result = load_tree(valid_tree)

    assert errors(result) == [
        "assessments/accreditation.yaml:11: sections[0].draws[0]: pool has 1 live standalone "
        "accreditation item for P1 but the rule draws 2"
    ]


def test_a_practice_scenario_draw_needs_enough_practice_items_in_the_scenario(
    valid_tree: Path, edit: Edit
) -> None:
    edit(
        valid_tree,
        PRACTICE,
        "      - {bank: practice, statements: [P1, P2, P3], count: 5}\n",
        "      - {bank: practice, statements: [P1, P2, P3], count: 5}\n"
        "      - {bank: practice, scenarios: 1, items_each: 3}\n",
    )
    for number in (1, 2):
        edit(
            valid_tree,
            CASES,
            f"    angoff: [{['0.8', '0.7'][number - 1]}]\n",
            f"    angoff: [{['0.8', '0.7'][number - 1]}]\n    use: [practice]\n",
        )

    result = load_tree(valid_tree)

    # Amira's case now has two practice items and two accreditation items: neither
    # kind of assessment can draw it.
    assert [e.message for e in result.errors] == [
        "pool has 0 live scenarios with at least 4 live accreditation items but the rule draws 1",
        "pool has 0 live scenarios with at least 3 live practice items but the rule draws 1",
    ]


def test_a_fixed_item_must_be_for_the_assessments_use(valid_tree: Path, edit: Edit) -> None:
    edit(
        valid_tree,
        PRACTICE,
        "      - {bank: practice, statements: [P1, P2, P3], count: 5}\n",
        "      - {bank: practice, statements: [P1, P2, P3], count: 5}\n"
        "      - {bank: practice, fixed: [pra-case-1]}\n",
    )

    result = load_tree(valid_tree)

    assert errors(result) == [
        "assessments/practice-quiz.yaml:11: sections[0].draws[1].fixed[0]: item 'pra-case-1' "
        "is for accreditation use, not practice (question_banks/banks/practice/cases.yaml:8)"
    ]


def test_warns_about_a_live_scenario_that_no_live_item_uses(valid_tree: Path, edit: Edit) -> None:
    edit(
        valid_tree,
        CASES,
        "items:\n",
        "  - id: scn-unused\n    title: Nobody's case\n    vignette: No items.\n"
        "  - id: scn-drafted\n    title: Not yet\n    status: draft\n    vignette: Draft.\n\n"
        "items:\n",
    )

    result = load_tree(valid_tree)

    assert result.ok
    assert warnings(result) == [
        "banks/practice/cases.yaml:7: scenarios[1].id: live scenario has no live items, "
        "so it is never drawn"
    ]
