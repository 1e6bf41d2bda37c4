"""German analysis in a real Whoosh index: folding, stemming, decompounding, pickling."""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
from importlib import resources

import pytest
from whoosh.fields import ID, TEXT, Schema
from whoosh.filedb.filestore import RamStorage
from whoosh.qparser import QueryParser

from eakte.search._german import LEXICON_RESOURCE, CompoundSplitter, fold, german_term
from eakte.search.analysis import (
    ANALYZER_VERSION,
    GermanStemFilter,
    analyze,
    analyzer_version,
    german_analyzer,
    learn_vocabulary,
)

DOCS = {
    "mueller": "Schreiben von Herrn Müller aus der Lindenstraße",
    "mueller_ascii": "Antwort an Frau Mueller",
    "strasse": "Sperrung der Strasse am Markt",
    "antrag": "Ihr Antrag vom 3. Mai",
    "genehmigung": "Die Genehmigung wird erteilt",
    "digital": "Konzept zur Verwaltungsdigitalisierung im Landkreis",
    "bau": "Eingang Bauantrag Neubau Einfamilienhaus",
    "steuer": "Bescheid über die Gewerbesteuer 2026",
    "quelle": "Die Quelle ist unbekannt",
}


def make_index(docs=DOCS, analyzer=None):
    schema = Schema(id=ID(stored=True, unique=True),
                    content=TEXT(analyzer=analyzer or german_analyzer()))
    index = RamStorage().create_index(schema)
    with index.writer() as writer:
        for key, text in docs.items():
            writer.add_document(id=key, content=text)
    return index


@pytest.fixture(scope="module")
def index():
    return make_index()


def search(index, text):
    with index.searcher() as searcher:
        query = QueryParser("content", index.schema).parse(text)
        return {hit["id"] for hit in searcher.search(query, limit=None)}


@pytest.mark.parametrize("query", ["Müller", "Mueller", "muller", "MÜLLER", "Müllers"])
def test_umlaut_spellings_find_each_other(index, query):
    assert search(index, query) == {"mueller", "mueller_ascii"}


@pytest.mark.parametrize("query", ["Straße", "Strasse", "STRASSE", "Straßen"])
def test_sharp_s_both_ways(index, query):
    assert search(index, query) == {"strasse", "mueller"}  # mueller: Lindenstraße


@pytest.mark.parametrize("query", ["Lindenstrasse", "Lindenstraße", "LINDENSTRASSE"])
def test_sharp_s_in_compounds(index, query):
    assert search(index, query) == {"mueller"}


def test_known_head_after_unknown_first_element():
    assert analyze("Goethestraße") == ["gothestrass", "goth", "strass"]
    assert analyze("Religionsunterricht") == ["religionsunterricht", "religion", "unterricht"]
    # prefixed words are not cut after their prefix or through it
    assert analyze("Gegenstand Auswanderung Heiratsvermittlung") == [
        "gegenstand", "auswander", "heiratsvermittl"]


def test_stemming(index):
    assert search(index, "Anträge") == {"antrag", "bau"}  # bau: Bauantrag
    assert search(index, "Genehmigungen") == {"genehmigung"}


def test_inflected_query_finds_compound_head(index):
    assert search(index, "Anträgen") == {"antrag", "bau"}


def test_compound_parts_are_found(index):
    assert search(index, "Digitalisierung") == {"digital"}
    assert search(index, "Verwaltung") == {"digital"}
    assert search(index, "Verwaltungsdigitalisierung") == {"digital"}
    assert search(index, "Steuer") == {"steuer"}
    assert search(index, "Gewerbe") == {"steuer"}


def test_antrag_finds_bauantrag_but_not_the_reverse():
    index = make_index({"antrag": "Ihr Antrag vom 3. Mai", "bau": "Eingang Bauantrag"})
    assert search(index, "Antrag") == {"antrag", "bau"}
    assert search(index, "Bauantrag") == {"bau"}  # parts at index time only
    assert search(index, "Bauanträge") == {"bau"}


def test_ue_between_vowels_is_not_folded(index):
    assert search(index, "Quelle") == {"quelle"}
    assert analyze("Steuer Steuern Feuer neue", mode="query") == ["steu", "steu", "feu", "neu"]


def test_phrase_over_compound(index):
    assert search(index, '"Eingang Bauantrag"') == {"bau"}


def test_analyze_index_vs_query():
    assert analyze("Bauantrag", mode="query") == ["bauantrag"]
    assert analyze("Bauantrag") == ["bauantrag", "bau", "antrag"]
    assert analyze("Verwaltungsdigitalisierungsgesetz") == [
        "verwaltungsdigitalisierungsgesetz", "verwalt", "verwaltungsdigitalisier",
        "digitalisier", "digitalisierungsgesetz", "gesetz",
    ]


def test_parts_share_the_position_and_chars_of_the_compound():
    tokens = [(t.text, t.pos, t.startchar, t.endchar)
              for t in german_analyzer()("Neuer Bauantrag", mode="index", positions=True,
                                         chars=True)]
    assert tokens == [("neu", 0, 0, 5), ("bauantrag", 1, 6, 15), ("bau", 1, 6, 15),
                      ("antrag", 1, 6, 15)]


def test_lexicalised_words_are_not_split():
    assert analyze("Grundstück Haushalt Verwaltung Dienstag insgesamt") == [
        "grundstuck", "haushalt", "verwalt", "dienstag", "insgesamt"]


def test_tokens_numbers_accents_and_unicode_forms():
    assert analyze("Az. 630.10-0042/2026") == ["az", "630.10", "0042", "2026"]
    assert analyze("Café") == analyze("Cafe") == ["caf"]
    assert analyze("Mu\u0308ller") == ["mull"]  # decomposed umlaut
    assert analyze("Verwal\u00adtung") == ["verwalt"]  # soft hyphen
    assert analyze("Auf\ufb01ndung") == analyze("Auffindung")  # ligature
    assert analyze("x" * 101 + " Akte") == ["akt"]


def test_fold_matches_the_stemmer():
    for word in ["mueller", "müller", "gebuehren", "europäer", "feuer", "quelle", "straße",
                 "aktuell", "poet", "bauer", "neue"]:
        assert german_term(fold(word)) == german_term(word)
    assert fold("gebuehr") == fold("gebühr") == "gebühr"


def test_extra_vocabulary_splits_more():
    assert analyze("Mühlenbach") == ["muhlenbach"]
    analyzer = german_analyzer(["Mühle"])
    assert analyze("Mühlenbach", analyzer=analyzer) == ["muhlenbach", "muhl", "bach"]
    index = make_index({"m": "Hochwasser am Mühlenbach"}, analyzer)
    assert search(index, "Mühle") == {"m"}


def test_learned_compound_is_split_further():
    splitter = CompoundSplitter(["bauantrag"])
    assert splitter.parts("bauantragsformular") == (
        "bauantrag", "formular", "bau", "antrag")


def test_learn_vocabulary():
    texts = ["Sehr geehrte Damen, die Mühle am Bach.", "Die alte Mühle ist sehr alt.",
             "Mühle und Mühlenbach", "die mühle"]
    assert learn_vocabulary(texts, min_count=2) == ["mühle"]
    assert learn_vocabulary(texts * 3, min_count=3) == [
        "mühle", "bach", "damen", "mühlenbach"]  # not "sehr": mostly lower case
    assert learn_vocabulary(texts * 3, min_count=3, max_words=1) == ["mühle"]


def test_schema_pickles_with_analyzer():
    schema = Schema(content=TEXT(analyzer=german_analyzer(["Mühle"])))
    analyzer = german_analyzer(["Mühle"])
    list(analyzer("Mühlenbach", mode="index"))  # build caches before pickling
    restored = pickle.loads(pickle.dumps(schema))
    restored_analyzer = restored["content"].analyzer
    assert restored_analyzer == schema["content"].analyzer
    assert analyze("Mühlenbach Bauanträge", analyzer=restored_analyzer) == analyze(
        "Mühlenbach Bauanträge", analyzer=analyzer)
    assert len(pickle.dumps(analyzer)) < 2000


def test_index_survives_reopen_in_a_new_process(tmp_path):
    from whoosh import index as whoosh_index

    make_index_dir = tmp_path / "idx"
    make_index_dir.mkdir()
    ix = whoosh_index.create_in(str(make_index_dir), Schema(
        id=ID(stored=True), content=TEXT(analyzer=german_analyzer())))
    with ix.writer() as writer:
        writer.add_document(id="1", content="Verwaltungsdigitalisierung")
    ix.close()
    code = (
        "import sys; from whoosh import index; from whoosh.qparser import QueryParser\n"
        "ix = index.open_dir(sys.argv[1])\n"
        "with ix.searcher() as s:\n"
        "    q = QueryParser('content', ix.schema).parse('Digitalisierung')\n"
        "    print([h['id'] for h in s.search(q)])\n"
        "ix.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(make_index_dir)],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['1']"


def test_analyzer_version():
    assert isinstance(ANALYZER_VERSION, str) and ANALYZER_VERSION
    analyzer = german_analyzer()
    assert analyzer_version(analyzer) == ANALYZER_VERSION
    old = GermanStemFilter()
    state = old.__getstate__() | {"version": "de-0"}
    stale = GermanStemFilter.__new__(GermanStemFilter)
    stale.__setstate__(state)
    assert analyzer_version(stale) == "de-0"
    assert analyzer_version(object()) is None


#: sha256 of the analysis of SAMPLE and the lexicon per ANALYZER_VERSION. If this test
#: fails, analysis changed: bump ANALYZER_VERSION (indexes must be rebuilt) and add its
#: fingerprint here.
FINGERPRINTS = {
    "de-1": "3ede44acad3d801476293b0c8d14e04e8c7f3133ea7a40d11342c43dddf61fb2",
}
SAMPLE = (
    "Sehr geehrter Herr Müller, Ihr Bauantrag (Az. 630.10-0042/2026) für die Lindenstraße 4 "
    "ist eingegangen. Die Gebühren für Genehmigungen richten sich nach der Verwaltungs"
    "gebührensatzung; Anträge auf Verwaltungsdigitalisierung, Straßenverkehrsamt, Café, "
    "Quelle, Steuerbescheid, Kindergarten, Mueller, Strasse, Gewerbesteuer."
)


def test_analysis_fingerprint_is_pinned_to_the_version():
    lexicon = resources.files("eakte.search").joinpath(LEXICON_RESOURCE).read_text("utf-8")
    terms = [*analyze(SAMPLE), "|", *analyze(SAMPLE, mode="query"), "|", lexicon]
    digest = hashlib.sha256("\n".join(terms).encode()).hexdigest()
    assert FINGERPRINTS.get(ANALYZER_VERSION) == digest, (
        "analysis output changed: bump ANALYZER_VERSION and record the new fingerprint "
        f"{digest}"
    )
