"""Handlers for usage (being implemented)."""

from allotment.http.errors import HTTPError
from allotment.http.request import Request, Response


def get_provider_usages(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def get_total_usages(req: Request) -> Response:
    raise HTTPError(501, "not implemented yet")


def usages_policy_target(req: Request) -> dict:
    """``/usages`` is authorized against the project being asked about."""
    values = req.query.get("project_id") or [None]
    return {"project_id": values[-1], "user_id": req.context.user_id}
