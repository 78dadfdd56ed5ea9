"""Where a request goes: dispatch, 404 and 405, decided by the route table."""

from allotment.http import microversion as mv
from allotment.http import routes
from allotment.http.routing import Found, Refusal, below_first_version

PROVIDER = "/resource_providers/abc"


def test_a_known_path_and_method_finds_its_endpoint() -> None:
    found = routes.resolve(f"{PROVIDER}/inventories/VCPU", "GET")
    assert isinstance(found, Found)
    assert found.route.template == "/resource_providers/{uuid}/inventories/{resource_class}"
    assert found.endpoint.name == "get_inventory"
    assert found.params == {"uuid": "abc", "resource_class": "VCPU"}


def test_an_unknown_path_is_a_404_without_vary_or_route() -> None:
    refusal = routes.resolve("/nope", "GET")
    assert refusal == Refusal(404, "", None, None, vary=False)


def test_another_method_is_a_405_allowing_the_route_methods() -> None:
    refusal = routes.resolve(PROVIDER, "PATCH")
    assert isinstance(refusal, Refusal)
    assert (refusal.status, refusal.allow, refusal.vary) == (405, "DELETE, GET, PUT", True)
    assert refusal.template == "/resource_providers/{uuid}"
    assert refusal.message == "The method specified is not allowed for this resource."


def test_below_the_first_microversion_is_a_404() -> None:
    found = routes.resolve(f"{PROVIDER}/aggregates", "GET")
    assert isinstance(found, Found)
    assert below_first_version(found, mv.MIN_VERSION) == Refusal(
        404, "", "/resource_providers/{uuid}/aggregates"
    )
    assert below_first_version(found, mv.AGGREGATES) is None


def test_below_the_first_microversion_may_be_a_405_without_allow() -> None:
    found = routes.resolve(f"{PROVIDER}/inventories", "DELETE")
    assert isinstance(found, Found)
    refusal = below_first_version(found, mv.Version(1, 4))
    assert refusal is not None
    assert (refusal.status, refusal.allow) == (405, None)
    assert below_first_version(found, mv.DELETE_ALL_INVENTORIES) is None
