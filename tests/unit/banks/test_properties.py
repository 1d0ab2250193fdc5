"""Whatever is on disk, loading gives a result with located problems and never raises."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accredit.banks import load_tree
from accredit.banks.loader import LoadResult
from accredit.banks.yamlsource import parse_yaml

EXTRA = "banks/practice/extra.yaml"
STANDALONE = "banks/practice/standalone.yaml"
FRAMEWORK = "frameworks/kss-test.yaml"
ACCREDITATION = "assessments/accreditation.yaml"

FAST = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
STRUCTURES = settings(FAST, max_examples=100)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.dates()
    | st.datetimes(timezones=st.none() | st.just(dt.UTC))
)
keys = st.text(max_size=12) | st.integers() | st.sampled_from(["id", "type", "items", "key"])
structures = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)


@pytest.fixture(scope="module")
def tree(shared_tree: Path) -> Path:
    """Share one valid tree; each example changes one file and puts it back."""
    return shared_tree


def load_with(root: Path, relative: str, content: str | bytes) -> LoadResult:
    """Load the tree with one file replaced, then restore the file."""
    path = root / relative
    original = path.read_bytes() if path.exists() else None
    try:
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return load_tree(root)
    finally:
        if original is None:
            path.unlink()
        else:
            path.write_bytes(original)


def assert_well_formed(result: LoadResult) -> None:
    assert isinstance(result, LoadResult)
    for problem in (*result.errors, *result.warnings):
        assert problem.path.startswith("question_banks/")
        assert problem.line >= 0
        assert problem.message
        assert str(problem).startswith(problem.path)


def dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True)


@FAST
@given(text=st.text())
def test_any_text_as_a_bank_file(tree: Path, text: str) -> None:
    assert_well_formed(load_with(tree, EXTRA, text))


@FAST
@given(raw=st.binary())
def test_any_bytes_as_a_bank_file(tree: Path, raw: bytes) -> None:
    assert_well_formed(load_with(tree, EXTRA, raw))


@STRUCTURES
@given(item=structures)
def test_any_structure_as_an_item(tree: Path, item: Any) -> None:
    result = load_with(tree, EXTRA, dump({"items": [item]}))

    assert_well_formed(result)
    assert not result.ok


@STRUCTURES
@given(
    key=st.sampled_from(["id", "type", "options", "key", "competencies", "bonus"]), value=structures
)
def test_any_value_in_a_valid_item(tree: Path, key: str, value: Any) -> None:
    items = yaml.safe_load((tree / STANDALONE).read_text(encoding="utf-8"))["items"]
    items[0][key] = value

    assert_well_formed(load_with(tree, STANDALONE, dump({"items": items})))


@STRUCTURES
@given(framework=structures)
def test_any_structure_as_a_framework(tree: Path, framework: Any) -> None:
    assert_well_formed(load_with(tree, FRAMEWORK, dump(framework)))


@STRUCTURES
@given(assessment=structures)
def test_any_structure_as_an_assessment(tree: Path, assessment: Any) -> None:
    assert_well_formed(load_with(tree, ACCREDITATION, dump(assessment)))


@STRUCTURES
@given(
    key=st.sampled_from(["sections", "pass_mark", "window", "framework", "mode", "results"]),
    value=structures,
)
def test_any_value_in_a_valid_assessment(tree: Path, key: str, value: Any) -> None:
    assessment = yaml.safe_load((tree / ACCREDITATION).read_text(encoding="utf-8"))
    assessment[key] = value

    assert_well_formed(load_with(tree, ACCREDITATION, dump(assessment)))


@FAST
@given(text=st.text())
def test_parse_yaml_gives_a_line_for_every_value(text: str) -> None:
    document = parse_yaml(text, "f.yaml")

    assert all(line >= 1 for line in document.lines.values())
    assert all(problem.line >= 1 for problem in document.errors)
    assert document.data is not None or document.errors
