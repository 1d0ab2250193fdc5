"""Background work on a job queue: Huey, on SQLite in ``instance/`` or on Redis in production."""
