"""Timestamped comments on a video of an experiment (no Streamlit): "at 0:03.2 — hand distorts".

    at = parse_moment("0:03.2")                       # 3.2 (also "3.2", "1:02", "1:02.5")
    add_comment(ledger, subject, who, item=job_id, at_s=at, text="hand distorts")
    comments_of(ledger, subject.id)                   # by video, then moment

Who may comment: identity.may_review (a guest only on the experiment of their link); the video must be one
of the subject's (core/compare/votes.py Subject). Comments are user text: shown as text, never Markdown.
"""

from __future__ import annotations

import re
import time
import uuid

from core import config
from core.compare.votes import Subject
from core.storage.ledger import Ledger
from core.storage.review_store import CommentRow
from core.team import identity as ident

MAX_MOMENT_S = 3600.0
_MOMENT = re.compile(r"^\s*(?:(\d{1,2}):)?(\d{1,4}(?:\.\d{1,3})?)\s*$")


class CommentError(ValueError):
    """A comment that cannot be kept as given (plain words)."""


def parse_moment(text: str) -> float:
    """'0:03.2' → 3.2, '1:02' → 62.0, '4.5' → 4.5. CommentError for anything else."""
    found = _MOMENT.match(str(text or ""))
    if not found:
        raise CommentError("Give the moment as m:ss.s, e.g. 0:03.2.")
    minutes = int(found.group(1) or 0)
    seconds = float(found.group(2))
    if found.group(1) is not None and seconds >= 60:
        raise CommentError("Seconds go up to 59.9 after the minutes, e.g. 1:05.0.")
    return round(minutes * 60 + seconds, 3)


def format_moment(at_s: float) -> str:
    """3.2 → '0:03.2'."""
    at_s = max(0.0, float(at_s))
    minutes = int(at_s // 60)
    return f"{minutes}:{at_s - minutes * 60:04.1f}"


def add_comment(ledger: Ledger, subject: Subject, who: ident.Identity, *, item: str, at_s: float, text: str,
                now: float | None = None) -> CommentRow:
    """Keep a comment on a moment of one of the subject's videos, as `who`. Refused
    (identity.NotAllowedError) when `who` may not review this subject; CommentError for an empty or long
    text, a moment out of range, a video not of this subject, or a video already full of comments."""
    ident.check_review(who, subject.id)
    words = " ".join(str(text or "").split())
    if not words:
        raise CommentError("Write what you see, e.g. “hand distorts”.")
    if len(words) > config.COMMENT_MAX_CHARS:
        raise CommentError(f"A comment is at most {config.COMMENT_MAX_CHARS} characters.")
    if item not in subject.videos:
        raise CommentError("That video is not one of this experiment's.")
    at = float(at_s)
    if not 0.0 <= at <= MAX_MOMENT_S:
        raise CommentError("The moment must be within the video.")
    row = CommentRow(uuid.uuid4().hex, subject.id, item, who.id or "", who.name or who.id or "someone",
                     round(at, 3), words, time.time() if now is None else now)
    if not ledger.reviews.add_comment(row, max_per_item=config.COMMENTS_PER_VIDEO_MAX):
        raise CommentError("This video has as many comments as it can hold.")
    return row


def comments_of(ledger: Ledger, subject_id: str, item: str | None = None) -> list[CommentRow]:
    return ledger.reviews.comments(subject_id, item)


def comment_line(row: CommentRow) -> str:
    """'0:03.2 — Ana: hand distorts' (plain text)."""
    return f"{format_moment(row.at_s)} — {row.author_name}: {row.text}"


def lines_by_take(ledger: Ledger, subject_id: str) -> dict[str, list[str]]:
    """Each video's comments as lines (the table, the CSV and the review pack)."""
    out: dict[str, list[str]] = {}
    for row in comments_of(ledger, subject_id):
        out.setdefault(row.item, []).append(comment_line(row))
    return out
