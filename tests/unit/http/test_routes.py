"""The route table."""

from allotment.http import routes


def test_match_extracts_path_parameters():
    route, params = routes.match("/resource_providers/abc/inventories/VCPU")
    assert route.template == "/resource_providers/{uuid}/inventories/{resource_class}"
    assert params == {"uuid": "abc", "resource_class": "VCPU"}


def test_unknown_path_does_not_match():
    assert routes.match("/resource_providers/abc/nope") is None
    assert routes.match("/nope") is None


def test_empty_path_is_root():
    route, _ = routes.match("")
    assert route.template == "/"


def test_allow_lists_methods_sorted():
    route, _ = routes.match("/resource_providers/x")
    assert route.allow == "DELETE, GET, PUT"


def test_every_endpoint_names_a_known_policy():
    from allotment.http.policy import RULES_BY_NAME

    for route in routes.ROUTES:
        for endpoint in route.methods.values():
            assert endpoint.policy is None or endpoint.policy in RULES_BY_NAME
