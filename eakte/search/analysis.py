"""A Whoosh analyzer for German: umlaut/ß folding both ways, Snowball stemming, decompounding.

Usage::

    from whoosh.fields import Schema, TEXT
    schema = Schema(content=TEXT(analyzer=german_analyzer()))

Pipeline: tokenizer (words, dotted numbers such as ``630.10``; combining marks and soft
hyphens stay inside words) → NFKC, lower case, accents other than ä/ö/ü stripped (Café =
Cafe) → Snowball 3 German stemmer (PyStemmer), which folds ä/ae, ö/oe, ü/ue and ß/ss
itself. At index time only, a compound also emits its parts at the same position:
``Verwaltungsdigitalisierung`` is indexed as ``verwaltungsdigitalisier`` plus ``verwalt``
and ``digitalisier``, so the query ``Digitalisierung`` finds it, while the query
``Bauantrag`` still does not match a text that only says ``Antrag``.

Why not Whoosh's own pieces: ``accent_map`` folds ß to s (Straße ≠ Strasse) and the
Snowball German bundled with Whoosh 2.7 does not fold ae/oe/ue (Mueller ≠ Müller).

Whoosh pickles the analyzer into the index's schema, so the filters here are importable by
a stable dotted path, keep only their configuration when pickled, and record the
:data:`ANALYZER_VERSION` they were built with (see :func:`analyzer_version`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any, Final

from whoosh.analysis import Analyzer, Filter, RegexTokenizer, Token

from eakte.search._german import CompoundSplitter, german_term

__all__ = [
    "ANALYZER_VERSION",
    "MAX_TOKEN_CHARS",
    "GermanNormalizeFilter",
    "GermanStemFilter",
    "analyze",
    "analyzer_version",
    "german_analyzer",
    "learn_vocabulary",
]

#: Bump whenever analysis output changes (code, stemmer, lexicon): indexes built with
#: another version must be rebuilt. ``tests/search/test_analysis.py`` pins a fingerprint.
ANALYZER_VERSION: Final = "de-1"

#: Tokens longer than this (base64, hashes, garbage) are not indexed.
MAX_TOKEN_CHARS: Final = 100

#: Words with optional dotted continuations; combining marks and soft hyphens stay inside.
TOKEN_PATTERN: Final = r"[\w\u0300-\u036f\u00ad]+(?:\.[\w\u0300-\u036f\u00ad]+)*"  # noqa: S105

_SOFT_HYPHEN = "\u00ad"
_NOUN = re.compile(r"\b[A-ZÄÖÜ][a-zäöüß]{3,}\b")
_LOWER_WORD = re.compile(r"\b[a-zäöüß]{4,}\b")


_GERMAN_LETTERS = frozenset("äöüß")


def normalise_word(text: str) -> str:
    """Lower-case one token, NFKC-normalised, without soft hyphens and foreign accents.

    ``ﬁ``→fi, ``Mu\u0308ller``→müller, ``Café``→cafe; ä, ö, ü and ß are kept for the stemmer.
    """
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text.replace(_SOFT_HYPHEN, "")).lower()
    if text.isascii():
        return text
    return "".join(
        char if char in _GERMAN_LETTERS or char.isascii() else _strip_accents(char)
        for char in text
    )


def _strip_accents(char: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))


class GermanNormalizeFilter(Filter):  # type: ignore[misc]  # whoosh is untyped
    """Unicode NFKC, lower case, soft hyphens removed; drops over-long tokens."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        """Normalise each token's text; drop empty and over-long tokens."""
        for token in tokens:
            text = normalise_word(token.text)
            if 0 < len(text) <= MAX_TOKEN_CHARS:
                token.text = text
                yield token


class GermanStemFilter(Filter):  # type: ignore[misc]  # whoosh is untyped
    """Stems (with umlaut/ß folding) and, at index time, adds compound parts.

    Args:
        extra_words: more known words for compound splitting (see :func:`learn_vocabulary`);
            stored in the index schema, so keep the list to what the collection needs.
        decompound: emit compound parts at index time.

    Attributes:
        version: the :data:`ANALYZER_VERSION` this filter was created with; kept when
            pickled, so an index built by an older eakte reports its older version.
    """

    is_morph = True

    def __init__(self, extra_words: Iterable[str] = (), *, decompound: bool = True) -> None:
        self.version = ANALYZER_VERSION
        self.extra_words = tuple(sorted({w.lower() for w in extra_words}))
        self.decompound = decompound
        self._splitter: CompoundSplitter | None = None

    @property
    def config(self) -> dict[str, Any]:
        """What defines this filter: equal configurations stem alike (also its pickled state)."""
        return {"version": self.version, "extra_words": self.extra_words,
                "decompound": self.decompound}

    def __getstate__(self) -> dict[str, Any]:
        return self.config

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.version = str(state.get("version", "unknown"))
        self.extra_words = tuple(state.get("extra_words", ()))
        self.decompound = bool(state.get("decompound", True))
        self._splitter = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GermanStemFilter) and self.config == other.config

    def __hash__(self) -> int:
        return hash((self.version, self.extra_words, self.decompound))

    def __repr__(self) -> str:
        return (f"GermanStemFilter(version={self.version!r}, "
                f"extra_words=<{len(self.extra_words)} words>, decompound={self.decompound})")

    @property
    def splitter(self) -> CompoundSplitter:
        """The compound splitter, built on first use (not pickled)."""
        if self._splitter is None:
            self._splitter = _shared_splitter(self.extra_words)
        return self._splitter

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        """Replace each token's text by its term; at index time follow it by its parts."""
        terms = self.splitter.terms if self.decompound else None
        for token in tokens:
            if terms is not None and token.mode == "index":
                for term in terms(token.text):
                    token.text = term
                    yield token
            else:
                token.text = german_term(token.text)
                yield token


_splitters: dict[tuple[str, ...], CompoundSplitter] = {}


def _shared_splitter(extra_words: tuple[str, ...]) -> CompoundSplitter:
    """One splitter (and one cache) per vocabulary, shared by all filters using it."""
    splitter = _splitters.get(extra_words)
    if splitter is None:
        splitter = _splitters.setdefault(extra_words, CompoundSplitter(extra_words))
    return splitter


def german_analyzer(extra_words: Iterable[str] = (), *, decompound: bool = True) -> Analyzer:
    """Return the German analyzer for Whoosh ``TEXT`` fields.

    Args:
        extra_words: more known words for compound splitting, e.g. from
            :func:`learn_vocabulary`; the shipped lexicon is always used.
        decompound: emit compound parts at index time (query text is never split).

    Returns:
        A picklable, deterministic Whoosh analyzer.
    """
    return (
        RegexTokenizer(TOKEN_PATTERN)
        | GermanNormalizeFilter()
        | GermanStemFilter(extra_words, decompound=decompound)
    )


def analyze(text: str, *, mode: str = "index", analyzer: Analyzer | None = None) -> list[str]:
    """Return the terms ``text`` is indexed as (``mode="index"``) or queried by (``"query"``).

    Args:
        text: the text to analyse.
        mode: ``"index"`` (compound parts included) or ``"query"``.
        analyzer: the analyzer to use; defaults to :func:`german_analyzer`.
    """
    chain = analyzer if analyzer is not None else _default_analyzer()
    return [token.text for token in chain(text, mode=mode)]


@lru_cache(maxsize=1)
def _default_analyzer() -> Analyzer:
    return german_analyzer()


def analyzer_version(analyzer: object) -> str | None:
    """Return the :data:`ANALYZER_VERSION` an analyzer (e.g. from an index schema) was built with.

    ``None`` if the analyzer contains no German stem filter (not built by this module).
    Compare with :data:`ANALYZER_VERSION` to detect an index that needs rebuilding.
    """
    if isinstance(analyzer, GermanStemFilter):
        return analyzer.version
    for item in getattr(analyzer, "items", ()):
        if isinstance(item, GermanStemFilter):
            return item.version
    return None


def learn_vocabulary(
    texts: Iterable[str], *, min_count: int = 3, max_words: int = 20_000
) -> list[str]:
    """Collect nouns a collection uses often, as extra known words for compound splitting.

    German capitalises nouns: a word of four or more letters is taken when it is seen
    capitalised at least ``min_count`` times and more often capitalised than in lower case
    (which leaves out adjectives and verbs at the start of a sentence, such as "Sehr").

    Args:
        texts: the collection's texts (e.g. titles and extracted text).
        min_count: how often a noun must occur capitalised to be learnt.
        max_words: the most words returned (they are stored in the index schema).

    Returns:
        Lower-case nouns, most frequent first (ties alphabetically); deterministic.
    """
    capitalised: Counter[str] = Counter()
    lower: Counter[str] = Counter()
    for text in texts:
        capitalised.update(word.lower() for word in _NOUN.findall(text))
        lower.update(_LOWER_WORD.findall(text))
    ranked = sorted(
        (w for w, n in capitalised.items() if n >= min_count and n > lower[w]),
        key=lambda w: (-capitalised[w], w),
    )
    return ranked[:max_words]
