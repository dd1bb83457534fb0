"""The blind vote and the ranking it adds up to (Compare's Vote and Ranking tabs, the guest's review
page).

    vote_panel(subject, key="compare.<id>.vote")     2–4 takes, unlabelled, random order, in sync; a question
    ranking_panel(subject, key="compare.<id>.rank")  variants and axis values with intervals, next pairs
    review_data(exp, plan)                           the votes and comments per take (cards, table, pack)
    questions(exp, editable) / review_links(exp)     the owner's questions and "Share for review" links

Everything that counts is core/compare/votes.py (who may vote, once per person and pair, the fit): this
module draws and passes clicks on through ui/session.py. The takes on a ballot are shown as "Take A", "Take B"
…: no label, no prompt, no position that gives them away (votes.next_ballot shuffles them).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import streamlit as st

from core import config
from core.compare import experiments as X
from core.compare import votes
from core.compare.comments import comment_line
from ui import media_links, session
from ui.compare.synced_grid import GridCell, synced_grid
from ui.text import escape_markdown

LETTERS = "ABCD"
PREFIX = "compare"


def _k(*parts: Any) -> str:
    return ".".join([PREFIX, *(str(p) for p in parts)])
TIE = "tie"


def _question(subject: votes.Subject, key: str) -> str:
    criteria = list(subject.criteria)
    if len(criteria) == 1:
        return criteria[0]
    return st.segmented_control("Question", criteria, default=criteria[0], key=f"{key}.question",
                                required=True) or criteria[0]


def _ballot(subject: votes.Subject, question: str, size: int, key: str) -> list[str] | None:
    """This session's ballot on show (kept until voted on, so a rerun does not reshuffle it)."""
    state_key = f"{key}.ballot"
    ballot = st.session_state.get(state_key)
    stale = (not ballot or not ballot.get("shown") or ballot.get("question") != question
             or ballot.get("size") != size or any(t not in subject.videos for t in ballot["shown"]))
    if stale:
        ballot = {"question": question, "size": size, "shown": session.next_ballot(subject, question, size)}
        st.session_state[state_key] = ballot
    return ballot["shown"]


def _cast(subject: votes.Subject, shown: list[str], choice: str | None, question: str, key: str) -> None:
    try:
        session.cast_vote(subject, shown, choice, question)
    except (votes.VoteError, PermissionError) as exc:
        st.session_state[f"{key}.error"] = str(exc)
        return
    st.session_state.pop(f"{key}.ballot", None)
    st.session_state.pop(f"{key}.error", None)
    st.toast("Vote counted. Here is the next pair.", icon=":material/how_to_vote:")


def vote_panel(subject: votes.Subject, *, key: str) -> None:
    """One ballot: the takes in sync, the question, one button per take and "Can't tell"."""
    if len(subject.videos) < 2:
        st.info("Voting starts when at least two takes have a video.", icon=":material/how_to_vote:")
        return
    with st.container(horizontal=True, vertical_alignment="bottom"):
        question = _question(subject, key)
        size = st.segmented_control("Takes at a time", [2, 3, 4], default=2, key=f"{key}.size",
                                    required=True) or 2
    shown = _ballot(subject, question, int(size), key)
    if shown is None:
        st.success("You have voted on every pair for this question. Thank you! Try another question, or "
                   "see the ranking.", icon=":material/task_alt:")
        return
    names = [f"Take {LETTERS[i]}" for i in range(len(shown))]
    cells = [[GridCell(media_links.media_url(subject.videos[t]), "") for t in shown]]
    synced_grid(cells, row_labels=[""], col_labels=names, audio_from=None, key=f"{key}.grid")
    st.markdown(f"**{escape_markdown(question)}**: which take?")
    with st.container(horizontal=True):
        for i, take in enumerate(shown):
            st.button(names[i], key=f"{key}.pick.{i}", type="primary", icon=":material/thumb_up:",
                      on_click=_cast, args=(subject, shown, take, question, key))
        st.button("Can't tell / tie", key=f"{key}.pick.tie", icon=":material/balance:",
                  on_click=_cast, args=(subject, shown, None, question, key))
    error = st.session_state.get(f"{key}.error")
    if error:
        st.error(escape_markdown(error), icon=":material/block:")
    st.caption("Each person votes on their own; answering the same pair again replaces your earlier answer.")


@st.cache_data(max_entries=64, show_spinner=False)
def _rankings(_subject: votes.Subject, subject_id: str, question: str, fingerprint: tuple) -> Any:
    """The fit (with its bootstrap) once per set of votes: `fingerprint` changes when a vote does."""
    return votes.rankings(session.ledger(), _subject, question)


def rankings_of(subject: votes.Subject, question: str) -> votes.Rankings:
    rows = session.vote_rows(subject.id, question)
    fingerprint = (tuple(sorted(subject.videos)), tuple(subject.cell_labels.items()),
                   tuple((r.voter, r.item_a, r.item_b, r.outcome) for r in rows))
    return _rankings(subject, subject.id, question, fingerprint)


def take_names(subject: votes.Subject) -> dict[str, str]:
    """take id → "…runs… · 9:16 · take 2" (the ranking and its next pairs are not blind)."""
    out: dict[str, str] = {}
    count: dict[str, int] = {}
    for take in sorted(subject.videos):
        cell = subject.cell_of.get(take)
        if cell is None:  # a vote set: the video's own prompt
            job = session.get_job(take)
            out[take] = f"{(job.prompt_preview[:40] if job else '') or take} · {take[:6]}"
            continue
        count[cell] = count.get(cell, 0) + 1
        out[take] = f"{subject.cell_labels.get(cell, cell)} · take {count[cell]}"
    return out


def _table(rows: list[dict[str, object]], key: str) -> None:
    st.dataframe(rows, hide_index=True, key=key, column_config={
        "score %": st.column_config.ProgressColumn(
            "Score", min_value=0, max_value=100, format="%d%%",
            help="The chance of being preferred over an average one (Bradley–Terry)."),
        "low %": st.column_config.NumberColumn("From", format="%d%%", help="90% interval (bootstrap)."),
        "high %": st.column_config.NumberColumn("To", format="%d%%"),
    })


def ranking_panel(subject: votes.Subject, *, key: str) -> None:
    """What the votes add up to on one question: variants, each axis value, how many votes, what next."""
    question = _question(subject, f"{key}.q")
    r = rankings_of(subject, question)
    st.caption(escape_markdown(votes.summary_line(r)))
    if r.votes == 0:
        st.info("No votes on this question yet. Open the Vote tab, or share a review link.",
                icon=":material/how_to_vote:")
        return
    if r.variants is not None:
        st.markdown("**Variants**")
        _table(votes.standing_rows(r.variants, subject.cell_labels), f"{key}.variants")
        for name, axis in r.axes:
            st.markdown(f"**{escape_markdown(name)}**")
            _table(votes.standing_rows(axis), f"{key}.axis.{name}")
    else:
        _table(votes.standing_rows(r.takes, take_names(subject)), f"{key}.takes")
    names = take_names(subject)
    if r.takes.next_pairs:
        st.markdown("**Vote next on** (narrows the ranking fastest)")
        st.text("\n".join(f"{names.get(a, a)}  vs  {names.get(b, b)}" for a, b in r.takes.next_pairs))


# --- judging: questions, votes and comments, guest review links (issue 18) ---------------------------------

def review_data(exp: X.Experiment, plan: X.Plan) -> dict[str, Any]:
    """The takes to vote on, the votes and comments per take (the table, the cards, the review pack)."""
    subject = session.vote_subject(exp, plan)
    lines: dict[str, list[str]] = {}
    for row in session.comment_rows(exp.id):
        lines.setdefault(row.item, []).append(comment_line(row))
    tally = votes.votes_by_take(session.ledger(), exp.id)
    return {"subject": subject, "comments": lines, "votes": tally}


def ranking_tables(subject: Any) -> list[tuple[str, list[dict[str, object]]]]:
    out: list[tuple[str, list[dict[str, object]]]] = []
    for question in subject.criteria:
        out += votes.ranking_tables(rankings_of(subject, question), subject)
    return out


def questions(exp: X.Experiment, editable: bool) -> None:
    """The questions the vote asks (the owner changes them; one per line)."""
    if not editable:
        return
    with st.expander("Questions", icon=":material/help:"):
        key = _k(exp.id, "questions")
        if key not in st.session_state:
            st.session_state[key] = "\n".join(votes.criteria_of(exp))
        st.text_area("One question per line", key=key, height=100,
                     help="What voters are asked, e.g. “Closer to the prompt”, “Better motion”.")
        if st.button("Save questions", key=_k(exp.id, "questions_save")):
            try:
                asked = votes.clean_criteria(str(st.session_state[key]).splitlines())
                session.save_experiment(replace(exp, criteria=asked))
            except (votes.VoteError, PermissionError) as exc:
                st.error(escape_markdown(str(exc)))
            else:
                st.toast("Questions saved.", icon=":material/help:")
                st.rerun()


def review_links(exp: X.Experiment) -> None:
    """'Share for review': a link for people with no account (watch, vote, comment); expiry and revoke."""
    from core.compare import guests

    with st.expander("Share for review", icon=":material/share:"):
        st.caption("A link that opens this experiment read-only to anyone who has it, with no account: the "
                   "grid, synced playback, the blind vote and comments. It shows nothing else of the studio.")
        new_key = _k(exp.id, "review_link_new")
        with st.container(horizontal=True, vertical_alignment="bottom"):
            days = st.number_input("Works for (days)", 1, config.GUEST_LINK_DAYS_MAX,
                                   value=config.GUEST_LINK_DAYS_DEFAULT, key=_k(exp.id, "review_days"))
            if st.button("Make a review link", key=_k(exp.id, "review_make"), icon=":material/add_link:"):
                try:
                    token, _ = session.new_review_link(exp.id, float(days))
                except (guests.GuestError, PermissionError) as exc:
                    st.error(escape_markdown(str(exc)))
                else:
                    st.session_state[new_key] = guests.review_url(media_links.app_root(), token)
        if st.session_state.get(new_key):
            st.caption("Copy it now: it is shown once (only a fingerprint of it is kept).")
            st.code(st.session_state[new_key], language=None)
        try:
            links = session.review_links(exp.id)
        except PermissionError:
            return
        now = time.time()
        for link in links:
            with st.container(horizontal=True, vertical_alignment="center"):
                made = time.strftime("%Y-%m-%d %H:%M", time.localtime(link.created_at))
                st.caption(f"Link made {made} · {guests.state_line(link, now)}")
                if guests.link_state(link, now) == guests.ACTIVE and st.button(
                        "Revoke", key=_k(exp.id, "revoke", link.id), icon=":material/link_off:"):
                    session.revoke_review_link(link.id)
                    st.session_state.pop(new_key, None)
                    st.toast("The link no longer works.", icon=":material/link_off:")
                    st.rerun()


# --- a blind vote on any videos (a vote set: core/compare/votes.py new_set) ---------------------------------

SET_PARAM = "set"
SET_OPEN_KEY = "compare.set_open"
SET_CHOICES = 60  # recent videos offered for a new vote set


def _open_set(set_id: str | None) -> None:
    st.session_state[SET_OPEN_KEY] = set_id
    if set_id:
        st.query_params[SET_PARAM] = set_id
    else:
        st.query_params.pop(SET_PARAM, None)


def vote_sets() -> None:
    """'Blind vote on any videos': start a vote on videos chosen from the Gallery's, or open one; then the
    same ballot and ranking as an experiment's (takes only: no axes)."""
    open_id = st.query_params.get(SET_PARAM) or st.session_state.get(SET_OPEN_KEY)
    with st.expander("Blind vote on any videos", icon=":material/how_to_vote:", expanded=bool(open_id)):
        sets = session.vote_sets()
        ids = [s["id"] for s in sets]
        names = {s["id"]: f"{s['title']} · {len(s['data'].get('jobs') or [])} videos" for s in sets}
        if ids:
            chosen = st.selectbox("Vote", ids, index=ids.index(open_id) if open_id in ids else None,
                                  format_func=lambda i: names.get(i, i), key="compare.set_picker",
                                  placeholder="Choose a vote")
            if chosen != open_id:
                _open_set(chosen)
                st.rerun()
        videos, _ = session.list_videos(limit=SET_CHOICES, offset=0)
        labels = {j.id: f"{j.prompt_preview[:60] or j.endpoint_id} · "
                  f"{time.strftime('%m-%d %H:%M', time.localtime(j.created_at))} · {j.id[-6:]}"
                  for j in videos}
        with st.popover("New vote", icon=":material/add:"):
            picked = st.multiselect("Videos", list(labels), format_func=lambda i: labels.get(i, i),
                                    key="compare.set_new_videos", max_selections=24)
            title = st.text_input("Title", key="compare.set_new_title", max_chars=80)
            if st.button("Start the vote", key="compare.set_new", type="primary", disabled=len(picked) < 2):
                try:
                    set_id = session.new_vote_set(picked, title)
                except (votes.VoteError, PermissionError) as exc:
                    st.error(escape_markdown(str(exc)))
                else:
                    _open_set(set_id)
                    st.rerun()
        if not open_id:
            return
        subject = session.vote_set_subject(str(open_id))
        if subject is None:
            st.warning("This vote is no longer stored.")
            return
        vote_tab, rank_tab = st.tabs(["Vote", "Ranking"])
        with vote_tab:
            vote_panel(subject, key=f"compare.{subject.id}.vote")
        with rank_tab:
            ranking_panel(subject, key=f"compare.{subject.id}.rank")
