"""GET /allocation_candidates: parse (handler), research (SQL), assemble (pure Python).

``find_candidates`` runs research and assembly in one read transaction and
applies the request-wide limits (``limit``, the
candidate cap, randomisation).
"""
