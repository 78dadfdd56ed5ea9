"""GET /allocation_candidates/explain: why a candidate query returns what it returns.

An allotment extension (not part of upstream Placement's API): it takes
exactly the query string of GET /allocation_candidates, validated by the same
parser at the same microversion (same 400s), and answers with the funnel
document of ``allotment.store.explain`` (docs/explain.md). Guarded by the
policy rule ``placement:allocation_candidates:explain`` (admin only by default).
"""

from __future__ import annotations

from allotment.http.handlers.allocation_candidate import (
    candidate_errors,
    parse_request,
    search_options,
)
from allotment.http.request import Request, Response, json_response
from allotment.store.explain import explain


def explain_allocation_candidates(req: Request) -> Response:
    request = parse_request(req.query, req.version)
    options = search_options(req.state.settings)
    with candidate_errors(), req.state.db.read() as conn:
        document = explain(conn, request, options)
    return json_response(req, document)
