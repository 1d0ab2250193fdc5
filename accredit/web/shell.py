"""The site's shell: role homes, role-aware navigation, and time shown in UK local time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, request, url_for
from flask_login import current_user

from accredit.models import Role
from accredit.timefmt import duration, uk_time

ROLE_HOME = {
    Role.CANDIDATE: "candidate.home",
    Role.ASSESSOR: "assessor.home",
    Role.LEADER: "leader.home",
    Role.REGULATOR: "regulator.home",
    Role.ADMIN: "admin.home",
}


@dataclass(frozen=True)
class NavItem:
    text: str
    endpoint: str


NAVIGATION = {
    Role.CANDIDATE: [
        NavItem("My assessments", "candidate.home"),
        NavItem("My attempts", "candidate.history"),
    ],
    Role.ASSESSOR: [NavItem("Marking queue", "assessor.home")],
    Role.LEADER: [
        NavItem("Practice knowledge", "leader.home"),
        NavItem("Teams", "leader.teams"),
        NavItem("Enrolments", "enrolments.index"),
    ],
    Role.REGULATOR: [
        NavItem("Exports", "regulator.home"),
        NavItem("API tokens", "regulator.tokens_page"),
    ],
    Role.ADMIN: [
        NavItem("Banks and users", "admin.home"),
        NavItem("Question banks", "admin.banks"),
        NavItem("Enrolments", "enrolments.index"),
        NavItem("Users", "admin.users"),
    ],
}


def home_endpoint(role: str) -> str:
    return ROLE_HOME[Role(role)]


def navigation() -> list[dict[str, Any]]:
    """Return GOV.UK service-navigation items for the signed-in user's role."""
    if not current_user.is_authenticated:
        return []
    items = []
    for item in NAVIGATION[Role(current_user.role)]:
        href = url_for(item.endpoint)
        items.append({"href": href, "text": item.text, "active": request.path == href})
    return items


def init_app(app: Flask) -> None:
    app.add_template_filter(uk_time, "uk_time")
    app.add_template_filter(duration, "duration")

    @app.context_processor
    def shell_context() -> dict[str, Any]:
        return {"navigation": navigation(), "Role": Role}
