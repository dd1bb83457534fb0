"""The network door: every HTTP request the app makes to a router or to an address someone chose.

Owns: `http` (one httpx client per process, timeouts, GET retries with backoff and Retry-After, the
at-most-once submit POST, router error bodies turned into plain messages) and `fetch` (bounded fetching
from addresses a user or a router chose: http(s) only, nothing inside the network unless allowed, a
deadline, a byte cap, the content sniffed; design rule 12) and `llm` (the operator's OpenAI-compatible
chat model behind "Improve the wording": its settings, one bounded POST, the key only to its address).

May import: the base modules (config, errors, models, units, secrets_file). Nothing else of the project:
authoring (image URL checks), jobs (routers, downloads) and the emulator all sit above it.
"""
