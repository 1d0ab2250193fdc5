"""Content hashes: what makes an edited item, scenario or blueprint a new version."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import TypeAdapter

from accredit.banks import content_hash, load_tree
from accredit.banks.hashing import normalise
from accredit.banks.schema import Assessment, Framework, Item, Scenario

Edit = Callable[[Path, str, str, str], None]
STANDALONE = "banks/practice/standalone.yaml"
ITEMS: TypeAdapter[Item] = TypeAdapter(Item)


def hashes(root: Path) -> dict[str, str]:
    result = load_tree(root)
    assert result.ok, result.errors
    bank = result.banks["practice"]
    found = {key: content_hash(s.value) for key, s in bank.items.items()}
    found |= {key: content_hash(s.value) for key, s in bank.scenarios.items()}
    found |= {key: content_hash(s.value) for key, s in result.frameworks.items()}
    found |= {key: content_hash(s.value) for key, s in result.assessments.items()}
    return found


def test_same_content_gives_the_same_hash(valid_tree: Path) -> None:
    first = hashes(valid_tree)

    assert hashes(valid_tree) == first
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in first.values())
    assert len(set(first.values())) == len(first)


def test_a_status_change_is_not_a_new_version(valid_tree: Path, edit: Edit) -> None:
    before = hashes(valid_tree)
    edit(
        valid_tree,
        STANDALONE,
        "    status: live\n    author: Test content team\n    competencies: [P2]\n    stem: Put",
        "    status: retired\n    author: Test content team\n    competencies: [P2]\n    stem: Put",
    )

    after = hashes(valid_tree)

    assert after["pra-ordering"] == before["pra-ordering"]


def test_a_stem_edit_is_a_new_version(valid_tree: Path, edit: Edit) -> None:
    before = hashes(valid_tree)
    edit(valid_tree, STANDALONE, "Put these steps", "Put these stages")

    after = hashes(valid_tree)

    assert after["pra-ordering"] != before["pra-ordering"]
    assert {k: v for k, v in after.items() if k != "pra-ordering"} == {
        k: v for k, v in before.items() if k != "pra-ordering"
    }


def test_key_order_in_yaml_does_not_matter(valid_tree: Path, edit: Edit) -> None:
    before = hashes(valid_tree)
    edit(
        valid_tree,
        STANDALONE,
        "    key: 45\n    tolerance: 0\n    unit: working days\n",
        "    unit: working days\n    tolerance: 0\n    key: 45\n",
    )
    edit(valid_tree, STANDALONE, "{id: a, text: Section 17}", "{text: Section 17, id: a}")

    after = hashes(valid_tree)

    assert after == before


def test_layout_that_does_not_change_the_text_does_not_matter(valid_tree: Path, edit: Edit) -> None:
    before = hashes(valid_tree)
    edit(
        valid_tree,
        STANDALONE,
        "      make enquiries when it suspects significant harm?\n",
        "      make enquiries when it suspects significant harm?   \n\n\n",
    )
    edit(valid_tree, STANDALONE, "    tolerance: 0\n", "    tolerance: 0.0\n")

    after = hashes(valid_tree)

    assert after == before


def test_defaults_written_out_hash_like_defaults_left_out(
    make_item: Callable[..., dict[str, object]],
) -> None:
    implicit = ITEMS.validate_python(make_item("multiple", scoring=None))
    explicit = ITEMS.validate_python(make_item("multiple", scoring="all_or_nothing"))

    assert content_hash(implicit) == content_hash(explicit)


def test_scenario_status_is_not_content_but_framework_status_is() -> None:
    live = Scenario(id="scn-a", title="A", vignette="Text")
    retired = Scenario(id="scn-a", title="A", vignette="Text", status="retired")
    framework = {
        "id": "kss-a",
        "title": "T",
        "version": "1",
        "source_url": "https://example.org/a",
        "status": "provisional",
        "audience": "leader",
        "statements": [{"id": "PL1", "number": 1, "title": "T", "summary": "S"}],
    }

    assert content_hash(live) == content_hash(retired)
    assert content_hash(Framework.model_validate(framework)) != content_hash(
        Framework.model_validate(framework | {"status": "published"})
    )


def test_assessment_hash_covers_its_rules(
    make_assessment: Callable[..., dict[str, object]],
) -> None:
    base = Assessment.model_validate(make_assessment())
    longer = Assessment.model_validate(make_assessment(time_limit_minutes=90))

    assert content_hash(base) != content_hash(longer)


def test_normalise() -> None:
    assert normalise({"a": "x  \ny\t\n\n", "b": [1.0, 1.5, True]}) == {
        "a": "x\ny",
        "b": [1, 1.5, True],
    }


OLD_ITEM = {
    "id": "kssp-9999", "type": "single", "status": "live", "author": "A", "competencies": ["P1"],
    "stem": "Which section?", "options": [{"id": "a", "text": "s17"}, {"id": "b", "text": "s47"}],
    "key": "b",
}  # fmt: skip


def test_items_written_before_use_existed_keep_their_hash() -> None:
    # The hash this item had before items stated a use: importing makes no new version.
    before = "f0d4699463b44476eda722746b5c79a97535f6f7919cba9c652fc5c196cd9867"

    assert content_hash(ITEMS.validate_python(OLD_ITEM)) == before
    written_out = ITEMS.validate_python(OLD_ITEM | {"use": ["accreditation"]})
    assert content_hash(written_out) == before


def test_a_change_of_use_is_a_new_version_whatever_the_order() -> None:
    default = content_hash(ITEMS.validate_python(OLD_ITEM))
    practice = content_hash(ITEMS.validate_python(OLD_ITEM | {"use": ["practice"]}))
    both = content_hash(ITEMS.validate_python(OLD_ITEM | {"use": ["accreditation", "practice"]}))
    reversed_ = content_hash(
        ITEMS.validate_python(OLD_ITEM | {"use": ["practice", "accreditation"]})
    )

    assert len({default, practice, both}) == 3
    assert reversed_ == both
