"""Search boxes' text, the same in every domain: a name folded to lower case without accents,
and a LIKE pattern that takes the user's text literally."""

from __future__ import annotations

import unicodedata


def _fold_once(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def fold(text: str) -> str:
    """Lower-case without accents (NFKD), spaces collapsed, so that "joao" finds "João".
    Folded until it no longer changes ("ᴬ" decomposes to "A", which folds to "a"), so that
    a stored name and a search for it fold alike."""
    folded = _fold_once(text)
    for _ in range(3):
        again = _fold_once(folded)
        if again == folded:
            break
        folded = again
    return " ".join(folded.split())


def like_pattern(text: str) -> str:
    """`%text%` with LIKE's own characters escaped: a "%" typed is a "%" searched."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
