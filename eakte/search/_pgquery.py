"""A parsed search query as one PostgreSQL statement: tsquery, filters, ranking, paging.

Each text clause becomes ``phraseto_tsquery('german', …)`` (a word with ``*``:
``to_tsquery('german', 'word:*')``), evaluated by PostgreSQL; the serialised results are
combined with ``&``/``!`` and weight labels and bound as one ``tsquery``. User input only
ever travels as bound parameters; the statement joins fixed fragments and parameter names.
"""

from __future__ import annotations

import re
from datetime import UTC, date
from typing import Any, Final

from sqlalchemy import Connection, text

from eakte.search._pgtext import TOKEN, normalise
from eakte.search.base import SearchQuery
from eakte.search.query import DateClause, KeywordClause, ParsedQuery, TextClause

__all__ = ["search_statement"]

_LEXEME = re.compile(r"('(?:[^'\\]|''|\\.)*')(:[*A-D]+)?")  # in a serialised tsquery
_WEIGHTS: Final = {"title": "A", "meta": "B", "content": "C", "filename": "D"}
_KEYWORD_COLUMNS: Final = {"aktenzeichen": "aktenzeichen", "kind": "kind", "mime": "mime"}


def _weighted(tsquery: str, weights: str) -> str:
    """Restrict every lexeme of a serialised tsquery to weights (``'bau':*`` → ``'bau':*A``)."""
    if not weights:
        return tsquery
    return _LEXEME.sub(
        lambda m: f"{m.group(1)}:{'*' if '*' in (m.group(2) or '') else ''}{weights}", tsquery)


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class _Sql:
    """Bound parameters and fixed SQL fragments of one search."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def param(self, value: object) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def tsquery(self, clause: TextClause) -> str | None:
        """Return SQL computing a clause's tsquery, or None if nothing is left to search."""
        norm = normalise(clause.text).strip()
        if not norm:
            return None
        if clause.prefix and TOKEN.fullmatch(norm):
            pattern = f"'{norm}':*"  # one word of letters, digits or _: nothing to escape
            return f"to_tsquery('german', {self.param(pattern)})"
        return f"phraseto_tsquery('german', {self.param(norm)})"

    def condition(self, clause: KeywordClause | DateClause) -> str:
        if isinstance(clause, KeywordClause):
            column = _KEYWORD_COLUMNS[clause.field]
            if clause.prefix:
                return f"lower({column}) LIKE {self.param(_like_prefix(clause.value))}"
            return f"lower({column}) = {self.param(clause.value)}"
        low: date | None
        high: date | None
        if clause.field == "created":
            low, high = (b.replace(tzinfo=UTC) if b else None for b in clause.bounds())
            column = "created_at"
        else:
            low, high, column = clause.start, clause.end, "document_date"
        parts = [f"{column} >= {self.param(low)}" if low is not None else "",
                 f"{column} <= {self.param(high)}" if high is not None else ""]
        return " AND ".join(p for p in parts if p)


def search_statement(conn: Connection, parsed: ParsedQuery, query: SearchQuery
                     ) -> tuple[str, dict[str, Any]] | None:
    """Return the statement answering ``query`` and its parameters, or None if it finds nothing.

    PostgreSQL parses and stems each text clause first (one round trip on ``conn``). The
    statement names the index table ``{t}``; it returns ``document_id, akte_id,
    aktenzeichen, title, score, total, content`` of at most ``query.limit`` hits, in order.
    None means nothing searchable is left (e.g. stop words only).
    """
    sql = _Sql()
    clauses = [(c, False) for c in parsed.required] + [(c, True) for c in parsed.excluded]
    texts = [(c, negated, expr) for c, negated in clauses if isinstance(c, TextClause)
             for expr in [sql.tsquery(c)] if expr is not None]
    where: list[str] = []
    for clause, negated in clauses:
        if not isinstance(clause, TextClause):
            test = sql.condition(clause)
            where.append(f"NOT coalesce({test}, false)" if negated else f"({test})")
    main: list[str] = []
    if texts:  # PostgreSQL parses and stems each clause; combine the serialised results
        row = conn.execute(text("SELECT " + ", ".join(
            f"CAST({expr} AS text)" for _, _, expr in texts)), sql.params).one()
        for (clause, negated, _), tsq in zip(texts, row, strict=True):
            if tsq:  # empty: stop words only
                weights = "".join(sorted(_WEIGHTS[f] for f in clause.fields))
                restricted = _weighted(tsq, "" if len(weights) == 4 else weights)
                main.append(f"!({restricted})" if negated else f"({restricted})")
    if not main and not where:
        return None
    by_date = query.order == "date"
    inner = score = "0.0"
    if main:
        q = f"CAST({sql.param(' & '.join(main))} AS tsquery)"
        where.insert(0, f"tsv @@ {q}")
        inner = "0.0" if by_date else f"ts_rank_cd(tsv, {q}, 33)"
        score = f"ts_rank_cd(d.tsv, {q}, 33)" if by_date else "h.score"  # returned rows
    if query.akte_ids is not None:
        where.append(f"akte_id = ANY({sql.param(sorted(query.akte_ids))})")
    order = "created_at DESC, document_id DESC"
    if not by_date:
        order = f"score DESC, {order}"
    # Only fixed fragments and parameter names are joined here. The innermost query is
    # fenced (OFFSET 0), so only narrow rows reach the window and the sort.
    statement = f"""SELECT h.document_id, d.akte_id, d.aktenzeichen, d.title,
            {score} AS score, h.total, d.content
        FROM (SELECT document_id, created_at, score, count(*) OVER () AS total
              FROM (SELECT document_id, created_at, {inner} AS score FROM {{t}}
                    WHERE {" AND ".join(where)} OFFSET 0) AS s
              ORDER BY {order} LIMIT {max(query.limit, 1)}) AS h
        JOIN {{t}} AS d ON d.document_id = h.document_id
        ORDER BY {", ".join(f"h.{part}" for part in order.split(", "))}"""  # noqa: S608
    return statement, sql.params
