"""One job and the routers that run it, without the ledger.

Owns: `record` (the Job record, its states and transitions, the poll schedule: pure functions),
`access` (which access sent a job: operator / session / demo; keys typed in a session held in memory
only), `guards` (Generate's double-click and duplicate-question decisions), `eta` (a take's time left from
the endpoint's finished jobs), `providers/` (MuleRouter and APIMart: build requests, parse replies into
one TaskStatus), `uploads` (getting a local video somewhere the router can fetch it), `video_checks` (what a
request asks of its video and how a check is said: badges and plain sentences, pure) and `video_probe`
(measuring a video file with PyAV and numpy: length, size, sound, shot cuts, frozen/black stretches, flicker,
motion, sharpness).

May import: base, core.net, core.authoring. Not core.storage: the ledger stores Job records, so it sits
above this package; the engine that needs both is core.engine.
"""
