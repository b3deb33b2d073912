"""Full-text search across the hub: SQLite FTS5 (bm25) or PostgreSQL full text (ts_rank).

Query syntax (the same on both stores; anything else is plain text, never an error):

- words: each matches as a word prefix (``chur`` finds ``churn``), stemmed (``running``
  finds ``run``); a document matching more of the words ranks higher (the words are
  OR-ed and scored: bm25 on SQLite, ts_rank on PostgreSQL);
- ``"two words"``: a phrase; a token with punctuation inside (``lr=0.1``) is a phrase too;
- ``-word`` / ``-"a phrase"``: leave out documents with it.

A hit in the title outweighs one in the tags, which outweighs one in the body (SQLite:
bm25 column weights 10/4/1; PostgreSQL: weights A/B/D). User text never reaches the
query language unescaped: words are reduced to letters and digits and quoted for FTS5,
and bound as parameters of ``to_tsquery``/``phraseto_tsquery``/``plainto_tsquery`` on
PostgreSQL. Over-long queries are cut (at most 16 terms of 64 characters), not refused.

Without any word (``q`` empty), the filters alone apply and results are newest first.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select, text

from ..errors import InvalidInput
from ..store import Store
from ..store.models import Project, SearchDoc
from . import search_index
from .common import iso, next_token, page_bounds, time_ms
from .search_index import SEARCH_TYPES

MAX_QUERY_CHARS = 2_000
MAX_TERMS, MAX_EXCLUDED, MAX_WORD = 16, 8, 64
SNIPPET_CHARS = 240
P, SD = Project.__table__, SearchDoc.__table__
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(-?)(\S+)')
_WORD = re.compile(r"[^\W_]+")
_START, _STOP = "\x02", "\x03"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class ParsedQuery:
    #: (words, is_phrase, raw text): a single word is matched as a prefix, a phrase
    #: exactly (PostgreSQL's parser reads the raw text: ``0.1`` is one token there)
    terms: list[tuple[list[str], bool, str]] = field(default_factory=list)
    excluded: list[tuple[list[str], str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.terms

    def fts5(self) -> str:
        """The FTS5 MATCH expression; every word is quoted (letters and digits only)."""

        def quoted(words: list[str], prefix: bool) -> str:
            return '"' + " ".join(words) + '"' + ("*" if prefix else "")

        positive = " OR ".join(
            quoted(w, not phrase and len(w) == 1 and len(w[0]) >= 2) for w, phrase, _ in self.terms
        )
        if not self.excluded:
            return positive
        negative = " OR ".join(quoted(w, False) for w, _ in self.excluded)
        return f"({positive}) NOT ({negative})"

    def tsquery(self) -> tuple[str, str, dict[str, str]]:
        """PostgreSQL tsquery expressions (the filter, the positive part for ranking) with
        bound parameters; the raw text only ever goes to ``phraseto_tsquery``."""
        parts, params = [], {}
        for i, (words, phrase, raw) in enumerate(self.terms):
            if len(words) == 1 and not phrase and len(words[0]) >= 2:
                params[f"t{i}"] = f"'{words[0]}':*"  # letters and digits only: safe to quote
                parts.append(f"to_tsquery('english', :t{i})")
            else:
                params[f"t{i}"] = raw
                parts.append(f"phraseto_tsquery('english', :t{i})")
        positive = "(" + " || ".join(parts) + ")"
        if not self.excluded:
            return positive, positive, params
        negatives = []
        for i, (_, raw) in enumerate(self.excluded):
            params[f"x{i}"] = raw
            negatives.append(f"phraseto_tsquery('english', :x{i})")
        return f"({positive} && !!({' || '.join(negatives)}))", positive, params


def parse_query(q: Any) -> ParsedQuery:
    parsed = ParsedQuery()
    if not isinstance(q, str):
        return parsed
    for match in _TOKEN.finditer(q[:MAX_QUERY_CHARS]):
        minus, quoted, minus2, bare = match.groups()
        negative = bool(minus if quoted is not None else minus2)
        raw = quoted if quoted is not None else bare
        words = [w[:MAX_WORD].lower() for w in _WORD.findall(raw or "")][:MAX_TERMS]
        if not words:
            continue
        raw = _CONTROL.sub(" ", raw)[: MAX_WORD * MAX_TERMS]
        if negative:
            if len(parsed.excluded) < MAX_EXCLUDED:
                parsed.excluded.append((words, raw))
        elif len(parsed.terms) < MAX_TERMS:
            parsed.terms.append((words, quoted is not None or len(words) > 1, raw))
    return parsed


def highlight(snippet: str | None) -> str:
    """HTML-escaped text with the matches in ``<mark>`` (the only markup in a snippet)."""
    escaped = html.escape(snippet or "", quote=False)
    return escaped.replace(_START, "<mark>").replace(_STOP, "</mark>")


def _best_snippet(columns: list[str | None]) -> str:
    """The first of body, title, tags whose snippet shows a match (else the body's)."""
    for snippet in columns:
        if snippet and _START in snippet:
            return highlight(snippet)
    return highlight(columns[0] if columns[0] else columns[1])


def _types(value: Any) -> list[str]:
    if value is None or value == "" or value == []:
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise InvalidInput("type must be a type name or a list of them.", field="type")
    out = []
    for item in items:
        for part in item.split(",") if isinstance(item, str) else [item]:
            part = part.strip() if isinstance(part, str) else part
            if part not in SEARCH_TYPES:
                shown = repr(part)[:60]
                raise InvalidInput(
                    f"type must be one of {', '.join(SEARCH_TYPES)}; got {shown}.", field="type"
                )
            out.append(part)
    return sorted(set(out))


def _text_filter(value: Any, field_name: str, limit: int = 250) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise InvalidInput(
            f"{field_name} must be a string of at most {limit} characters.", field=field_name
        )
    return value


class SearchService:
    def __init__(self, store: Store, blobs: Any = None) -> None:
        self.store = store
        self.blobs = blobs
        self._built = False

    # -- the index ----------------------------------------------------------------------------
    def reindex(self) -> dict[str, int]:
        """Rebuild the whole index from the store (``labcycle search reindex``)."""
        with self.store.write() as conn:
            counts = search_index.reindex_all(conn, self.blobs)
        self._built = True
        return counts

    def ensure_index(self) -> None:
        """Build the index once for a store that never had one (e.g. upgraded to 0009)."""
        if self._built:
            return
        with self.store.read() as conn:
            built = search_index.get_state(conn, "built")
        if built is None:
            self.reindex()
        self._built = True

    # -- search -------------------------------------------------------------------------------
    def search(
        self,
        q: Any = None,
        *,
        type: Any = None,  # the REST parameter's name
        user: Any = None,
        tag: Any = None,
        project: Any = None,
        since: Any = None,
        until: Any = None,
        max_results: Any = None,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """Ranked hits: ``{"items": [{type, id, title, snippet, score, project, project_id,
        owner, status, updated_at, url}], "next_page_token"}``."""
        limit, offset = page_bounds(max_results, page_token, default=20)
        parsed = parse_query(q)
        types = _types(type)
        user = _text_filter(user, "user", 200)
        tag = _text_filter(tag, "tag", 501)
        project = _text_filter(project, "project", 200)
        since_ms = time_ms(since, "since")
        until_ms = time_ms(until, "until", end_of_day=True)
        self.ensure_index()
        where: list[str] = []
        params: dict[str, Any] = {}
        if types:
            names = [f"type{i}" for i in range(len(types))]
            where.append(f"d.entity_type IN ({', '.join(':' + n for n in names)})")
            params.update(zip(names, types, strict=True))
        if user:
            where.append("d.owner = :user")
            params["user"] = user
        if since_ms is not None:
            where.append("d.updated_at >= :since")
            params["since"] = since_ms
        if until_ms is not None:
            where.append("d.updated_at <= :until")
            params["until"] = until_ms
        if tag:
            key, sep, value = tag.partition("=")
            where.append(
                "EXISTS (SELECT 1 FROM search_doc_tags t WHERE t.doc_id = d.id "
                "AND t.key = :tag_key" + (" AND t.value = :tag_value)" if sep else ")")
            )
            params["tag_key"] = key.strip()[:250]
            if sep:
                params["tag_value"] = value.strip()[:250]
        with self.store.read() as conn:
            from ..store.models import SearchDoc
            from .ownership import hidden_projects, readable_ref

            if hidden_projects(conn):  # private projects the reader is not in: hidden in SQL
                d = SearchDoc.__table__.alias("d")
                clause = readable_ref(conn, d.c.entity_type, d.c.entity_id)
                where.append(
                    "(" + str(clause.compile(conn, compile_kwargs={"literal_binds": True})) + ")"
                )
            if project:
                project_id = conn.execute(
                    select(P.c.id).where((P.c.id == project) | (P.c.name == project))
                ).scalar()
                where.append("d.project_id = :project_id")
                params["project_id"] = project_id or ""
            if parsed.empty:
                rows, snippets = self._browse(conn, where, params, limit, offset)
            elif self.store.is_sqlite:
                rows, snippets = self._sqlite(conn, parsed, where, params, limit, offset)
            else:
                rows, snippets = self._postgres(conn, parsed, where, params, limit, offset)
            items = self._items(conn, rows[:limit], snippets)
        return {"items": items, "next_page_token": next_token(offset, limit, len(rows))}

    _COLUMNS = "d.id, d.entity_type, d.entity_id, d.title, d.owner, d.project_id, d.updated_at"

    def _browse(
        self, conn: Connection, where: list[str], params: dict, limit: int, offset: int
    ) -> tuple[Sequence[Any], dict]:
        sql = (
            f"SELECT {self._COLUMNS}, NULL AS score, substr(d.body, 1, {SNIPPET_CHARS}) AS snip "
            "FROM search_docs d"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY d.updated_at DESC, d.id LIMIT :limit OFFSET :offset"
        )
        rows = conn.execute(text(sql), {**params, "limit": limit + 1, "offset": offset}).all()
        return rows, {r.id: html.escape(r.snip or "", quote=False) for r in rows}

    def _sqlite(
        self,
        conn: Connection,
        parsed: ParsedQuery,
        where: list[str],
        params: dict,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[Any], dict]:
        match = parsed.fts5()
        sql = (
            f"SELECT {self._COLUMNS}, -bm25(search_fts, 10.0, 4.0, 1.0) AS score "
            "FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid "
            "WHERE search_fts MATCH :match"
            + "".join(" AND " + w for w in where)
            + " ORDER BY bm25(search_fts, 10.0, 4.0, 1.0), d.updated_at DESC, d.id "
            "LIMIT :limit OFFSET :offset"
        )
        rows = conn.execute(
            text(sql), {**params, "match": match, "limit": limit + 1, "offset": offset}
        ).all()
        snippets: dict[int, str] = {}
        page = [r.id for r in rows[:limit]]
        if page:  # only for the page: a snippet per matching row would cost more than the search
            marks = ", ".join(f":r{i}" for i in range(len(page)))
            cut = "char(2), char(3), '…', 24"
            for rowid, *columns in conn.execute(
                text(
                    f"SELECT rowid, snippet(search_fts, 2, {cut}), snippet(search_fts, 0, {cut}), "
                    f"snippet(search_fts, 1, {cut}) FROM search_fts "
                    f"WHERE search_fts MATCH :match AND rowid IN ({marks})"
                ),
                {"match": match, **{f"r{i}": r for i, r in enumerate(page)}},
            ):
                snippets[rowid] = _best_snippet(columns)
        return rows, snippets

    def _postgres(
        self,
        conn: Connection,
        parsed: ParsedQuery,
        where: list[str],
        params: dict,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[Any], dict]:
        expr, rank_expr, query_params = parsed.tsquery()
        sql = (
            f"SELECT {self._COLUMNS}, ts_rank(d.tsv, qq.r, 1) AS score "
            f"FROM search_docs d, (SELECT {expr} AS q, {rank_expr} AS r) qq "
            "WHERE d.tsv @@ qq.q"
            + "".join(" AND " + w for w in where)
            + " ORDER BY score DESC, d.updated_at DESC, d.id LIMIT :limit OFFSET :offset"
        )
        rows = conn.execute(
            text(sql), {**params, **query_params, "limit": limit + 1, "offset": offset}
        ).all()
        snippets: dict[int, str] = {}
        page = [r.id for r in rows[:limit]]
        if page:  # ts_headline parses the text: only for the page, and at most 20,000 characters
            marks = ", ".join(f":r{i}" for i in range(len(page)))
            options = (
                f"StartSel={_START}, StopSel={_STOP}, MaxWords=30, MinWords=12, "
                'MaxFragments=2, FragmentDelimiter=" … "'
            )
            heads = ", ".join(
                f"ts_headline('english', left(d.{c}, 20000), qq.r, :options)"
                for c in ("body", "title", "tags")
            )
            for rowid, *columns in conn.execute(
                text(
                    f"SELECT d.id, {heads} FROM search_docs d, (SELECT {rank_expr} AS r) qq "
                    f"WHERE d.id IN ({marks})"
                ),
                {**query_params, "options": options, **{f"r{i}": r for i, r in enumerate(page)}},
            ):
                snippets[rowid] = _best_snippet(columns)
        return rows, snippets

    def _items(self, conn: Connection, rows: Sequence[Any], snippets: dict) -> list[dict[str, Any]]:
        from .entities import describe_many

        refs = []
        for r in rows:
            if r.entity_type == "notebook":
                refs.append(("run", r.entity_id.split("/", 1)[0]))
            else:
                refs.append((r.entity_type, r.entity_id))
        described = {
            (d["type"], d["id"]): d
            for d in describe_many(conn, list(dict.fromkeys(refs)), missing="skip")
        }
        items = []
        for r, ref in zip(rows, refs, strict=True):
            info = described.get(ref)
            if info is None:  # the entity is gone (the index catches up on the next write)
                continue
            item = {
                "type": r.entity_type,
                "id": r.entity_id,
                "title": r.title if r.entity_type == "notebook" else info["title"],
                "snippet": snippets.get(r.id, ""),
                "score": None if r.score is None else float(f"{float(r.score):.6g}"),
                "project": info.get("project"),
                "project_id": info.get("project_id") or r.project_id,
                "owner": r.owner,
                "status": info.get("status"),
                "updated_at": iso(r.updated_at),
                "url": info["url_hint"],
            }
            if r.entity_type == "notebook":
                run_id, artifact = r.entity_id.split("/", 1)
                item.update(
                    run_id=run_id, artifact=artifact, url=f"runs/{run_id}/artifacts/{artifact}"
                )
            items.append(item)
        return items
