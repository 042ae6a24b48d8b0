"""The LIKE pattern every search box uses (catalogue, customers, suppliers): what a user types is
searched literally, never as LIKE's own wildcards."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from shared.text_search import like_pattern


def test_wildcards_and_the_escape_are_taken_literally() -> None:
    assert like_pattern("100%") == "%100\\%%"
    assert like_pattern("a_b") == "%a\\_b%"
    assert like_pattern("c:\\x") == "%c:\\\\x%"


def _like_regex(pattern: str) -> re.Pattern[str]:
    """PostgreSQL's LIKE with its default escape character, as a regular expression."""
    out, chars = [], iter(pattern)
    for c in chars:
        if c == "\\":
            out.append(re.escape(next(chars)))
        elif c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        else:
            out.append(re.escape(c))
    return re.compile("".join(out), re.DOTALL)


@given(st.text(alphabet="ab%_\\", max_size=8), st.text(alphabet="ab%_\\", max_size=12))
def test_a_pattern_matches_exactly_the_texts_that_contain_the_query(query: str, text: str) -> None:
    assert bool(_like_regex(like_pattern(query)).fullmatch(text)) == (query in text)
