"""One job and the routers that run it, without the ledger.

Owns: `record` (the Job record, its states and transitions, the poll schedule: pure functions),
`access` (which access sent a job: operator / session / demo; keys typed in a session held in memory
only), `key_check` (where each router hands out keys; what a pasted key's form says),
`providers/` (MuleRouter and APIMart: build requests, parse replies into one TaskStatus) and
`uploads` (getting a local video somewhere the router can fetch it).

May import: base, core.net, core.authoring. Not core.storage: the ledger stores Job records, so it sits
above this package; the engine that needs both is core.engine.
"""
