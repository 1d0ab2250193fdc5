"""Accounts: users, organisations, passwords and signing in."""
