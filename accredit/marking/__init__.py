"""Marking written answers: blind double marking, agreement and moderation of results."""
