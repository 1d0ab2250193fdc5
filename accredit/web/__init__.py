"""The web layer: blueprints with thin views, the request boundary and the site's shell."""

from __future__ import annotations

from flask import Blueprint, Flask

from accredit import policy
from accredit.web import (
    account,
    admin,
    analysis,
    api,
    assessor,
    auth,
    boundary,
    candidate,
    enrolments,
    errors,
    exports_api,
    leader,
    marking_api,
    pages,
    presentation,
    regulator,
    security,
    shell,
)

ROLE_BLUEPRINTS = (candidate.bp, assessor.bp, analysis.bp, leader.bp, regulator.bp, admin.bp)


def init_app(app: Flask) -> None:
    boundary.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    shell.init_app(app)
    presentation.init_app(app)
    for blueprint in (
        auth.bp,
        account.bp,
        pages.bp,
        api.bp,
        marking_api.bp,
        exports_api.bp,
        enrolments.bp,
        *ROLE_BLUEPRINTS,
    ):
        app.register_blueprint(blueprint)
    # GOV.UK Frontend's stylesheet asks for its fonts and images under /assets.
    assets = Blueprint(
        "assets", __name__, static_folder="../static/govuk/assets", static_url_path="/assets"
    )
    app.register_blueprint(assets)
    policy.mark_public(app, "static")
    policy.mark_public(app, "assets.static")
