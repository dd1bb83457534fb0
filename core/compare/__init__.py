"""Compare: prompt experiments laid out as a grid of variants.

Owns: `experiments` (axes, cells, takes, checks and costs before anything is sent, Run all through the
engine, reviews, the winner), `grid` (what the page lays out: each take's status, the table and
its CSV, the cells on screen), `review_pack` (a self-contained zip that plays offline) and `grid_video`
(the grid as one MP4); judging the takes (issue 18): `votes` (blind ballots, once per person and pair,
vote sets of Gallery videos), `ranking` (Bradley–Terry with choix, bootstrap intervals, the next pairs to
vote on), `comments` (timestamped comments on a video) and `guests` (review links with a hashed token, and
the guest identity that may only review).

May import: every core package below it (authoring, jobs, storage, engine, team). Only the server, the CLI
and the ui sit above it.
"""
