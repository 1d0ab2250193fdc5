"""Bad input gets a clear 4xx and changes nothing: never a 500, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from accredit.app import DATABASE_INT_MAX, digits_up_to
from accredit.delivery.service import MAX_SEQ, MAX_SEQ_STEP
from accredit.models.delivery import Response
from tests.conftest import Auth

START = "/api/v1/assessments/mini-test/attempts"
HUGE = [2**31, 2**63, 2**64 + 1, 10**30]


def stored_responses(db):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Response).where(Response.seq > 0))


@pytest.fixture
def sitting(sitter):
    """The signed-in candidate's client, their open attempt and its items."""
    body = sitter.post(START).json
    return sitter, body["id"], body["items"]


def item_of(items, kind):
    return next(item for item in items if item["type"] == kind)


class TestRouteNumbers:
    def test_every_int_route_beyond_the_database_range_is_404(self, app, make_user):
        admin = app.test_client()
        Auth(admin).login(make_user("admin").email)
        rules = [rule for rule in app.url_map.iter_rules() if "<int:" in rule.rule]
        assert len(rules) >= 10
        for rule in rules:
            for number in HUGE:
                url = re.sub(r"<int:\w+>", str(number), rule.rule)
                url = re.sub(r"<(?:\w+:)?\w+>", "x", url)
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    response = admin.open(url, method=method, json={})
                    assert response.status_code == 404, (method, url, response.status_code)

    def test_the_largest_id_reaches_the_view_and_is_not_found(self, sitting):
        client, attempt_id, _items = sitting
        largest = 2**31 - 1
        assert client.get(f"/api/v1/attempts/{largest}").status_code == 404
        saved = client.put(
            f"/api/v1/attempts/{attempt_id}/responses/{largest}", json={"answer": "a", "seq": 1}
        )
        assert saved.status_code == 404
        assert client.get(f"/candidate/attempts/{attempt_id}/items/{largest}").status_code == 404

    def test_the_route_pattern_is_exactly_the_database_range(self):
        pattern = re.compile(f"(?:{digits_up_to(DATABASE_INT_MAX)})")
        for number in [0, 1, 9, 10, 999_999_999, 10**9, 1_999_999_999, 2_000_000_000]:
            assert pattern.fullmatch(str(number)), number
        for offset in range(-1000, 1001):
            number = DATABASE_INT_MAX + offset
            assert bool(pattern.fullmatch(str(number))) is (offset <= 0), number
        for number in ["²", "٣", "-1", "+1", "1.0", " 1", str(2**63), "9" * 11]:
            assert not pattern.fullmatch(number), number

    @pytest.mark.parametrize("number", ["²", "٣", "-1", "1.0", "0x1"])
    def test_odd_digits_are_not_numbers(self, sitting, number):
        client, attempt_id, _items = sitting
        assert client.get(f"/api/v1/attempts/{number}").status_code == 404
        assert client.get(f"/candidate/attempts/{attempt_id}/items/{number}").status_code == 404


class TestRouteText:
    """Text ids and filters with control characters: PostgreSQL refuses a NUL outright."""

    def test_every_text_route_with_a_nul_or_control_character_is_404(self, app, make_user):
        admin = app.test_client()
        Auth(admin).login(make_user("admin").email)
        rules = [
            rule for rule in app.url_map.iter_rules() if re.search(r"<(?:string:)?\w+>", rule.rule)
        ]
        rules = [rule for rule in rules if not rule.endpoint.endswith("static")]
        assert len(rules) >= 4
        for rule in rules:
            for bad in ("%00", "a%00b", "%1b", "%7f"):
                url = re.sub(r"<int:\w+>", "1", rule.rule)
                url = re.sub(r"<(?:string:)?\w+>", bad, url)
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    response = admin.open(url, method=method, json={})
                    assert response.status_code == 404, (method, url, response.status_code)

    def test_a_candidate_start_with_a_nul_is_404(self, sitter):
        assert sitter.get("/candidate/assessments/mini%00test").status_code == 404
        assert sitter.post("/api/v1/assessments/mini%00test/attempts").status_code == 404

    def test_a_filter_with_a_nul_is_refused_or_finds_nothing(self, app, make_user, catalogue):
        admin = app.test_client()
        Auth(admin).login(make_user("admin").email)
        for query in ("bank=%00", "statement=%00", "type=%00", "status=%00"):
            response = admin.get(f"/admin/items?{query}")
            assert response.status_code in (200, 400), (query, response.status_code)


class TestApiAnswers:
    @pytest.mark.parametrize(
        "answer", ["nul\x00inside", "lone \ud800 surrogate", "\udfff", "emoji 😀 is fine\x00"]
    )
    def test_unstorable_text_is_refused_with_a_clear_message(self, db, sitting, answer):
        client, attempt_id, items = sitting
        for kind in ("text", "numeric"):
            position = item_of(items, kind)["position"]
            response = client.put(
                f"/api/v1/attempts/{attempt_id}/responses/{position}",
                json={"answer": answer, "seq": 1},
            )
            assert response.status_code == 422, (kind, response.json)
            assert response.json["error"]["code"] == "invalid_answer"
            assert "cannot be saved" in response.json["error"]["message"]
        assert stored_responses(db) == 0

    def test_raw_json_escapes_for_nul_and_a_lone_surrogate_are_refused(self, db, sitting):
        client, attempt_id, items = sitting
        position = item_of(items, "text")["position"]
        for raw in (r'{"answer": "\ud800", "seq": 1}', r'{"answer": "a\u0000b", "seq": 1}'):
            response = client.put(
                f"/api/v1/attempts/{attempt_id}/responses/{position}",
                data=raw,
                content_type="application/json",
            )
            assert response.status_code == 422
        assert stored_responses(db) == 0

    def test_text_beyond_the_basic_plane_is_kept(self, db, sitting):
        client, attempt_id, items = sitting
        position = item_of(items, "text")["position"]
        answer = "Safeguarding 😀 — naïve café"
        response = client.put(
            f"/api/v1/attempts/{attempt_id}/responses/{position}", json={"answer": answer, "seq": 1}
        )
        assert response.status_code == 200
        assert db.session.get(Response, (attempt_id, position)).answer == answer

    @pytest.mark.parametrize("depth", [33, 200, 100_000])
    def test_json_nested_too_deep_is_refused(self, db, sitting, depth):
        client, attempt_id, _items = sitting
        body = '{"seq": 1, "answer": ' + "[" * depth + "]" * depth + "}"
        response = client.put(
            f"/api/v1/attempts/{attempt_id}/responses/1", data=body, content_type="application/json"
        )
        assert response.status_code == 400
        assert response.json["error"]["code"] == "bad_request"
        flag = client.put(
            f"/api/v1/attempts/{attempt_id}/flags/1",
            data='{"flagged": ' + "[" * depth + "]" * depth + "}",
            content_type="application/json",
        )
        assert flag.status_code == 400
        assert stored_responses(db) == 0

    def test_json_nested_within_the_limit_is_read(self, sitting):
        client, attempt_id, _items = sitting
        nested = "[" * 30 + "]" * 30
        response = client.put(
            f"/api/v1/attempts/{attempt_id}/responses/1",
            data='{"seq": 1, "answer": ' + nested + "}",
            content_type="application/json",
        )
        assert response.status_code == 422, "read, then refused as an answer"

    @pytest.mark.parametrize(
        "seq", [0, -1, MAX_SEQ + 1, 2**63, 1.5, "1", True, None, [1], 1e300, float("nan")]
    )
    def test_a_bad_seq_is_400(self, db, sitting, seq):
        client, attempt_id, _items = sitting
        response = client.put(
            f"/api/v1/attempts/{attempt_id}/responses/1", json={"answer": None, "seq": seq}
        )
        assert response.status_code == 400
        assert stored_responses(db) == 0

    def test_a_whole_float_seq_is_read_as_an_integer(self, db, sitting):
        client, attempt_id, items = sitting
        answer = item_of(items, "single")["options"][0]["id"]
        position = item_of(items, "single")["position"]
        response = client.put(
            f"/api/v1/attempts/{attempt_id}/responses/{position}",
            data=f'{{"answer": "{answer}", "seq": 3.0}}',
            content_type="application/json",
        )
        assert response.status_code == 200
        assert response.json["seq"] == 3
        assert db.session.get(Response, (attempt_id, position)).seq == 3

    def test_a_seq_cannot_leap_so_far_that_no_newer_one_exists(self, db, sitting):
        client, attempt_id, items = sitting
        item = item_of(items, "single")
        url = f"/api/v1/attempts/{attempt_id}/responses/{item['position']}"
        answer = item["options"][0]["id"]
        assert client.put(url, json={"answer": answer, "seq": MAX_SEQ}).status_code == 400
        assert client.put(url, json={"answer": answer, "seq": MAX_SEQ_STEP + 1}).status_code == 400
        assert client.put(url, json={"answer": answer, "seq": MAX_SEQ_STEP}).status_code == 200
        leap = client.put(url, json={"answer": answer, "seq": 2 * MAX_SEQ_STEP})
        assert leap.status_code == 200, "a step from the stored seq is fine"
        assert (
            client.put(url, json={"answer": None, "seq": 2 * MAX_SEQ_STEP + 1}).status_code == 200
        )

    @pytest.mark.parametrize(
        ("value", "with_items"), [("true", True), ("1", True), ("FALSE", False), ("0", False)]
    )
    def test_items_is_a_real_boolean(self, sitting, value, with_items):
        client, attempt_id, _items = sitting
        body = client.get(f"/api/v1/attempts/{attempt_id}?items={value}").json
        assert ("items" in body) is with_items

    @pytest.mark.parametrize("value", ["maybe", "", "no", "2", "truee"])
    def test_items_refuses_anything_else(self, sitting, value):
        client, attempt_id, _items = sitting
        response = client.get(f"/api/v1/attempts/{attempt_id}?items={value}")
        assert response.status_code == 400
        assert response.json["error"]["code"] == "bad_request"

    def test_a_submitted_attempt_reports_no_remaining_time(self, sitting):
        client, attempt_id, _items = sitting
        before = client.get(f"/api/v1/attempts/{attempt_id}?items=false").json
        assert before["remaining_seconds"] > 0
        submitted = client.post(f"/api/v1/attempts/{attempt_id}/submit").json
        assert submitted["status"] == "submitted"
        assert submitted["remaining_seconds"] == 0
        assert client.get(f"/api/v1/attempts/{attempt_id}").json["remaining_seconds"] == 0


def page_of(client, attempt_id, position):
    html = client.get(f"/candidate/attempts/{attempt_id}/items/{position}").get_data(as_text=True)
    seq = re.search(r'name="seq" value="(\d+)"', html).group(1)
    return html, seq


class TestFormPosts:
    @pytest.mark.parametrize(
        "seq", ["-1", "0", str(MAX_SEQ + 1), str(2**63), "²", "1.5", "abc", str(MAX_SEQ)]
    )
    def test_a_bad_form_seq_is_400_and_changes_nothing(self, db, sitting, seq):
        client, attempt_id, items = sitting
        item = item_of(items, "single")
        url = f"/candidate/attempts/{attempt_id}/items/{item['position']}"
        response = client.post(url, data={"answer": item["options"][0]["id"], "seq": seq})
        assert response.status_code == 400
        assert "There is a problem with your request" in response.get_data(as_text=True)
        assert stored_responses(db) == 0

    def test_after_a_refused_huge_seq_the_page_still_saves(self, db, sitting):
        client, attempt_id, items = sitting
        item = item_of(items, "single")
        url = f"/candidate/attempts/{attempt_id}/items/{item['position']}"
        answer = item["options"][1]["id"]
        assert client.post(url, data={"answer": answer, "seq": str(MAX_SEQ)}).status_code == 400
        _html, seq = page_of(client, attempt_id, item["position"])
        assert client.post(url, data={"answer": answer, "seq": seq}).status_code == 302
        assert db.session.get(Response, (attempt_id, item["position"])).answer == answer

    def test_the_page_keeps_saving_after_the_largest_step(self, db, sitting):
        client, attempt_id, items = sitting
        item = item_of(items, "single")
        client.put(
            f"/api/v1/attempts/{attempt_id}/responses/{item['position']}",
            json={"answer": item["options"][0]["id"], "seq": MAX_SEQ_STEP},
        )
        _html, seq = page_of(client, attempt_id, item["position"])
        assert int(seq) == MAX_SEQ_STEP + 1
        url = f"/candidate/attempts/{attempt_id}/items/{item['position']}"
        assert (
            client.post(url, data={"answer": item["options"][2]["id"], "seq": seq}).status_code
            == 302
        )
        stored = db.session.get(Response, (attempt_id, item["position"]))
        assert (stored.answer, stored.seq) == (item["options"][2]["id"], MAX_SEQ_STEP + 1)

    def test_nul_in_a_typed_answer_is_refused_on_the_page(self, db, sitting):
        client, attempt_id, items = sitting
        position = item_of(items, "text")["position"]
        _html, seq = page_of(client, attempt_id, position)
        response = client.post(
            f"/candidate/attempts/{attempt_id}/items/{position}",
            data={"answer": "section\x0047", "seq": seq},
        )
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert "govuk-error-summary" in page
        assert "cannot be saved" in page
        assert stored_responses(db) == 0

    @pytest.mark.parametrize("go", ["²", "٣", "-1", "99", str(2**63), "", "1e3"])
    def test_odd_go_values_move_on_without_error(self, db, sitting, go):
        client, attempt_id, items = sitting
        item = item_of(items, "single")
        _html, seq = page_of(client, attempt_id, item["position"])
        response = client.post(
            f"/candidate/attempts/{attempt_id}/items/{item['position']}",
            data={"answer": item["options"][0]["id"], "seq": seq, "go": go},
        )
        assert response.status_code == 302
        assert f"/candidate/attempts/{attempt_id}/" in response.headers["Location"]

    def test_go_to_a_question_by_number(self, sitting):
        client, attempt_id, _items = sitting
        _html, seq = page_of(client, attempt_id, 1)
        response = client.post(
            f"/candidate/attempts/{attempt_id}/items/1", data={"seq": seq, "go": "3"}
        )
        assert response.headers["Location"] == f"/candidate/attempts/{attempt_id}/items/3"


class TestOrderingForm:
    def post(self, client, attempt_id, item, positions):
        _html, seq = page_of(client, attempt_id, item["position"])
        options = [option["id"] for option in item["options"]]
        data = {"seq": seq, **{f"position-{o}": p for o, p in zip(options, positions, strict=True)}}
        return client.post(f"/candidate/attempts/{attempt_id}/items/{item['position']}", data=data)

    @pytest.mark.parametrize(
        "positions",
        [["1", "1", "2", "3"], ["1", "2", "3", "3"], ["1", "2", "", "4"], ["²", "2", "3", "4"],
         ["0", "1", "2", "3"], ["1", "2", "3", "5"], ["01", "2", "3", "4"], ["1", "2", "3", "-4"]],
    )  # fmt: skip
    def test_repeated_or_stray_positions_are_refused_with_a_govuk_error(
        self, db, sitting, positions
    ):
        client, attempt_id, items = sitting
        item = item_of(items, "ordering")
        response = self.post(client, attempt_id, item, positions)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert "govuk-error-summary" in page
        assert "govuk-form-group--error" in page
        assert "Give every statement a different position" in page
        assert f'href="#answer-{item["options"][0]["id"]}"' in page
        assert stored_responses(db) == 0

    def test_the_refused_choices_are_shown_again(self, sitting):
        client, attempt_id, items = sitting
        item = item_of(items, "ordering")
        page = self.post(client, attempt_id, item, ["2", "2", "1", "4"]).get_data(as_text=True)
        first, _second, third, fourth = (option["id"] for option in item["options"])
        for option, position in ((first, "2"), (third, "1"), (fourth, "4")):
            select = re.search(rf'name="position-{option}".*?</select>', page, re.S).group(0)
            assert f'value="{position}" selected' in select

    def test_a_full_order_is_stored(self, db, sitting):
        client, attempt_id, items = sitting
        item = item_of(items, "ordering")
        options = [option["id"] for option in item["options"]]
        assert self.post(client, attempt_id, item, ["4", "3", "2", "1"]).status_code == 302
        assert db.session.get(Response, (attempt_id, item["position"])).answer == options[::-1]


class TestIncompleteChoices:
    def tick_one(self, client, attempt_id, item):
        _html, seq = page_of(client, attempt_id, item["position"])
        return client.post(
            f"/candidate/attempts/{attempt_id}/items/{item['position']}",
            data={"seq": seq, "answer": [item["options"][0]["id"]]},
        )

    def test_choose_two_with_one_ticked_is_kept_but_shown_incomplete(self, db, sitting):
        client, attempt_id, items = sitting
        item = item_of(items, "multiple")
        assert item["select"] == 2
        assert self.tick_one(client, attempt_id, item).status_code == 302
        assert db.session.get(Response, (attempt_id, item["position"])).answer == [
            item["options"][0]["id"]
        ]
        review = client.get(f"/candidate/attempts/{attempt_id}/review").get_data(as_text=True)
        assert "Incomplete" in review
        assert "1 of 2 chosen" in review
        assert "1 question is incomplete" in review
        submit = client.get(f"/candidate/attempts/{attempt_id}/submit").get_data(as_text=True)
        assert "1 question is incomplete" in submit
        assert f"({item['position']})" in submit
        page = client.get(f"/candidate/attempts/{attempt_id}/items/1").get_data(as_text=True)
        assert f'{item["position"]}<span class="govuk-visually-hidden">, incomplete' in page

    def test_the_submit_page_warns_about_flagged_questions(self, sitting):
        client, attempt_id, items = sitting
        _html, seq = page_of(client, attempt_id, 2)
        client.post(
            f"/candidate/attempts/{attempt_id}/items/2", data={"seq": seq, "flagged": "yes"}
        )
        submit = client.get(f"/candidate/attempts/{attempt_id}/submit").get_data(as_text=True)
        assert "you flagged 1 question to come back to (2)" in submit
        assert f"you have not answered {len(items)} questions" in submit
