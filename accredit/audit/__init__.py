"""The audit trail: record events, verify the chain and checkpoint its head."""

from accredit.audit.service import (
    ChainBreak,
    Checkpointed,
    checkpoint,
    checkpoint_path,
    record,
    signing_key,
    verify,
)

__all__ = [
    "ChainBreak",
    "Checkpointed",
    "checkpoint",
    "checkpoint_path",
    "record",
    "signing_key",
    "verify",
]
