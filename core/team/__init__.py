"""A team on one deploy: who is using the app, and what they may spend.

Owns: `identity` (Streamlit's login, else a trusted header from the proxy, else one person; admins) and
`budget` (daily budgets per person and for the team, checked in the ledger's transaction) and `exposure`
(a server reachable from the network with the operator's key and nobody signing in: the warning).

May import: base, core.net, core.authoring, core.jobs, core.storage. Never core.engine, core.compare or
the server.
"""
