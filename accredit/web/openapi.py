"""The OpenAPI 3.1 description of the JSON API, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

ERROR_CODES = [
    "bad_request", "csrf_failed", "unauthenticated", "forbidden", "not_found", "method_not_allowed",
    "not_enrolled", "start_refused", "form_unavailable", "practice_locked", "deadline_passed",
    "attempt_submitted", "answer_locked", "invalid_answer", "not_released", "not_scored",
    "conflict", "unprocessable", "too_large", "too_many_requests", "server_error",
    "database_unavailable", "domain_error", "invalid_enrolment", "invalid_marks",
    "illegal_transition", "not_allocated", "lead_assessor_only", "invalid_decision", "not_ready",
    "analysis_not_run", "analysis_out_of_date", "invalid_export", "export_file_changed",
]  # fmt: skip

MAX_ID = 2**31 - 1  # ids and positions are the database's INTEGER; larger ones are 404


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


ATTEMPT_ID = {
    "name": "attempt_id", "in": "path", "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}  # fmt: skip
POSITION = {
    "name": "position", "in": "path", "required": True,
    "description": "The item's position on the attempt's form, from 1.",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}  # fmt: skip
CSRF = {
    "name": "X-CSRFToken", "in": "header", "required": True,
    "description": "The CSRF token of the signed-in session (any page's csrf_token field).",
    "schema": {"type": "string"},
}  # fmt: skip

COMMON_ERRORS = {
    "400": _error(
        "bad_request or csrf_failed: the body, a parameter or the CSRF token is missing or malformed "
        "(including JSON nested more than 32 levels deep)."
    ),
    "401": _error(
        "Not signed in, or signed out since (signing out ends every session of the account)."
    ),
    "403": _error("Signed in without the candidate role."),
    "404": _error("No such attempt or position for this candidate (another's attempt is 404 too)."),
    "413": _error("too_large: the body is larger than the service accepts."),
    "503": {
        "description": "database_unavailable: the service cannot reach its database just now. Nothing was changed; retry after the Retry-After header's seconds.",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer"},
            }
        },
        "content": {"application/json": {"schema": _ref("Error")}},
    },
}
SCRIPT_ID = {
    "name": "script_id", "in": "path", "required": True,
    "description": "The script: one written answer of a submitted attempt.",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}  # fmt: skip
RESULT_ID = {
    "name": "result_id", "in": "path", "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}  # fmt: skip
MARKING_ERRORS = {
    **{code: COMMON_ERRORS[code] for code in ("400", "401", "413", "503")},
    "403": _error("Signed in without the assessor role (or, for moderation, not a lead assessor)."),
    "404": _error("No such script or result, or not one this assessor may see."),
}
PRACTICE_LOCKED = (
    "practice_locked: a practice attempt while an accreditation attempt of its framework is open."
)

MARKING_SCHEMAS: dict[str, Any] = {
    "Level": {
        "type": "object", "required": ["marks", "descriptor"],
        "properties": {"marks": {"type": "number"}, "descriptor": {"type": "string"}},
    },
    "Criterion": {
        "type": "object", "required": ["id", "criterion", "marks", "levels"],
        "properties": {
            "id": {"type": "string"}, "criterion": {"type": "string"}, "marks": {"type": "number"},
            "levels": {"type": "array", "items": _ref("Level")},
        },
    },
    "Mark": {
        "type": "object",
        "description": "A mark of a script. Another marker's appears only once first and second marks are both in.",
        "required": ["round", "total", "criteria", "comment", "marked_at", "yours"],
        "properties": {
            "round": {"enum": ["first", "second", "third", "moderator"]},
            "total": {"type": "number"},
            "criteria": {"type": "object", "additionalProperties": {"type": "number"}},
            "comment": {"type": "string"},
            "reason": {"type": ["string", "null"]},
            "marked_at": {"type": "string", "format": "date-time"},
            "yours": {"type": "boolean"},
        },
    },
    "Script": {
        "type": "object",
        "description": "A written answer as its marker sees it: by candidate number, never by name, email or organisation.",
        "required": ["id", "candidate_number", "assessment", "item", "answer", "words", "state",
                     "round", "marks", "others_visible", "agreed"],
        "properties": {
            "id": {"type": "integer"},
            "candidate_number": {"type": "string", "pattern": "^[0-9]{8}$"},
            "assessment": {"type": "object", "properties": {"id": {"type": "string"}, "title": {"type": "string"}}},
            "item": {
                "type": "object",
                "required": ["id", "version", "stem_html", "word_limit", "rubric", "maximum"],
                "properties": {
                    "id": {"type": "string"}, "version": {"type": "integer"},
                    "stem_html": {"type": "string"},
                    "scenario": {"type": ["object", "null"]},
                    "word_limit": {"type": "integer"},
                    "guidance_html": {"type": ["string", "null"]},
                    "rubric": {"type": "array", "items": _ref("Criterion")},
                    "maximum": {"type": "number"},
                },
            },
            "answer": {"type": "string"},
            "words": {"type": "integer"},
            "state": {"enum": ["awaiting_first", "awaiting_second", "in_discrepancy", "agreed",
                               "in_moderation", "ratified", "released", "withheld", "void"]},
            "round": {
                "description": "The round you may mark now, or null.",
                "enum": ["first", "second", "third", "moderator", None],
            },
            "marks": {"type": "array", "items": _ref("Mark")},
            "others_visible": {"type": "boolean"},
            "agreed": {"type": ["object", "null"]},
        },
    },
    "Queue": {
        "type": "object", "required": ["scripts"],
        "properties": {"scripts": {"type": "array", "items": {
            "type": "object", "required": ["id", "candidate_number", "assessment", "round", "state"],
            "properties": {
                "id": {"type": "integer"}, "candidate_number": {"type": "string"},
                "assessment": {"type": "string"}, "round": {"type": "string"},
                "state": {"type": "string"},
            },
        }}},
    },
    "MarksRequest": {
        "type": "object", "required": ["criteria"],
        "properties": {
            "criteria": {
                "type": "object", "additionalProperties": {"type": "number"},
                "description": "A mark for every rubric criterion id: one of that criterion's level marks.",
            },
            "comment": {"type": "string"},
            "reason": {"type": "string", "description": "Required for a third marker's or the moderator's final mark."},
        },
    },
    "MarksReply": {
        "type": "object", "required": ["script", "agreed", "escalated"],
        "properties": {
            "script": _ref("Script"),
            "agreed": {"type": "boolean", "description": "Whether this mark settled the agreed mark."},
            "escalated": {"type": ["string", "null"], "description": "Why the two marks did not agree, if they did not."},
        },
    },
    "ModerationRequest": {
        "type": "object", "required": ["decision"],
        "properties": {
            "decision": {"enum": ["ratify", "amend", "withhold"]},
            "reason": {"type": "string", "description": "Required to amend or withhold."},
            "score": {"type": "number", "description": "The amended raw score, in marks; only to amend."},
        },
    },
    "ModeratedResult": {
        "type": "object",
        "required": ["id", "candidate_number", "stage", "raw", "maximum", "cut", "sem", "referred", "decision", "scripts"],
        "properties": {
            "id": {"type": "integer"}, "candidate_number": {"type": "string"},
            "assessment": {"type": "string"},
            "stage": {"enum": ["awaiting_marks", "in_moderation", "agreed", "ratified", "withheld", "released"]},
            "raw": {"type": "number"}, "maximum": {"type": "number"}, "cut": {"type": "number"},
            "sem": {"type": "number"}, "passed": {"type": ["boolean", "null"]},
            "revision": {"type": "integer"},
            "referred": {"type": "array", "items": {"type": "string"}},
            "decision": {"type": ["object", "null"]},
            "scripts": {"type": "array", "items": _ref("Script")},
        },
    },
}  # fmt: skip

MARKING_PATHS: dict[str, Any] = {
    "/marking/queue": {
        "get": {
            "tags": ["marking"],
            "summary": "The signed-in assessor's scripts to mark now, in a stable pseudo-random order",
            "responses": {"200": _ok("The queue.", "Queue"), **MARKING_ERRORS},
        }
    },
    "/marking/scripts/{script_id}": {
        "get": {
            "tags": ["marking"],
            "summary": "A script, blind: the item, rubric, answer and the marks you may see",
            "parameters": [SCRIPT_ID],
            "responses": {"200": _ok("The script.", "Script"), **MARKING_ERRORS},
        }
    },
    "/marking/scripts/{script_id}/marks": {
        "put": {
            "tags": ["marking"],
            "summary": "Give your marks for the round you hold; agrees or escalates once both are in",
            "parameters": [SCRIPT_ID, CSRF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("MarksRequest")}}},
            "responses": {
                "200": _ok("The marks are stored.", "MarksReply"),
                **MARKING_ERRORS,
                "403": _error("not_allocated: this script is not yours to mark now; or not an assessor."),
                "409": _error("illegal_transition: the script's state does not allow this mark."),
                "422": _error("invalid_marks: a criterion missing or unknown, a mark that is not one of its levels, or a final mark without a reason."),
            },
        }
    },
    "/moderation/results/{result_id}": {
        "post": {
            "tags": ["marking"],
            "summary": "A lead assessor ratifies, amends (with a reason and score) or withholds a result",
            "parameters": [RESULT_ID, CSRF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ModerationRequest")}}},
            "responses": {
                "200": _ok("The result as moderated.", "ModeratedResult"),
                **MARKING_ERRORS,
                "403": _error("lead_assessor_only: only a lead assessor moderates."),
                "409": _error("illegal_transition: already moderated, released, or still awaiting marks."),
                "422": _error("invalid_decision: an unknown decision, no reason, or a score the written marks cannot give."),
            },
        }
    },
}  # fmt: skip

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": ERROR_CODES},
                    "message": {"type": "string", "description": "For people; may change."},
                },
            }
        },
    },
    "Option": {
        "type": "object",
        "required": ["id", "html"],
        "properties": {"id": {"type": "string"}, "html": {"type": "string"}},
    },
    "Answer": {
        "description": (
            "single: an option id; multiple: a list of option ids (at most `select`); "
            "ordering: every option id, first to last; numeric: a number; text and "
            "written: a string. null clears the answer."
        ),
        "oneOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
            {"type": "number"},
            {"type": "null"},
        ],
    },
    "Item": {
        "type": "object",
        "description": "An item as the candidate sees it: never a key, rationale, rating or mapping.",
        "required": ["position", "section", "type", "stem_html", "options", "response", "seq", "flagged"],
        "properties": {
            "position": {"type": "integer"},
            "section": {"type": "integer"},
            "type": {"enum": ["single", "multiple", "ordering", "numeric", "text", "written"]},
            "stem_html": {"type": "string"},
            "scenario": {
                "oneOf": [
                    {"type": "null"},
                    {"type": "object", "properties": {"title": {"type": "string"}, "html": {"type": "string"}}},
                ]
            },
            "options": {"type": "array", "items": _ref("Option")},
            "select": {"type": "integer", "description": "multiple: how many to choose"},
            "unit": {"type": ["string", "null"], "description": "numeric: the unit"},
            "max_length": {"type": "integer", "description": "text: the character cap"},
            "word_limit": {"type": "integer", "description": "written: the word limit"},
            "response": _ref("Answer"),
            "seq": {"type": "integer", "description": "seq of the stored answer; 0 if none"},
            "flagged": {"type": "boolean"},
        },
    },
    "Attempt": {
        "type": "object",
        "required": ["id", "assessment", "status", "started_at", "deadline_at", "remaining_seconds", "server_time"],
        "properties": {
            "id": {"type": "integer"},
            "assessment": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "mode": {"enum": ["accreditation", "practice"]}},
            },
            "status": {
                "enum": ["open", "grace", "expired", "submitted"],
                "description": "grace: past the deadline, in-flight saves still accepted.",
            },
            "started_at": {"type": "string", "format": "date-time"},
            "deadline_at": {"type": ["string", "null"], "format": "date-time"},
            "remaining_seconds": {
                "type": ["number", "null"],
                "minimum": 0,
                "description": "Seconds to the deadline by the server's clock; 0 once the time is up or the attempt is submitted; null if untimed. Count down from this, never from the client's clock.",
            },
            "server_time": {"type": "string", "format": "date-time"},
            "submitted_at": {"type": ["string", "null"], "format": "date-time"},
            "items": {"type": "array", "items": _ref("Item")},
            "submitted_now": {"type": "boolean", "description": "submit only: this request submitted it"},
        },
    },
    "Result": {
        "type": "object",
        "description": "A released result. Items appear only where the assessment allows review, and never with the key or mark of an item an accreditation test can draw.",
        "required": ["attempt_id", "status", "outcome", "raw", "maximum", "percent", "pass_mark", "profile", "scoring_version"],
        "properties": {
            "attempt_id": {"type": "integer"},
            "status": {"enum": ["scored", "pending"]},
            "outcome": {"enum": ["passed", "not_passed", None]},
            "raw": {"type": "number"},
            "maximum": {"type": "number"},
            "percent": {"type": "number"},
            "pass_mark": {
                "type": "object",
                "properties": {
                    "marks": {"type": "number"}, "percent": {"type": "number"},
                    "method": {"enum": ["fixed", "angoff"]}, "description": {"type": "string"},
                },
            },
            "profile": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "statement": {"type": "string"}, "title": {"type": "string"},
                        "earned": {"type": "number"}, "possible": {"type": "number"},
                        "percent": {"type": "number"}, "items": {"type": "integer"}, "met": {"type": "boolean"},
                    },
                },
            },
            "scoring_version": {"type": "string"},
            "scored_at": {"type": "string", "format": "date-time"},
            "released_at": {"type": "string", "format": "date-time"},
            "written": {
                "type": "array",
                "description": "Each written answer's agreed mark, criterion by criterion (after an amendment, only the total).",
                "items": {
                    "type": "object",
                    "required": ["position", "marks", "max_marks", "criteria", "amended", "how"],
                    "properties": {
                        "position": {"type": "integer"},
                        "marks": {"type": "number"},
                        "max_marks": {"type": "number"},
                        "amended": {"type": "boolean"},
                        "how": {"enum": ["mean", "lower", "third", "moderator", "blank"]},
                        "criteria": {"type": "array", "items": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"}, "criterion": {"type": "string"},
                                "marks": {"type": ["number", "null"]}, "max_marks": {"type": "number"},
                            },
                        }},
                    },
                },
            },
            "items": {
                "type": "array",
                "description": (
                    "Each scored position. For an item an accreditation test can draw, `marks` and `key` are null: "
                    "either would give its answer away."
                ),
                "items": {
                    "type": "object",
                    "required": ["position", "marks", "max_marks", "pending", "answer", "key"],
                    "properties": {
                        "position": {"type": "integer"},
                        "marks": {"type": ["number", "null"]},
                        "max_marks": {"type": "number"},
                        "pending": {"type": "boolean"},
                        "answer": {},
                        "key": {},
                    },
                },
            },
        },
    },
    "SaveRequest": {
        "type": "object",
        "required": ["answer", "seq"],
        "properties": {
            "answer": _ref("Answer"),
            "seq": {
                "type": "integer", "minimum": 1, "maximum": 2**53,
                "description": (
                    "Increases with every change at this position. Stored only if newer than the stored seq. "
                    "A whole number: 1.0 is read as 1, while 1.5, \"1\" and true are refused (400). "
                    "At most 1,000,000 above the stored seq (else 400), so no seq can leave a position "
                    "with no newer seq to send."
                ),
            },
        },
    },
    "SaveReply": {
        "type": "object",
        "required": ["seq", "saved_at", "stored"],
        "properties": {
            "seq": {"type": "integer", "description": "seq of the answer now stored; acknowledged when ≥ the seq sent"},
            "saved_at": {"type": ["string", "null"], "format": "date-time"},
            "stored": {"type": "boolean", "description": "false when a newer answer was already stored"},
        },
    },
    "FlagRequest": {
        "type": "object",
        "required": ["flagged"],
        "properties": {"flagged": {"type": "boolean"}},
    },
    "FlagReply": {
        "type": "object",
        "required": ["position", "flagged"],
        "properties": {"position": {"type": "integer"}, "flagged": {"type": "boolean"}},
    },
}  # fmt: skip


def openapi_document() -> dict[str, Any]:
    """Return the API's OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "accredit API: sitting and marking",
            "version": "1.0.0",
            "description": (
                "Candidates sit through the sitting operations; assessors mark through the "
                "marking ones. Sign in at /login for a session cookie; send the X-CSRFToken "
                "header with every write. The server owns the deadline."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/assessments/{assessment_id}/attempts": {
                "post": {
                    "summary": "Start an attempt, or return the open one",
                    "parameters": [
                        {
                            "name": "assessment_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        CSRF,
                    ],
                    "responses": {
                        "201": _ok("Started: the new attempt with its form.", "Attempt"),
                        "200": _ok("Already open: the open attempt.", "Attempt"),
                        "409": _error(
                            "start_refused (window, attempts or cool-off), form_unavailable or "
                            + PRACTICE_LOCKED
                        ),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/attempts/{attempt_id}": {
                "get": {
                    "summary": "The attempt: status, deadline, remaining time and items in order",
                    "parameters": [
                        ATTEMPT_ID,
                        {
                            "name": "items",
                            "in": "query",
                            "required": False,
                            "description": "true (or 1) includes the items; false (or 0) leaves them out, enough for a timer's re-sync. Anything else is 400.",
                            "schema": {"type": "boolean", "default": True},
                        },
                    ],
                    "responses": {
                        "200": _ok("The attempt.", "Attempt"),
                        "409": _error(PRACTICE_LOCKED),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/attempts/{attempt_id}/responses/{position}": {
                "put": {
                    "summary": "Save the answer at a position",
                    "parameters": [ATTEMPT_ID, POSITION, CSRF],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("SaveRequest")}},
                    },
                    "responses": {
                        "200": _ok("What is now stored.", "SaveReply"),
                        "409": _error(
                            "deadline_passed (after the grace period), attempt_submitted, answer_locked or "
                            + PRACTICE_LOCKED
                        ),
                        "422": _error(
                            "invalid_answer: no such option, too many choices, not a number, too long, "
                            "or a character no database can store (NUL, a lone surrogate)."
                        ),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/attempts/{attempt_id}/flags/{position}": {
                "put": {
                    "summary": "Flag a position for review, or clear the flag",
                    "parameters": [ATTEMPT_ID, POSITION, CSRF],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("FlagRequest")}},
                    },
                    "responses": {
                        "200": _ok("The flag is set.", "FlagReply"),
                        "409": _error("deadline_passed, attempt_submitted or " + PRACTICE_LOCKED),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/attempts/{attempt_id}/result": {
                "get": {
                    "summary": "The released result: outcome, score, pass mark and competency profile",
                    "parameters": [ATTEMPT_ID],
                    "responses": {
                        **COMMON_ERRORS,
                        "200": _ok("The result.", "Result"),
                        "403": _error(
                            "not_released: the result has not been released yet; or not the candidate role."
                        ),
                        "409": _error("not_scored, or " + PRACTICE_LOCKED),
                    },
                }
            },
            "/attempts/{attempt_id}/submit": {
                "post": {
                    "summary": "Submit the attempt (idempotent)",
                    "parameters": [ATTEMPT_ID, CSRF],
                    "responses": {
                        "200": _ok(
                            "The attempt, submitted; submitted_now says whether this call did it.",
                            "Attempt",
                        ),
                        "409": _error(PRACTICE_LOCKED),
                        **COMMON_ERRORS,
                    },
                }
            },
            **MARKING_PATHS,
        },
        "components": {"schemas": {**SCHEMAS, **MARKING_SCHEMAS}},
    }
