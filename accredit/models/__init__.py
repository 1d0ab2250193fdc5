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
from accredit.models.people import LoginAttempt, Organisation, Role, User

__all__ = [
    "Assessment",
    "AssessmentVersion",
    "AuditChainHead",
    "AuditEvent",
    "Bank",
    "Base",
    "Framework",
    "FrameworkVersion",
    "ImportRun",
    "Item",
    "ItemVersion",
    "LoginAttempt",
    "Organisation",
    "Role",
    "Scenario",
    "ScenarioVersion",
    "Statement",
    "User",
]
