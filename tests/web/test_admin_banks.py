"""Admin pages for frameworks, banks, items, blueprints and imports."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from accredit.catalogue.importer import import_tree
from accredit.catalogue.presentation import candidate_view
from accredit.models import Item, ItemVersion

SHIPPED = Path(__file__).resolve().parent.parent.parent / "question_banks"


@pytest.fixture
def imported(db):
    report = import_tree(SHIPPED)
    db.session.commit()
    return report


@pytest.fixture
def admin_client(client, auth, make_user):
    auth.login(make_user("admin").email)
    return client


def text(response):
    stripped = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(stripped))


def test_banks_page_lists_frameworks_banks_and_assessments(imported, admin_client):
    page = text(admin_client.get("/admin/banks"))
    assert "Knowledge and skills statement for practice leaders" in page
    assert "Provisional" in page
    assert "Practitioner practice-knowledge bank" in page
    assert "Approved child and family practitioner: practice-knowledge test" in page


def test_items_filter_by_bank_statement_type_and_status(db, imported, admin_client):
    page = admin_client.get(
        "/admin/items?bank=kss-practitioner&statement=P5&type=multiple&status=live"
    )
    shown = set(re.findall(r'href="/admin/items/(kssp-\d+)"', page.get_data(as_text=True)))
    expected = {
        item.key
        for item, version in db.session.execute(
            select(Item, ItemVersion).join(ItemVersion, ItemVersion.item_id == Item.id)
        ).all()
        if item.key.startswith("kssp") and item.type == "multiple" and "P5" in version.competencies
    }
    assert shown == expected
    assert shown


def test_item_preview_shows_candidate_view_and_staff_panel(db, imported, admin_client):
    item = db.session.scalar(select(Item).filter_by(type="single").order_by(Item.key))
    version = item.versions[-1]
    page = admin_client.get(f"/admin/items/{item.key}").get_data(as_text=True)
    preview, staff = page.split('id="staff-only"', 1)
    assert 'type="radio"' in preview
    assert "Choose one answer" in preview
    key = version.content["key"]
    assert f"{key}: " in staff
    assert "Rationale" in staff
    assert "Angoff" in staff
    assert version.content["rationale"].split()[0] in staff


def test_candidate_view_never_carries_key_rationale_or_ratings(db, imported):
    for item, version in db.session.execute(
        select(Item, ItemVersion).join(ItemVersion, ItemVersion.item_id == Item.id)
    ).all():
        data = candidate_view(version, item_type=item.type).as_json()
        assert set(data) <= {
            "type",
            "stem_html",
            "scenario",
            "options",
            "select",
            "unit",
            "max_length",
            "word_limit",
        }
        flat = str(data)
        if version.content.get("rationale"):
            assert version.content["rationale"] not in flat


def test_blueprint_shows_pool_size_of_every_rule(imported, admin_client):
    page = text(admin_client.get("/admin/assessments/kssp-accreditation"))
    assert "Items per form 31" in page, "30 items and one written analysis"
    assert re.search(r"Items for P5 \(.*?\) from kss-practitioner 2 \d+ 2", page)
    assert re.search(r"Whole scenarios, 4 items each from kss-practitioner 3 4 12", page)
    assert re.search(
        r"Items for P1, P2, P4, P5, P7, P8 \(written\) from kss-practitioner 1 4 1", page
    )


def test_failed_import_errors_are_shown_to_admins(db, admin_client, tmp_path):
    root = tmp_path / "question_banks"
    shutil.copytree(SHIPPED, root)
    bank = root / "banks/kss-leader/la-standalone.yaml"
    bank.write_text(bank.read_text().replace("competencies: [PL1]", "competencies: [PL9]", 1))
    import_tree(root)
    db.session.commit()
    page = text(admin_client.get("/admin/banks"))
    assert "The last import failed: nothing was imported" in page
    assert "statement 'PL9' is not in framework 'kss-leader'" in page
    assert "la-standalone.yaml:" in page
    assert "The last import failed" in text(admin_client.get("/admin/"))


def test_unknown_item_and_assessment_are_404(imported, admin_client):
    assert admin_client.get("/admin/items/no-such-item").status_code == 404
    assert admin_client.get("/admin/assessments/no-such").status_code == 404


def test_assessor_cannot_preview_keys(imported, client, auth, make_user):
    auth.login(make_user("assessor").email)
    assert client.get("/admin/items/kssp-0001").status_code == 403
