"""Scoring: plain Python rules for items, profiles and pass marks. No Flask, no database."""
