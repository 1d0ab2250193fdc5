"""Reading YAML safely, with a line for every value and a problem instead of an exception."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
import yaml

from accredit.banks import yamlsource
from accredit.banks.yamlsource import (
    Place,
    Problem,
    nearest_line,
    parse_yaml,
    read_yaml,
    render_field,
)

LOADERS = [yaml.SafeLoader]
if hasattr(yaml, "CSafeLoader"):
    LOADERS.append(yaml.CSafeLoader)


@pytest.fixture(params=LOADERS, ids=lambda loader: loader.__name__, autouse=True)
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test with libyaml and with the pure-Python parser it falls back to."""
    monkeypatch.setattr(yamlsource, "_Loader", request.param)


def messages(text: str) -> list[str]:
    return [str(p) for p in parse_yaml(text, "f.yaml").errors]


def test_plain_data_and_the_line_of_every_value() -> None:
    text = "id: x\nitems:\n  - id: a\n    options:\n      - {id: a, text: One}\n  - id: b\n"

    document = parse_yaml(text, "f.yaml")

    assert document.ok
    assert document.data == {
        "id": "x",
        "items": [{"id": "a", "options": [{"id": "a", "text": "One"}]}, {"id": "b"}],
    }
    assert document.lines[()] == 1
    assert document.lines[("items",)] == 2
    assert document.lines[("items", 0)] == 3
    assert document.lines[("items", 0, "options")] == 4
    assert document.lines[("items", 0, "options", 0, "text")] == 5
    assert document.lines[("items", 1, "id")] == 6


def test_scalars_get_their_yaml_types() -> None:
    text = (
        "a: 1\nb: 0.5\nc: true\nd: null\ne: 2027-01-04T09:00:00Z\nf: 2027-01-04\n"
        "g: '1'\nh: yes\ni: =\nj: !!str 3\n"
    )

    data = parse_yaml(text, "f.yaml").data

    assert data == {
        "a": 1,
        "b": 0.5,
        "c": True,
        "d": None,
        "e": dt.datetime(2027, 1, 4, 9, tzinfo=dt.UTC),
        "f": dt.date(2027, 1, 4),
        "g": "1",
        "h": True,
        "i": "=",
        "j": "3",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a: 1\nb: !!python/object:os.system x\n",
            "f.yaml:2: b: the tag !!python/object:os.system is not allowed",
        ),
        ("a: !!python/name:os.system\n", "f.yaml:1: a: the tag !!python/name:os.system"),
        ("a:\n  - !foo 1\n", "f.yaml:2: a[0]: the tag !foo is not allowed"),
        ("a: !!binary aGk=\n", "f.yaml:1: a: the tag !!binary is not allowed"),
        ("a: !!set {x}\n", "f.yaml:1: a: the tag !!set is not allowed"),
        ("a: !!omap [b: 1]\n", "f.yaml:1: a: the tag !!omap is not allowed"),
        ("!!python/object/apply:os.system [x]\n", "f.yaml:1: the tag !!python/object/apply"),
    ],
)
def test_tags_other_than_the_standard_ones_are_errors(text: str, expected: str) -> None:
    document = parse_yaml(text, "f.yaml")

    assert len(document.errors) == 1
    assert str(document.errors[0]).startswith(expected)


def test_a_python_tag_never_runs_anything(tmp_path: Path) -> None:
    sentinel = tmp_path / "ran"
    path = f"!!python/object/apply:pathlib.Path ['{sentinel}']"
    text = f"a: !!python/object/apply:pathlib.Path.touch [{path}]\n"

    document = parse_yaml(text, "f.yaml")

    assert not document.ok
    assert not sentinel.exists()


def test_a_rejected_value_is_replaced_by_none_and_marked_bad() -> None:
    document = parse_yaml("a: 1\nb: !foo 2\nc: 3\n", "f.yaml")

    assert document.data == {"a": 1, "b": None, "c": 3}
    assert document.bad == frozenset({("b",)})


def test_duplicate_keys_are_errors_and_the_first_value_is_kept() -> None:
    document = parse_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")

    assert [str(p) for p in document.errors] == ["f.yaml:3: a: duplicate key 'a' (first at line 1)"]
    assert document.data == {"a": 1, "b": 2}


def test_merge_keys_and_collection_keys_are_errors() -> None:
    assert messages("base: &b {x: 1}\nc:\n  <<: *b\n") == [
        "f.yaml:3: c: merge keys (<<) are not supported; write the keys out"
    ]
    assert messages("? [1, 2]\n: x\nb: 1\n") == [
        "f.yaml:1: a key must be plain text, not a list, mapping or alias"
    ]


def test_aliases_share_their_anchor_value() -> None:
    document = parse_yaml("a: &x {k: 1}\nb: *x\n", "f.yaml")

    assert document.ok
    assert document.data == {"a": {"k": 1}, "b": {"k": 1}}


def test_undefined_and_recursive_aliases_are_errors() -> None:
    assert messages("a: *nope\n") == ["f.yaml:1: a: alias *nope has no complete anchor before it"]
    assert messages("a: &x [*x]\n") == ["f.yaml:1: a[0]: alias *x has no complete anchor before it"]


def test_billion_laughs_stops_quickly() -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        name, previous = chr(97 + level), chr(96 + level)
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    started = time.perf_counter()

    document = parse_yaml("\n".join(levels) + "\n", "f.yaml")

    assert time.perf_counter() - started < 1
    assert document.data is None
    assert "aliases expand to more than 10000 values" in document.errors[0].message


def test_deep_nesting_is_an_error() -> None:
    document = parse_yaml("a: " + "[" * 70 + "]" * 70 + "\n", "f.yaml")

    assert len(document.errors) == 1
    assert document.errors[0].message == "is nested more than 64 levels deep"


def test_very_deep_nesting_is_an_error_not_a_crash() -> None:
    # libyaml stops at 1,000 levels; the pure-Python parser leaves it to the reader.
    document = parse_yaml("[" * 1_200 + "]" * 1_200, "f.yaml")

    assert len(document.errors) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: b\n  c: d\n", "f.yaml:2: invalid YAML: mapping values are not allowed"),
        ("a: [1, 2\n", "f.yaml:2: invalid YAML:"),
        ("a: 1\n---\nb: 2\n", "f.yaml:2: holds more than one YAML document"),
        ("", "f.yaml:1: is empty"),
        ("# only a comment\n", "f.yaml:1: is empty"),
        ("---\n", "f.yaml:1: is empty"),
        ("a: b\x07c\n", "f.yaml:1: contains the character U+0007, which YAML does not allow"),
        ("a: 1\nb: \x00\n", "f.yaml:2: contains the character U+0000"),
        ("a: 2027-02-30\n", "f.yaml:1: a: cannot read '2027-02-30' as a date or a date and time"),
        ("a: !!int x\n", "f.yaml:1: a: cannot read 'x' as a whole number"),
        ("a: " + "9" * 5000 + "\n", "f.yaml:1: a: cannot read '99999"),
    ],
)
def test_unreadable_content_is_one_located_error(text: str, expected: str) -> None:
    errors = messages(text)

    assert len(errors) == 1
    assert errors[0].startswith(expected)


def test_bytes_must_be_utf8() -> None:
    document = read_yaml(b"a: 1\nb: caf\xe9\n", "f.yaml")

    assert [str(p) for p in document.errors] == [
        "f.yaml:2: is not valid UTF-8 (byte 0xe9); save the file as UTF-8"
    ]
    assert document.data is None


def test_a_byte_order_mark_is_allowed() -> None:
    assert read_yaml(b"\xef\xbb\xbfa: 1\n", "f.yaml").data == {"a": 1}


def test_helpers_render_fields_and_find_lines() -> None:
    assert render_field(("items", 3, "options", 1, "id")) == "items[3].options[1].id"
    assert render_field(()) == ""
    assert render_field((True, "x")) == "True.x"
    lines = {(): 1, ("items",): 2, ("items", 0): 3}
    assert nearest_line(lines, ("items", 0, "key", 2)) == 3
    assert nearest_line({}, ("x",)) == 1


def test_place_makes_located_problems() -> None:
    lines = {(): 1, ("items",): 2, ("items", 1): 9, ("items", 1, "key"): 12}
    place = Place("f.yaml", ("items", 1), lines)

    assert place.line == 9
    assert place.problem("is wrong", "key") == Problem("f.yaml", 12, "items[1].key", "is wrong")
    assert place.problem("is missing", "rationale").line == 9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('a: 1\nb: "x\\0y"\n', "f.yaml:2: b: contains the character U+0000 (NUL)"),
        ('a:\n  - "\\x00"\n', "f.yaml:2: a[0]: contains the character U+0000 (NUL)"),
        ('a: "\\u0000"\n', "f.yaml:1: a: contains the character U+0000 (NUL)"),
        ('a: !!int "1\\0"\n', "f.yaml:1: a: contains the character U+0000 (NUL)"),
        ('"k\\0": 1\nb: 2\n', "f.yaml:1: a key contains the character U+0000 (NUL)"),
        ('a: "bell\\a"\n', "f.yaml:1: a: contains the character U+0007, which a question bank"),
    ],
)
def test_escapes_cannot_smuggle_a_nul_or_control_character_in(text: str, expected: str) -> None:
    document = parse_yaml(text, "f.yaml")

    errors = [str(p) for p in document.errors]
    assert len(errors) == 1
    assert errors[0].startswith(expected)
    assert not any("\x00" in value for value in _strings(document.data))


def _strings(data: object) -> list[str]:
    """Return every string in plain data, keys included."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for key, value in data.items() for s in (*_strings(key), *_strings(value))]
    if isinstance(data, list):
        return [s for value in data for s in _strings(value)]
    return []
