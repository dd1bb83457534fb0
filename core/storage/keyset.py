"""Keyset pagination, shared by the stores of long lists (jobs: core/storage/job_store.py `page`; the
Library: core/storage/library.py `page_prompts`): a page is read after (or before) the sort key of a row,
never at an offset, so the database reads one page of rows by index and rows arriving meanwhile never make a
page skip or repeat one. An order is a tuple of (expression, direction) terms ending in a unique column.

    order_by(terms, reverse=)          the ORDER BY list (reversed: to read the page before a key)
    keyset_clause(terms, key, before=) the rows after (or before) a key, as SQL and its arguments
    ends(keys, more, after, before)    the keys of the pages around the one read: (older, newer)
"""

from __future__ import annotations

from typing import Any

ASC, DESC = "ASC", "DESC"
Terms = tuple[tuple[str, str], ...]


def order_by(terms: Terms, *, reverse: bool = False) -> str:
    """The ORDER BY list of `terms` (`reverse`: every direction flipped, to read the page before a key)."""
    flip = {ASC: DESC, DESC: ASC}
    return ", ".join(f"{expr} {flip[d] if reverse else d}" for expr, d in terms)


def keyset_clause(terms: Terms, key: tuple[Any, ...], *,
                  before: bool = False) -> tuple[str, list[Any]]:
    """Rows strictly after `key` in the order of `terms` (`before`: strictly before it) as SQL and its
    arguments: (t1 after k1) OR (t1 = k1 AND t2 after k2) OR …, with the first term's bound repeated on its
    own so an index on it is used for the range."""
    if len(key) != len(terms):
        raise ValueError("a page key has one value per sort term")
    ahead = {(ASC, False): ">", (DESC, False): "<", (ASC, True): "<", (DESC, True): ">"}
    ors, args = [], []
    for i, (expr, direction) in enumerate(terms):
        same = [f"{e} = ?" for e, _ in terms[:i]]
        ors.append("(" + " AND ".join([*same, f"{expr} {ahead[(direction, before)]} ?"]) + ")")
        args.extend([*key[:i], key[i]])
    first, direction = terms[0]
    bound = f"{first} {ahead[(direction, before)]}= ?"
    return f"{bound} AND ({' OR '.join(ors)})", [key[0], *args]


def ends(keys: list[Any], more: bool, *, after: Any = None, before: Any = None) -> tuple[Any, Any]:
    """(older, newer): the keys to read the next page (`after=older`) and the previous one (`before=newer`)
    from a page whose rows have `keys` (in order) and `more` rows beyond its limit in the direction read;
    None where there is no such page."""
    if not keys:
        return None, None
    if before is not None:
        return keys[-1], keys[0] if more else None
    return keys[-1] if more else None, keys[0] if after is not None else None
