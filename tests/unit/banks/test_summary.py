"""The summary of a tree: counts for the command line and the admin pages."""

from __future__ import annotations

from pathlib import Path

from accredit.banks import format_summary, load_tree, summarise
from accredit.banks.summary import Coverage


def test_summary_counts_the_valid_tree(valid_tree: Path) -> None:
    summary = summarise(load_tree(valid_tree))

    assert [(f.id, f.statements) for f in summary.frameworks] == [("kss-test", 3)]
    assert summary.statements == 3
    (bank,) = summary.banks
    assert (bank.id, bank.framework, bank.scenarios, bank.items) == ("practice", "kss-test", 1, 10)
    assert bank.by_type == {
        "single": 5,
        "multiple": 1,
        "ordering": 1,
        "numeric": 1,
        "text": 1,
        "written": 1,
    }
    assert bank.by_status == {"draft": 0, "live": 10, "retired": 0}
    assert [(a.id, a.mode, a.pass_mark, a.items_per_form) for a in summary.assessments] == [
        ("accreditation", "accreditation", "angoff", 8),
        ("practice-quiz", "practice", "fixed", 5),
    ]
    assert (summary.errors, summary.warnings) == (0, 0)


def test_coverage_counts_live_items_and_draws_per_statement(valid_tree: Path) -> None:
    summary = summarise(load_tree(valid_tree))

    assert summary.coverage == (
        Coverage("kss-test", "P1", "Relationships and effective direct work", 4, 4, 2, 2, 1, 6),
        Coverage("kss-test", "P2", "Communication", 4, 4, 3, 3, 0, 7),
        Coverage("kss-test", "P3", "Child development", 3, 3, 2, 2, 0, 7),
    )


def test_format_summary_lays_out_tables(valid_tree: Path) -> None:
    text = format_summary(summarise(load_tree(valid_tree)))

    assert text.startswith("Frameworks\n\nframework  version  status")
    assert "practice  kss-test           1     10       5" in text
    assert (
        "kss-test   P1            4              4         2           2      1      6  Relationships"
        in text
    )
    assert text.endswith("0 errors, 0 warnings\n")
    assert all(line == line.rstrip() for line in text.splitlines())


def test_an_empty_tree_summarises_as_empty_tables(tmp_path: Path) -> None:
    (tmp_path / "question_banks").mkdir()

    text = format_summary(summarise(load_tree(tmp_path / "question_banks")))

    assert text.count("(none)") == 4
    assert text.endswith("0 errors, 0 warnings\n")
