"""One job and the routers that run it, without the ledger.

Owns: `record` (the Job record, its states and transitions, the poll schedule: pure functions),
`access` (which access sent a job: operator / session / demo; keys typed in a session held in memory
only), `guards` (Generate's double-click and duplicate-question decisions), `eta` (a take's time left from
the endpoint's finished jobs), `providers/` (MuleRouter and APIMart: build requests, parse replies into
one TaskStatus) and `uploads` (getting a local video somewhere the router can fetch it).

May import: base, core.net, core.authoring. Not core.storage: the ledger stores Job records, so it sits
above this package; the engine that needs both is core.engine.
"""
