"""A team on one deploy: who is using the app, and what they may spend.

Owns: `identity` (Streamlit's login, else a trusted header from the proxy, else one person; admins),
`budget` (daily budgets per person and for the team, checked in the ledger's transaction), `exposure`
(a server reachable from the network with the operator's key and nobody signing in: the warning) and
`chat_quota` (how often one person and the server may ask the operator's chat model).

May import: base, core.net, core.authoring, core.jobs, core.storage. Never core.engine, core.compare or
the server.
"""
