"""Markdown: the formatting authors may use, and nothing that can run in a browser."""

from __future__ import annotations

import re

import pytest

from accredit.banks import render_inline, render_markdown


def test_basic_formatting() -> None:
    html = render_markdown("**Bold**, *em* and `code`.\n\n- one\n- two\n\n1. first\n")

    assert "<strong>Bold</strong>" in html
    assert "<em>em</em>" in html
    assert "<code>code</code>" in html
    assert "<ul>\n<li>one</li>" in html
    assert "<ol>\n<li>first</li>" in html


def test_links_open_safely_and_keep_their_title() -> None:
    html = render_markdown('[Act](https://www.legislation.gov.uk/ "Children Act")')

    assert html == (
        '<p><a href="https://www.legislation.gov.uk/" title="Children Act" '
        'rel="noopener noreferrer">Act</a></p>\n'
    )


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JAVASCRIPT:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox)",
    ],
)
def test_dangerous_urls_are_not_links(source: str) -> None:
    assert "href" not in render_markdown(source)


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="https://x" onclick="alert(1)">x</a>',
        "<iframe src='https://x'></iframe>",
    ],
)
def test_raw_html_is_shown_as_text_never_as_markup(source: str) -> None:
    html = render_markdown(source)

    assert not re.search(r"<(script|img|iframe|a)\b", html)
    assert "&lt;" in html


def test_tags_off_the_allow_list_are_removed() -> None:
    html = render_markdown("# Big heading\n\n### Small heading\n\n![alt](https://x/y.png)\n\n---\n")

    assert "<h1>" not in html
    assert "Big heading" in html
    assert "<h3>Small heading</h3>" in html
    assert "<img" not in html
    assert "<hr" not in html


def test_tables_are_rendered_without_inline_styles() -> None:
    html = render_markdown("| a | b |\n|:--|--:|\n| 1 | 2 |\n")

    assert "<table>" in html
    assert "<th>a</th>" in html
    assert "<td>2</td>" in html
    assert "style" not in html


def test_inline_rendering_has_no_paragraph() -> None:
    assert render_inline("**Section 47** enquiry") == "<strong>Section 47</strong> enquiry"
    assert render_inline("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"
