"""What a candidate may see of an item: a whitelist, so a key can never leak by accident.

The preview for staff and the sitting both build on ``candidate_view``. It copies
only the fields named here from a version (the rendered stem and options and the
facts needed to answer), never the key, rationale, Angoff ratings or mapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from accredit.models import ItemVersion, ScenarioVersion

# Type-specific answer settings a candidate needs, and nothing else.
ANSWER_SETTINGS = {
    "multiple": ("select",),
    "numeric": ("unit",),
    "text": ("max_length",),
    "written": ("word_limit",),
}


@dataclass(frozen=True)
class OptionView:
    id: str
    html: str


@dataclass(frozen=True)
class CandidateItem:
    type: str
    stem_html: str
    options: tuple[OptionView, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    scenario_title: str | None = None
    scenario_html: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "stem_html": self.stem_html,
            "scenario": (
                {"title": self.scenario_title, "html": self.scenario_html}
                if self.scenario_html is not None
                else None
            ),
            "options": [{"id": option.id, "html": option.html} for option in self.options],
            **self.settings,
        }


def candidate_view(
    version: ItemVersion,
    *,
    item_type: str,
    option_order: Sequence[str] | None = None,
    scenario: ScenarioVersion | None = None,
) -> CandidateItem:
    """Return the candidate-safe view of an item version, options in the given order."""
    rendered_options: dict[str, str] = version.rendered.get("options", {})
    order = list(option_order) if option_order else list(rendered_options)
    content = version.content
    settings = {name: content.get(name) for name in ANSWER_SETTINGS.get(item_type, ())}
    return CandidateItem(
        type=item_type,
        stem_html=version.rendered["stem"],
        options=tuple(OptionView(option_id, rendered_options[option_id]) for option_id in order),
        settings=settings,
        scenario_title=scenario.title if scenario else None,
        scenario_html=scenario.vignette_html if scenario else None,
    )
