"""A practice leader's cohort: teams, the statements picture, notes and history views."""
