"""A sitting whose results went through moderation and release, for exports to carry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from accredit import worker as tasks
from accredit.analysis import keys
from accredit.analysis import service as analysis
from accredit.marking import service as marking
from accredit.models import User
from accredit.models.results import Result
from tests.cohort import KEY, MISKEYED, import_cohort, sit_cohort

# OWASP's example of a cell that runs when a spreadsheet opens the file.
FORMULA_REASON = '=HYPERLINK("http://example.com","x")'
TITLE = "+Cohort test for regulators"


@dataclass
class Released:
    results: list[Result]
    lead: User
    withheld: Result
    amended: list[int]  # result ids the rekey after release changed


@pytest.fixture
def released(db, tmp_path: Path, make_user, make_org) -> Released:
    """Twelve candidates sit; the lead withholds one and ratifies the rest, signs off and
    releases; then a rekey after release amends some released results, with its reason."""
    import_cohort(tmp_path, title=TITLE, results={"release": "after_moderation"})
    organisation = make_org("NHX", "Northhaven Exports")
    attempts = sit_cohort(make_user, 12)
    for n, attempt in enumerate(attempts):
        candidate = db.session.get(User, attempt.candidate_id)
        candidate.swe_registration_number = f"SW{100000 + n}"
        candidate.organisation_id = organisation.id
    lead = make_user("assessor")
    lead.lead_assessor = True
    db.session.commit()
    results = [db.session.scalar(db.select(Result).filter_by(attempt_id=a.id)) for a in attempts]
    withheld, *ratified = results
    marking.moderate(withheld.id, "withhold", reason="Malpractice inquiry", score=None, actor=lead)
    for result in ratified:
        marking.moderate(result.id, "ratify", reason="", score=None, actor=lead)
    db.session.commit()
    analysis.sign_off(KEY, actor=lead, note="Reviewed")
    db.session.commit()
    marking.release(KEY, actor=lead, reason="Window closed")
    db.session.commit()
    _decision, preview, job = keys.commit(
        keys.propose(KEY, MISKEYED, "rekey", key="b", reason=FORMULA_REASON), actor=lead
    )
    db.session.commit()
    tasks.run_rescore(job.id)
    amended = [change.result_id for change in preview.changes if change.released]
    assert amended, "the rekey changes some released results"
    # The withheld result was rescored too, so it is moderated again: still withheld.
    marking.moderate(withheld.id, "withhold", reason="Malpractice inquiry", score=None, actor=lead)
    db.session.commit()
    return Released(results, lead, withheld, amended)
