"""Running jobs: the ledger and the routers put together.

Owns: `runner` (submit / advance one step / track a task / resume: the glue of providers, ledger and media),
`rights` (who may act on a job: the owner check of the user actions, a session key only for its person)
and `loop` (the job engine: one per server process, claims due jobs under a lease, polls on the schedule,
downloads, settles; several on one ledger never do the same work twice), and `check_videos` (the video
checks for jobs stored before them: `python -m core check-videos`).

May import: base, core.net, core.authoring, core.jobs, core.storage. Never core.team or core.compare
(they call the runner), never the server (it starts the engine).
"""
