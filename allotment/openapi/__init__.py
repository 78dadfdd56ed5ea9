"""The OpenAPI 3.1 description of the placement API, generated from the route table.

``document(version)`` walks ``allotment.http.routes.ROUTES``: every route and
method present at ``version``, with its summary, query parameters, request
body and response schemas (the same schema functions the handlers validate
with) and every status and ``placement.*`` error code it can answer. One
document per microversion: each names the ``OpenStack-API-Version`` value
it describes. ``allotment openapi`` prints it; ``GET /openapi.json`` serves it.
"""

from __future__ import annotations

from allotment.openapi.generate import document, document_bytes

__all__ = ["document", "document_bytes"]
