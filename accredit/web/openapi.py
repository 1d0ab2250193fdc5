"""The OpenAPI 3.1 description of the JSON API, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

ERROR_CODES = [
    "bad_request", "csrf_failed", "unauthenticated", "forbidden", "not_found", "not_enrolled",
    "start_refused", "form_unavailable", "deadline_passed", "attempt_submitted", "answer_locked",
    "invalid_answer", "not_released", "too_large", "server_error",
]  # fmt: skip


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


ATTEMPT_ID = {
    "name": "attempt_id", "in": "path", "required": True,
    "schema": {"type": "integer", "minimum": 1},
}  # fmt: skip
POSITION = {
    "name": "position", "in": "path", "required": True,
    "description": "The item's position on the attempt's form, from 1.",
    "schema": {"type": "integer", "minimum": 1},
}  # fmt: skip
CSRF = {
    "name": "X-CSRFToken", "in": "header", "required": True,
    "description": "The CSRF token of the signed-in session (any page's csrf_token field).",
    "schema": {"type": "string"},
}  # fmt: skip

COMMON_ERRORS = {
    "400": _error("The body or the CSRF token is missing or malformed."),
    "401": _error("Not signed in."),
    "403": _error("Signed in without the candidate role."),
    "404": _error("No such attempt or position for this candidate (another's attempt is 404 too)."),
}

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
                "description": "Seconds to the deadline by the server's clock; null if untimed. Count down from this, never from the client's clock.",
            },
            "server_time": {"type": "string", "format": "date-time"},
            "submitted_at": {"type": ["string", "null"], "format": "date-time"},
            "items": {"type": "array", "items": _ref("Item")},
            "submitted_now": {"type": "boolean", "description": "submit only: this request submitted it"},
        },
    },
    "Result": {
        "type": "object",
        "description": "A released result. Items (with keys) appear only where the assessment allows review.",
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
            "items": {"type": "array", "items": {"type": "object"}},
        },
    },
    "SaveRequest": {
        "type": "object",
        "required": ["answer", "seq"],
        "properties": {
            "answer": _ref("Answer"),
            "seq": {
                "type": "integer", "minimum": 1, "maximum": 2**53,
                "description": "Increases with every change at this position. Stored only if newer than the stored seq.",
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
}  # fmt: skip


def openapi_document() -> dict[str, Any]:
    """Return the API's OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "accredit sitting API",
            "version": "1.0.0",
            "description": (
                "Used by the sitting page. Sign in at /login for a session cookie; send the "
                "X-CSRFToken header with every write. The server owns the deadline."
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
                            "start_refused (window, attempts or cool-off) or form_unavailable."
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
                            "description": "false leaves out the items: enough for a timer's re-sync.",
                            "schema": {"type": "boolean", "default": True},
                        },
                    ],
                    "responses": {"200": _ok("The attempt.", "Attempt"), **COMMON_ERRORS},
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
                            "deadline_passed (after the grace period), attempt_submitted or answer_locked."
                        ),
                        "422": _error(
                            "invalid_answer: no such option, too many choices, not a number, too long."
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
                        "200": {"description": "The flag is set."},
                        "409": _error("deadline_passed or attempt_submitted."),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/attempts/{attempt_id}/result": {
                "get": {
                    "summary": "The released result: outcome, score, pass mark and competency profile",
                    "parameters": [ATTEMPT_ID],
                    "responses": {
                        "200": _ok("The result.", "Result"),
                        "403": _error("not_released: the result has not been released yet."),
                        "401": COMMON_ERRORS["401"],
                        "404": COMMON_ERRORS["404"],
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
                        **COMMON_ERRORS,
                    },
                }
            },
        },
        "components": {"schemas": SCHEMAS},
    }
