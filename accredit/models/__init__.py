"""The data model, one module per aggregate. Importing this registers every table."""

from accredit.models.audit import AuditChainHead, AuditEvent
from accredit.models.base import Base
from accredit.models.people import LoginAttempt, Organisation, Role, User

__all__ = ["AuditChainHead", "AuditEvent", "Base", "LoginAttempt", "Organisation", "Role", "User"]
