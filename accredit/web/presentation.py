"""Template helpers that turn catalogue data into GOV.UK component parameters."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from markupsafe import Markup

from accredit.banks import render_markdown
from accredit.catalogue.presentation import OptionView


def option_item(option: OptionView, response: Any, disabled: bool = False) -> dict[str, Any]:
    """Return a GOV.UK radios or checkboxes item for an option, checked if answered."""
    chosen = response if isinstance(response, list) else [response]
    return {
        "value": option.id,
        "html": Markup(option.html),  # noqa: S704 (rendered and sanitised at import)
        "checked": option.id in chosen,
        "disabled": disabled,
    }


def position_items(count: int, response: Any, option_id: str) -> list[dict[str, Any]]:
    """Return the 1..n choices for an ordering option, selecting its answered position."""
    position = (
        response.index(option_id) + 1
        if isinstance(response, list) and option_id in response
        else None
    )
    return [
        {"value": str(number), "text": str(number), "selected": number == position}
        for number in range(1, count + 1)
    ]


def choice(value: Any, kind: str, selected: str) -> dict[str, Any]:
    """Return a GOV.UK select item from a bank row, a (key, label) pair or a plain value."""
    if kind == "bank":
        key, text = value.bank.key, value.bank.title
    elif kind == "pair":
        key, text = value
    else:
        key, text = value, str(value).capitalize()
    return {"value": key, "text": text, "selected": key == selected}


def answer_key(content: dict[str, Any]) -> str:
    """Describe an item's key for staff, in words."""
    options = {option["id"]: option["text"] for option in content.get("options", [])}
    kind, key = content["type"], content.get("key") or []
    if kind == "single":
        return f"{key}: {options.get(key, '')}"
    if kind == "multiple":
        return "; ".join(f"{option}: {options[option]}" for option in key)
    if kind == "ordering":
        return " → ".join(key)
    if kind == "numeric":
        tolerance = content.get("tolerance") or 0
        unit = f" {content['unit']}" if content.get("unit") else ""
        return f"{key:g}{unit}" + (f" (± {tolerance:g})" if tolerance else "")
    if kind == "text":
        return " or ".join(f"“{answer}”" for answer in content["accepted"])
    return "Marked by assessors against the rubric"


def answer_in_words(content: dict[str, Any]) -> str:
    """Describe an item's key for a candidate: options by their text, never by internal ids."""
    options: dict[str, str] = {o["id"]: o["text"] for o in content.get("options", [])}
    kind, key = content["type"], content.get("key")
    if kind == "single":
        return options.get(str(key), "")
    if kind == "multiple":
        return "; ".join(options[option] for option in key or [])
    if kind == "ordering":
        ordered = enumerate(key or [], 1)
        return " → ".join(f"{number}. {options[option]}" for number, option in ordered)
    return answer_key(content)


def rationale_in_words(content: dict[str, Any]) -> Markup:
    """Render an item's rationale for a candidate, naming options by their text.

    Rationales are written against the bank's option ids ("Option (b) describes…"),
    but a candidate saw the options shuffled and unlettered, so each reference to
    one of the item's options becomes its text. A reference inside a citation,
    such as "section 47(1)(b)", follows a bracket or a letter and is left alone.
    """
    options: dict[str, str] = {o["id"]: o["text"] for o in content.get("options", [])}
    text = content.get("rationale") or ""
    if options:
        ids = "|".join(re.escape(option) for option in options)
        text = re.sub(rf"\b[Oo]ptions? \(({ids})\)", lambda m: f"“{options[m.group(1)]}”", text)
        text = re.sub(rf"(?<![\w)])\(({ids})\)", lambda m: f"(“{options[m.group(1)]}”)", text)
    return markdown(text)


def plain_value(value: Any) -> str:
    """An answer or key as plain text: option ids joined, nothing for no answer."""
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(part) for part in value)
    return str(value)


def markdown(text: str) -> Markup:
    return Markup(render_markdown(text))  # noqa: S704 (sanitised by nh3)


def init_app(app: Flask) -> None:
    app.add_template_filter(option_item)
    app.add_template_filter(answer_in_words)
    app.add_template_filter(rationale_in_words)
    app.add_template_filter(choice)
    app.add_template_filter(answer_key)
    app.add_template_filter(markdown)
    app.add_template_filter(plain_value)
    app.add_template_global(position_items)
