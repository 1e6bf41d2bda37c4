"""German word normalisation: Snowball stemming, umlaut/ß folding and compound splitting.

Pure functions over single lower-case words, cached; no Whoosh imports (the Whoosh
filters in :mod:`eakte.search.analysis` wrap these).

Folding and stemming use the Snowball 3 German stemmer (PyStemmer), which maps ä/ae→a,
ö/oe→o, ü/ue→u and ß→ss itself while protecting "u" between vowels (Steuer, neue, Feuer
keep their "ue") and "qu" (Quelle). So Müller, Mueller and muller all become ``mull``,
Straße and Strasse ``strass``, at index and at query time alike.

Compound splitting is dictionary based: a word is cut into parts that are all known words
(the shipped lexicon plus optional vocabulary learnt from a collection), joined by the
linking elements (Fugen) -s-, -es-, -n-, -en-, -er-, -e-, -ns-, -ens- or with a dropped
final -e (Schul-amt). The last part may be inflected (Bau-anträge); the others are matched
as written. Among possible splits the one with the fewest parts wins (conservative). A word
that cannot be split into known words may still end in a known head after an unknown first
element (Goethe-straße, Religions-unterricht), within the rules of :func:`_plausible`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import Stemmer

__all__ = [
    "LEXICON_RESOURCE",
    "CompoundSplitter",
    "builtin_lexicon",
    "fold",
    "german_term",
]

#: The shipped lexicon, a text resource of this package.
LEXICON_RESOURCE = "german_lexicon.txt"

#: Shortest part a compound is split into (Bau, Amt, Rat).
MIN_PART = 3
#: Longest word that is tried for splitting (longer ones are kept whole).
MAX_SPLIT_LENGTH = 48
#: Linking elements, longest first.
FUGEN = ("ens", "es", "en", "er", "ns", "s", "n", "e")
#: Shortest head a compound with an unknown first element may have (Platz, Kirche).
MIN_OPEN_HEAD = 5
#: Verbal and derivational prefixes: an unknown first element never ends in one of three
#: letters or more, and no split cuts through one (Gegen|stand, Heirats-v|ermittlung).
PREFIXES = (
    "ab", "an", "auf", "aus", "be", "bei", "durch", "ein", "emp", "ent", "er", "ge", "gegen",
    "her", "hin", "hinter", "miss", "mit", "nach", "nieder", "ober", "über", "um", "unter",
    "ver", "vor", "weg", "wider", "zer", "zu", "zurück", "zusammen",
)  # fmt: skip

_VOWELS = frozenset("aeiouyäöü")
_DIGRAPHS = {"ae": "ä", "oe": "ö", "ue": "ü"}
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    stemmer: Stemmer.Stemmer | None = getattr(_local, "stemmer", None)
    if stemmer is None:  # a Stemmer is not thread-safe: one per thread
        stemmer = Stemmer.Stemmer("german")
        stemmer.maxCacheSize = 0  # german_term has its own cache
        _local.stemmer = stemmer
    return stemmer


@lru_cache(maxsize=131_072)
def german_term(word: str) -> str:
    """Return the index/query term of one lower-case word.

    Alphabetic words are stemmed, which folds umlauts, ae/oe/ue and ß. Words with digits
    or dots (``630.10``) are kept as given.
    """
    if not word.isalpha():
        return word
    stem: str = _stemmer().stemWord(word)
    return stem


def fold(word: str) -> str:
    """Fold a lower-case word exactly as the Snowball 3 German stemmer's prelude does.

    ae→ä, oe→ö, ue→ü and ß→ss, except a "u" between vowels (Feuer, neue) and after "q"
    (Quelle). So ``fold("gebuehr") == fold("gebühr")``, and because the stemmer starts
    with the same step, ``german_term(fold(w)) == german_term(w)``: splitting can work on
    folded text and still produce the terms a query for each part produces.
    """
    if word.isascii() and "e" not in word:
        return word
    chars = list(word.replace("ß", "ss"))
    for i in range(1, len(chars) - 1):
        if chars[i] in "uy" and chars[i - 1] in _VOWELS and chars[i + 1] in _VOWELS:
            chars[i] = chars[i].upper()  # protected, as in the Snowball prelude
    out: list[str] = []
    i = 0
    while i < len(chars):
        pair = "".join(chars[i:i + 2])
        if pair == "qu":
            out.append(pair)
            i += 2
        elif pair in _DIGRAPHS:
            out.append(_DIGRAPHS[pair])
            i += 2
        else:
            out.append(chars[i])
            i += 1
    return "".join(out).replace("U", "u").replace("Y", "y")


def _read_lexicon() -> tuple[frozenset[str], frozenset[str]]:
    text = resources.files("eakte.search").joinpath(LEXICON_RESOURCE).read_text("utf-8")
    words: set[str] = set()
    first_only: set[str] = set()
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip().lower()
        if not entry:
            continue
        if entry.endswith("-"):
            first_only.add(entry[:-1])
        else:
            words.add(entry)
    return frozenset(words), frozenset(first_only)


@lru_cache(maxsize=1)
def builtin_lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """Return the shipped lexicon as ``(words, first_elements_only)``, lower-case."""
    return _read_lexicon()


_FOLDED_PREFIXES = tuple(sorted({fold(p) for p in PREFIXES}, key=len))


def _plausible(first: str, head: str) -> bool:
    """Tell whether an unknown ``first`` element and a known ``head`` make a compound.

    Measured on 95,000 noun lemmas (Wiktionary, via the german-nouns data, not shipped),
    these rules keep about 97 % of such splits right; what they let through is mostly a
    stemmer collision (Meeres-kunde).
    """
    if len(head) < MIN_OPEN_HEAD or len(first) < 4 or not _VOWELS.intersection(first):
        return False
    if head[0] in _VOWELS and (len(head) <= MIN_OPEN_HEAD or first[-1] in "chjqvwx"):
        return False  # Aalw-anderung, Alleinunterh-alterin
    for prefix in _FOLDED_PREFIXES:
        if len(prefix) > 2 and first.endswith(prefix):
            return False  # not for er/ge/be/an/um/zu: Förder-, Gewerbe-, Museum-
        for cut in range(1, len(prefix)):
            if first.endswith(prefix[:cut]) and head.startswith(prefix[cut:]):
                return False
    return True


class CompoundSplitter:
    """Splits German compounds into known words; deterministic for a given vocabulary.

    Args:
        extra_words: more known words, e.g. learnt from the collection
            (:func:`eakte.search.analysis.learn_vocabulary`). Unlike the shipped lexicon's
            words, these may themselves be split further (a learnt ``Bauantrag`` still
            yields ``Bau`` and ``Antrag``).
        cache_size: how many words' analyses are remembered (about 200 bytes each).
    """

    def __init__(self, extra_words: Iterable[str] = (), *, cache_size: int = 131_072) -> None:
        words, first_only = builtin_lexicon()
        self._atomic = frozenset(german_term(fold(w)) for w in words)
        extra = {fold(w.lower()) for w in extra_words}
        known = {fold(w) for w in words} | {w for w in extra if len(w) >= MIN_PART}
        self._forms: dict[str, str] = {}
        for word in sorted(known | {fold(w) for w in first_only}):
            self._add_forms(word)
        self._heads = frozenset(german_term(w) for w in known)
        self.parts = lru_cache(maxsize=max(cache_size // 8, 1024))(self._parts)
        self.terms = lru_cache(maxsize=cache_size)(self._terms)

    def _terms(self, word: str) -> tuple[str, ...]:
        """Return the word's own term followed by its compound parts' terms (index time)."""
        return (german_term(word), *self.parts(word))

    def _add_forms(self, word: str) -> None:
        """Register the spellings ``word`` has as a first element (with Fugen)."""
        forms = [word, *(word + fuge for fuge in FUGEN)]
        if word.endswith("e") and len(word) > MIN_PART:
            forms.append(word[:-1])  # Schul-amt, Sprach-kurs
        for form in forms:
            self._forms.setdefault(form, word)

    def _modifier_table(self, word: str, end: int) -> list[list[tuple[int, str]] | None]:
        """For each prefix ``word[:k]``, the fewest first elements covering it, or None.

        Entries are ``[(start, lemma), …]``; computed once per word by dynamic programming.
        """
        best: list[list[tuple[int, str]] | None] = [None] * (end + 1)
        best[0] = []
        for stop in range(MIN_PART, end + 1):
            for start in range(0, stop - MIN_PART + 1):
                before = best[start]
                if before is None:
                    continue
                lemma = self._forms.get(word[start:stop])
                if lemma is None:
                    continue
                current = best[stop]
                if current is None or len(before) + 1 < len(current):
                    best[stop] = [*before, (start, lemma)]
        return best

    def split(self, word: str) -> list[tuple[int, str]] | None:
        """Split a folded lower-case word into ``[(start, lemma_or_surface), …]``.

        The last element is the head as written (it may be inflected); the others are
        lexicon words. If no split into known words exists, a known head of at least
        :data:`MIN_OPEN_HEAD` letters after an unknown first element is accepted when
        :func:`_plausible` allows it (Goethe-straße, Religions-unterricht); the first
        element is then returned as written. Returns ``None`` for anything else.
        """
        size = len(word)
        if size < 2 * MIN_PART or size > MAX_SPLIT_LENGTH or not word.isalpha():
            return None
        if german_term(word) in self._atomic:
            return None
        table: list[list[tuple[int, str]] | None] | None = None
        found: list[tuple[int, str]] | None = None
        open_head: int | None = None
        for head_start in range(MIN_PART, size - MIN_PART + 1):
            head = word[head_start:]
            if german_term(head) not in self._heads:
                continue
            if table is None:
                table = self._modifier_table(word, size - MIN_PART)
            modifiers = table[head_start]
            if modifiers and (found is None or len(modifiers) + 1 < len(found)):
                found = [*modifiers, (head_start, head)]
            elif found is None and open_head is None and _plausible(word[:head_start], head):
                open_head = head_start
        if found is None and open_head is not None:
            return [(0, word[:open_head]), (open_head, word[open_head:])]
        return found

    def _parts(self, word: str) -> tuple[str, ...]:
        """Return the extra terms a compound adds to the index (empty if none).

        For parts p1…pn these are the terms of every run of adjacent parts except the whole
        word (Verwaltung, Digitalisierung, Gesetz, Verwaltungsdigitalisierung,
        Digitalisierungsgesetz), plus the parts of parts that are compounds themselves.
        """
        folded = fold(word)
        segments = self.split(folded)
        if segments is None:
            return ()
        whole = german_term(word)
        terms: dict[str, None] = {}
        last = len(segments) - 1
        for first in range(len(segments)):
            for final in range(first, len(segments)):
                if first == 0 and final == last:
                    continue
                start = segments[first][0]
                if final == last:
                    surface = folded[start:]
                else:
                    surface = folded[start:segments[final][0]] + segments[final][1]
                terms[german_term(surface)] = None
        for _, lemma in segments:
            for term in self.parts(lemma):
                terms[term] = None
        terms.pop(whole, None)
        return tuple(terms)
