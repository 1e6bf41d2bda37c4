"""Text as the PostgreSQL search index and its queries see it: folded, cleaned, capped."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from eakte.search._german import fold
from eakte.search.analysis import MAX_TOKEN_CHARS, normalise_word

__all__ = ["NORMALISATION", "TOKEN", "clean", "normalise", "within_budget"]

#: Version of the Python-side normalisation in this module.
NORMALISATION: Final = 1
#: A run of word characters, as PostgreSQL's parser sees a word.
TOKEN: Final = re.compile(r"\w+")

_W = r"[\w\u0300-\u036f\u00ad]"
_LONG_TOKEN = re.compile(rf"\b{_W}{{{MAX_TOKEN_CHARS + 1},}}")
_FOLDABLE = re.compile(rf"\b{_W}*?(?:ae|oe|ue|[^\x00-\x7f]){_W}*")


@lru_cache(maxsize=131_072)
def _fold_word(word: str) -> str:
    return fold(normalise_word(word))


def normalise(text_: str) -> str:
    """Return ``text_`` lower-cased and folded as the index and queries see it.

    ``"Mueller, Café"`` → ``"müller, cafe"``; tokens longer than
    :data:`~eakte.search.analysis.MAX_TOKEN_CHARS` become a space.
    """
    lowered = _LONG_TOKEN.sub(" ", text_.lower())
    return _FOLDABLE.sub(lambda m: _fold_word(m.group()), lowered)


def clean(value: str) -> str:
    """Remove what PostgreSQL text cannot hold: NUL characters and lone surrogates."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def within_budget(text_: str, budget: int) -> str:
    """Cut ``text_`` where its distinct words would exceed ``budget`` bytes."""
    if len(text_) * 2 < budget:
        return text_
    seen: set[str] = set()
    cost = 0
    for match in TOKEN.finditer(text_):
        word = match.group()
        if word not in seen:
            seen.add(word)
            cost += len(word.encode("utf-8")) + 10
            if cost > budget:
                return text_[:match.start()]
    return text_
