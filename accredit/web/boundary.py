"""One commit per request, at the boundary: services only flush.

A request that ends normally commits; any error handler rolls back first, so a
failed request leaves nothing half-written.
"""

from __future__ import annotations

from flask import Flask, Response

from accredit.extensions import db


def commit(response: Response) -> Response:
    if response.status_code < 500:
        db.session.commit()
    else:
        db.session.rollback()
    return response


def rollback() -> None:
    db.session.rollback()


def init_app(app: Flask) -> None:
    app.after_request(commit)
