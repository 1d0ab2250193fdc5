"""The export catalogue: each export's tables and columns, and its schema version.

A schema version changes when a column is added, removed, renamed or changes
meaning; docs/exports.md records each version. Plain Python.
"""

from __future__ import annotations

from accredit.exports.formats import Field, Table

SCHEMA_VERSION = "1.0"

OUTCOMES = ("passed", "not_passed", "void", "withheld", "absent")
RESULT_STATUSES = ("provisional", "ratified", "amended")
ROUNDS = ("first", "second", "third", "moderator")

_ROW = Field("export_row_id", "string", "Stable id of this row: the same result revision always "
             "has the same id, in every export", required=True)  # fmt: skip
_RESULT = Field("result_row_id", "string", "The export_row_id of the result in the results export",
                required=True)  # fmt: skip
_REGISTRATION = Field("swe_registration_number", "string",
                      "Social Work England registration number, if recorded")  # fmt: skip
_ORGANISATION = Field("organisation_code", "string", "The candidate's employer's code")
_ASSESSMENT = Field("assessment_id", "string", "The assessment's id", required=True)
_VERSION = Field("assessment_version", "integer", "The assessment's version", required=True)
_ATTEMPT = Field("attempt_number", "integer", "1 for a first attempt, 2 for the first re-sit")

RESULTS = Table(
    "results",
    "One row per finalised attempt (and per absence)",
    (
        _ROW,
        _REGISTRATION,
        _ORGANISATION,
        _ASSESSMENT,
        _VERSION,
        Field("assessment_title", "string", "The assessment's title"),
        Field(
            "form_id",
            "string",
            "Which form was drawn: attempts with one form id sat the same "
            "item versions in the same positions",
        ),
        _ATTEMPT,
        Field("started_at", "datetime", "When the attempt started (UTC)"),
        Field("submitted_at", "datetime", "When the attempt was submitted (UTC)"),
        Field("raw_score", "number", "Marks scored"),
        Field("maximum", "number", "Marks available (voided items removed)"),
        Field("cut", "number", "Marks needed to pass, on this form"),
        Field(
            "cut_method",
            "string",
            "How the cut was set: fixed (a pass mark) or angoff (from "
            "the judges' ratings of the items on this form)",
            enum=("fixed", "angoff"),
        ),
        Field("cut_description", "string", "The cut, described"),
        Field(
            "outcome",
            "string",
            "passed, not_passed, void (no item left to score), withheld "
            "(held back by the moderator) or absent (the window closed with no attempt)",
            enum=OUTCOMES,
            required=True,
        ),
        Field(
            "result_status",
            "string",
            "provisional (released without moderation), ratified "
            "(moderated, or released after moderation) or amended (changed after release)",
            enum=RESULT_STATUSES,
        ),
        Field("ratified_at", "datetime", "When the result was ratified, or else released (UTC)"),
        Field("amendment_reason", "string", "Why the result was changed, if it was"),
    ),
    primary_key=("export_row_id",),
)

PROFILES = Table(
    "profiles",
    "One row per finalised attempt and competency statement",
    (
        _ROW,
        _RESULT,
        _REGISTRATION,
        _ORGANISATION,
        _ASSESSMENT,
        _VERSION,
        _ATTEMPT,
        Field("statement", "string", "The knowledge and skills statement's id", required=True),
        Field("statement_title", "string", "The statement's heading"),
        Field("earned", "number", "Marks scored on the statement's items"),
        Field("possible", "number", "Marks available on the statement's items"),
        Field("percent", "number", "earned as a percentage of possible"),
        Field("items", "integer", "How many items the statement rests on"),
        Field("threshold_percent", "number", "The percentage that meets the statement"),
        Field("met", "boolean", "Whether the statement was met"),
    ),
    primary_key=("export_row_id",),
)

MARKING = Table(
    "marking",
    "Each written answer's marks by round, and its agreed mark, by marker id",
    (
        _ROW,
        _RESULT,
        _ASSESSMENT,
        _VERSION,
        Field("script_id", "string", "The written answer marked", required=True),
        Field("item_id", "string", "The item's id"),
        Field("item_version", "integer", "The item's version"),
        Field("round", "string", "Which marking", enum=ROUNDS, required=True),
        Field("marker_id", "integer", "The marker's user id", required=True),
        Field("marks", "number", "The marks this marker gave"),
        Field("marked_at", "datetime", "When (UTC)"),
        Field("agreed_marks", "number", "The script's agreed mark"),
        Field("agreed_method", "string", "How the agreed mark was reached"),
    ),
    primary_key=("export_row_id",),
)

ITEMS = Table(
    "items",
    "Item statistics of an assessment's first attempts, from the item analysis",
    (
        Field("item_id", "string", "The item's id", required=True),
        Field("type", "string", "single, multiple, ordering, short or written"),
        Field("pretest", "boolean", "Seen only unscored, to gather its statistics"),
        Field("n", "integer", "Candidates who saw it"),
        Field("facility", "number", "Mean mark over the maximum, 0 to 1"),
        Field("sd", "number", "Standard deviation of the marks over the maximum"),
        Field("point_biserial", "number", "Corrected item-rest correlation"),
        Field("upper_facility", "number", "Facility in the upper 27% by rest of form"),
        Field("lower_facility", "number", "Facility in the lower 27% by rest of form"),
        Field("discrimination_index", "number", "upper_facility - lower_facility"),
        Field("discriminative_efficiency", "number", "Covariance over its largest possible"),
        Field("omitted_rate", "number", "Share who left it unanswered"),
        Field("hard_flags", "string", "Codes of the hard flags, space separated"),
        Field("soft_flags", "string", "Codes of the soft flags, space separated"),
    ),
    primary_key=("item_id",),
)

RESEARCH = Table(
    "responses",
    "Responses per item, pseudonymised: no names, no registration numbers, no free text",
    (
        Field(
            "candidate",
            "string",
            "A keyed pseudonym of the candidate (HMAC-SHA256; the key is not in the export)",
            required=True,
        ),
        _ASSESSMENT,
        _VERSION,
        _ATTEMPT,
        Field("month", "yearmonth", "The month the attempt was submitted"),
        Field("position", "integer", "Where on the form the item was"),
        Field("item_id", "string", "The item's id", required=True),
        Field("item_version", "integer", "The item's version"),
        Field("item_type", "string", "single, multiple, ordering, short or written"),
        Field("pretest", "boolean", "Unscored, to gather its statistics"),
        Field(
            "answer",
            "string",
            "The option ids chosen, separated by ';' (empty for written "
            "and short answers, whose text is never exported)",
        ),
        Field("marks", "number", "Marks given (empty while awaiting marking)"),
        Field("max_marks", "number", "Marks available"),
    ),
)

RESEARCH_SUMMARY = Table(
    "item_months",
    "Per item and month: candidates and mean marks; counts under 5 shown as c",
    (
        Field("item_id", "string", "The item's id", required=True),
        Field("month", "yearmonth", "The month", required=True),
        Field(
            "candidates", "integer", "Candidates who answered it; c when under 5", suppressible=True
        ),
        Field(
            "mean_marks", "number", "Their mean marks; c when there were under 5", suppressible=True
        ),
    ),
    primary_key=("item_id", "month"),
)

CATALOGUE: dict[str, tuple[Table, ...]] = {
    "results": (RESULTS,),
    "profiles": (PROFILES,),
    "marking": (MARKING,),
    "items": (ITEMS,),
    "research": (RESEARCH, RESEARCH_SUMMARY),
}
TITLES = {
    "results": "Results",
    "profiles": "Competency profiles",
    "marking": "Written-answer marking",
    "items": "Item statistics",
    "research": "Pseudonymised responses for research",
}
