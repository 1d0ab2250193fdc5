"""Fixtures for the question-bank tests: a tree writer and a small valid tree to break."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

FileContent = str | bytes | dict[str, object] | list[object]
WriteBank = Callable[[Path, dict[str, FileContent]], Path]
Edit = Callable[[Path, str, str, str], None]

FRAMEWORK = """\
id: kss-test
title: Knowledge and skills statement used in tests
version: "2018-05"
source_url: https://www.gov.uk/government/publications/knowledge-and-skills-statements
status: provisional
audience: practitioner
statements:
  - id: P1
    number: 1
    title: Relationships and effective direct work
    summary: Build purposeful, respectful and honest relationships.
  - id: P2
    number: 2
    title: Communication
    summary: Communicate clearly and sensitively.
  - id: P3
    number: 3
    title: Child development
    summary: Apply knowledge of child development.
"""

BANK = """\
id: practice
title: Practice bank used in tests
framework: kss-test
"""

# Every live item has a rationale, references and Angoff ratings, so the valid
# tree loads with no warnings as well as no errors. Each statement rule's pool
# is one item larger than its draw, so breaking any one item leaves it big enough.
# The standalone items are for both uses, so the practice quiz can draw them too.
STANDALONE = """\
items:
  - id: pra-single
    type: single
    status: live
    author: Test content team
    competencies: [P1]
    stem: |
      Under which section of the Children Act 1989 must a local authority
      make enquiries when it suspects significant harm?
    options:
      - {id: a, text: Section 17}
      - {id: b, text: Section 47}
      - {id: c, text: Section 20}
      - {id: d, text: Section 31}
    key: b
    rationale: Section 47 places the duty to make enquiries.
    references:
      - title: Children Act 1989, section 47
        url: https://www.legislation.gov.uk/ukpga/1989/41/section/47
    angoff: [0.7, 0.65, 0.6]
    use: [accreditation, practice]

  - id: pra-multiple
    type: multiple
    status: live
    author: Test content team
    competencies: [P1, P2]
    stem: Which three of these are signs of neglect?
    options:
      - {id: a, text: Persistent hunger}
      - {id: b, text: Poor hygiene}
      - {id: c, text: Untreated medical needs}
      - {id: d, text: Good school attendance}
      - {id: e, text: Age-appropriate clothing}
    select: 3
    scoring: partial
    key: [a, b, c]
    rationale: Hunger, poor hygiene and untreated needs are all signs of neglect.
    references:
      - title: Working Together to Safeguard Children 2023
    angoff: [0.5, 0.55]
    use: [accreditation, practice]

  - id: pra-ordering
    type: ordering
    status: live
    author: Test content team
    competencies: [P2]
    stem: Put these steps of a strategy discussion in order.
    options:
      - {id: a, text: Share information}
      - {id: b, text: Agree actions}
      - {id: c, text: Record decisions}
    key: [a, b, c]
    rationale: Information comes before decisions, which are then recorded.
    references:
      - title: Working Together to Safeguard Children 2023
    angoff: [0.4]
    use: [accreditation, practice]

  - id: pra-numeric
    type: numeric
    status: live
    author: Test content team
    competencies: [P2]
    stem: Within how many working days must an assessment be completed?
    key: 45
    tolerance: 0
    unit: working days
    rationale: The maximum timescale is 45 working days.
    references:
      - title: Working Together to Safeguard Children 2023
    angoff: [0.8]
    use: [accreditation, practice]

  - id: pra-text
    type: text
    status: live
    author: Test content team
    competencies: [P3]
    stem: Name the theory that describes a child's bond with a caregiver.
    accepted: [attachment theory, attachment]
    max_length: 50
    rationale: Attachment theory describes the bond.
    references:
      - title: Bowlby, J. (1969) Attachment and Loss
    angoff: [0.9]
    use: [accreditation, practice]

  - id: pra-written
    type: written
    status: live
    author: Test content team
    competencies: [P3]
    stem: Explain how you would assess a toddler's development.
    word_limit: 300
    rubric:
      - id: r1
        criterion: Uses developmental milestones
        marks: 2
        levels:
          - {marks: 0, descriptor: No milestones named}
          - {marks: 1, descriptor: Names milestones without applying them}
          - {marks: 2, descriptor: Applies milestones to the toddler}
      - id: r2
        criterion: Gathers information from several sources
        marks: 1
        levels:
          - {marks: 0, descriptor: One source or none}
          - {marks: 1, descriptor: Two or more sources and weighed}
      - id: r3
        criterion: Says what happens next
        marks: 1
        levels:
          - {marks: 0, descriptor: No next step}
          - {marks: 1, descriptor: A clear next step}
    guidance: Credit any recognised developmental framework.
    rationale: A good answer draws on milestones and several sources.
    references:
      - title: Sheridan, M. (2014) From Birth to Five Years
    angoff: [0.5]
    use: [accreditation, practice]
"""

CASES = """\
scenarios:
  - id: scn-amira
    title: Amira, aged 15
    vignette: |
      Amira is 15 and has been missing from home twice this month.

items:
  - id: pra-case-1
    type: single
    status: live
    author: Test content team
    competencies: [P1]
    scenario: scn-amira
    stem: What should you do first?
    options:
      - {id: a, text: Speak to Amira alone}
      - {id: b, text: Close the case}
    key: a
    rationale: Hearing the child comes first.
    references:
      - title: Working Together to Safeguard Children 2023
    angoff: [0.8]

  - id: pra-case-2
    type: single
    status: live
    author: Test content team
    competencies: [P2]
    scenario: scn-amira
    stem: Who should you contact next?
    options:
      - {id: a, text: Her school}
      - {id: b, text: Nobody}
    key: a
    rationale: The school holds relevant information.
    references:
      - title: Working Together to Safeguard Children 2023
    angoff: [0.7]

  - id: pra-case-3
    type: single
    status: live
    author: Test content team
    competencies: [P3]
    scenario: scn-amira
    stem: Which risk is most pressing?
    options:
      - {id: a, text: Criminal exploitation}
      - {id: b, text: Lateness}
    key: a
    rationale: Repeated missing episodes point to exploitation.
    references:
      - title: Working Together to Safeguard Children 2023
    angoff: [0.6]

  - id: pra-case-4
    type: single
    status: live
    author: Test content team
    competencies: [P1]
    scenario: scn-amira
    stem: How should you record Amira's views?
    options:
      - {id: a, text: In her own words}
      - {id: b, text: As a summary of the parents' views}
    key: a
    rationale: The child's own words carry her voice.
    references:
      - title: Working Together to Safeguard Children 2023
    angoff: [0.75]
"""

ACCREDITATION = """\
id: accreditation
title: Practitioner accreditation test
framework: {id: kss-test, version: "2018-05"}
audience: practitioner
mode: accreditation
time_limit_minutes: 60
shuffle: {items: true, options: true}
sections:
  - title: Knowledge
    draws:
      - {bank: practice, statements: [P1], count: 1}
      - {bank: practice, statements: [P2, P3], count: 2, types: [ordering, numeric, text]}
  - title: Applied to a case
    draws:
      - {bank: practice, scenarios: 1, items_each: 4}
  - title: Trial questions
    draws:
      - {bank: practice, fixed: [pra-written], pretest: true}
pass_mark:
  method: angoff
  sem_adjustment: 0
competency_rule:
  method: conjunctive
  threshold_percent: 50
attempts:
  max_attempts: 3
  cool_off_days: 90
results:
  release: after_moderation
  review: true
window:
  opens: 2027-01-04T09:00:00Z
  closes: 2027-03-31T17:00:00Z
"""

PRACTICE = """\
id: practice-quiz
title: Practice quiz
framework: {id: kss-test, version: "2018-05"}
audience: practitioner
mode: practice
feedback: after_each_item
sections:
  - title: Everything
    draws:
      - {bank: practice, statements: [P1, P2, P3], count: 5}
pass_mark:
  method: fixed
  percent: 60
"""

VALID_FILES: dict[str, str] = {
    "frameworks/kss-test.yaml": FRAMEWORK,
    "banks/practice/bank.yaml": BANK,
    "banks/practice/standalone.yaml": STANDALONE,
    "banks/practice/cases.yaml": CASES,
    "assessments/accreditation.yaml": ACCREDITATION,
    "assessments/practice-quiz.yaml": PRACTICE,
}


def write_tree(tmp_path: Path, files: dict[str, FileContent]) -> Path:
    """Write files under ``tmp_path/question_banks`` and return that root."""
    root = tmp_path / "question_banks"
    root.mkdir(parents=True, exist_ok=True)
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return root


@pytest.fixture
def write_bank() -> WriteBank:
    """Return a function that writes a tree of YAML files and returns its root."""
    return write_tree


@pytest.fixture
def valid_files() -> dict[str, FileContent]:
    """Return the files of a small, complete and valid tree, to change before writing."""
    return dict(VALID_FILES)


@pytest.fixture
def valid_tree(tmp_path: Path, valid_files: dict[str, FileContent]) -> Path:
    """Write the valid tree and return its root, for tests that then break it."""
    return write_tree(tmp_path, valid_files)


def replace_once(root: Path, relative: str, old: str, new: str) -> None:
    """Replace text that occurs exactly once in a file of the tree."""
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {relative}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def edit() -> Edit:
    """Return a function that replaces text occurring exactly once in a tree's file."""
    return replace_once


def line_of(root: Path, relative: str, marker: str) -> int:
    """Return the 1-based line of the only line containing ``marker``."""
    lines = (root / relative).read_text(encoding="utf-8").splitlines()
    found = [number for number, text in enumerate(lines, start=1) if marker in text]
    assert len(found) == 1, f"{marker!r} is on lines {found} of {relative}"
    return found[0]


@pytest.fixture
def find_line() -> Callable[[Path, str, str], int]:
    """Return a function giving the line of a unique marker in a tree's file."""
    return line_of


def raw_item(kind: str, **changes: object) -> dict[str, object]:
    """Return a valid raw standalone item of a type; a change to None removes the key."""
    items = yaml.safe_load(STANDALONE)["items"]
    raw: dict[str, object] = next(i for i in items if i["type"] == kind)
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


@pytest.fixture
def make_item() -> Callable[..., dict[str, object]]:
    """Return a function making a valid raw item of a type, with some keys changed."""
    return raw_item


@pytest.fixture
def make_assessment() -> Callable[..., dict[str, object]]:
    """Return a function making the raw accreditation assessment, with some keys changed."""

    def make(**changes: object) -> dict[str, object]:
        raw: dict[str, object] = yaml.safe_load(ACCREDITATION)
        raw.update(changes)
        return {key: value for key, value in raw.items() if value is not None}

    return make


@pytest.fixture
def raw_files() -> dict[str, object]:
    """Return each valid file parsed to plain data, keyed by its path in the tree."""
    return {path: yaml.safe_load(text) for path, text in VALID_FILES.items()}


@pytest.fixture(scope="module")
def shared_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write the valid tree once per module, for tests that put back what they change."""
    return write_tree(tmp_path_factory.mktemp("tree"), dict(VALID_FILES))
