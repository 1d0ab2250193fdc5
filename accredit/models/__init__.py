"""The data model, one module per aggregate. Importing this registers every table."""

from accredit.models.audit import AuditChainHead, AuditEvent
from accredit.models.banks import (
    Assessment,
    AssessmentVersion,
    Bank,
    Framework,
    FrameworkVersion,
    ImportRun,
    Item,
    ItemVersion,
    Scenario,
    ScenarioVersion,
    Statement,
)
from accredit.models.base import Base
from accredit.models.cohort import DevelopmentNote, HistoryView, Team
from accredit.models.delivery import Attempt, AttemptItem, Enrolment, Response
from accredit.models.exports import ApiToken, Export
from accredit.models.jobs import Job
from accredit.models.marking import (
    AgreedMark,
    Allocation,
    CriterionMark,
    Mark,
    ModerationDecision,
    ModerationSample,
)
from accredit.models.people import LoginAttempt, Organisation, Role, User
from accredit.models.results import (
    AnalysisRun,
    AnalysisSignOff,
    KeyDecision,
    Result,
    ResultRevision,
    ScoredPosition,
)

__all__ = [
    "AgreedMark",
    "Allocation",
    "AnalysisRun",
    "AnalysisSignOff",
    "ApiToken",
    "Assessment",
    "AssessmentVersion",
    "Attempt",
    "AttemptItem",
    "AuditChainHead",
    "AuditEvent",
    "Bank",
    "Base",
    "CriterionMark",
    "DevelopmentNote",
    "Enrolment",
    "Export",
    "Framework",
    "FrameworkVersion",
    "HistoryView",
    "ImportRun",
    "Item",
    "ItemVersion",
    "Job",
    "KeyDecision",
    "LoginAttempt",
    "Mark",
    "ModerationDecision",
    "ModerationSample",
    "Organisation",
    "Response",
    "Result",
    "ResultRevision",
    "Role",
    "Scenario",
    "ScenarioVersion",
    "ScoredPosition",
    "Statement",
    "Team",
    "User",
]
