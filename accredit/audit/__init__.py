"""The audit trail: record events and verify the hash chain."""

from accredit.audit.service import ChainBreak, record, verify

__all__ = ["ChainBreak", "record", "verify"]
