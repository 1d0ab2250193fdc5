"""Render item Markdown to safe HTML.

Markdown is parsed with raw HTML disabled and the output is then cleaned with
an allow-list, so even a parser bug cannot let a script or an event handler
through to a candidate's page.
"""

from __future__ import annotations

import functools

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "p", "strong", "em", "ul", "ol", "li", "a", "code", "pre", "blockquote",
        "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "br",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


@functools.cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def sanitise(html: str) -> str:
    """Remove every tag, attribute and URL scheme not on the allow-lists."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
    )


def render_markdown(text: str) -> str:
    """Render block Markdown (stems, vignettes, rationales) to sanitised HTML."""
    return sanitise(_parser().render(text))


def render_inline(text: str) -> str:
    """Render inline Markdown (option text) to sanitised HTML with no wrapping paragraph."""
    return sanitise(_parser().renderInline(text))
