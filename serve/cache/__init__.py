"""lmroute's semantic cache: an exact tier and a semantic tier with a learned hit decision.

``keys`` (what a request is keyed by), ``entry`` / ``replay`` / ``stream`` (stored answers,
replayed as JSON or SSE, streams stored only when complete), ``index`` (vector indexes),
``store`` (entries, TTL, bounds, invalidation; in-process or Redis), ``embed``
(query embeddings), ``decision`` / ``verifier`` (when a neighbour may answer), ``cache``
(the two tiers together), ``build`` (from config), ``cli`` / ``pairs`` / ``bench``
(commands).
"""
