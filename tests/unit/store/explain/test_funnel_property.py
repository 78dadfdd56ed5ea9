"""The group funnel against the engine's own per-provider rules, on random worlds.

A suffixed group's providers passing every step are exactly the providers
``plan.suffixed_choices`` offers for some anchor. For the unnumbered
group, per class, they are those ``plan.unnumbered_choices`` offers (the
funnel's extra trait test only narrows them), and every provider a real
candidate uses for a group passes that group's funnel.
"""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allotment.store.candidates import assemble, plan
from allotment.store.candidates.request import UNNUMBERED
from allotment.store.candidates.universe import Universe
from allotment.store.explain import funnel
from tests.unit.store.candidates.reference import requests, worlds


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_funnel_matches_the_engines_rules(data: st.DataObject) -> None:
    providers = data.draw(worlds())
    request = data.draw(requests(providers))
    universe = Universe(providers)
    root_of = {p.uuid: p.root_id for p in providers}
    in_tree_roots = {g.suffix: root_of.get(g.in_tree) for g in request.groups if g.in_tree}
    roots = [r for r in universe.trees if r in universe.providers]
    passed = {
        g.suffix: funnel.passing(universe, g, in_tree_roots.get(g.suffix)) for g in request.groups
    }
    for group in request.groups:
        root = in_tree_roots.get(group.suffix)
        if group.suffix != UNNUMBERED or not group.resources:
            engine = {pid for a in roots for pid in plan.suffixed_choices(universe, a, group, root)}
            assert passed[group.suffix][""] == engine
            continue
        for rc, amount in group.resources.items():
            single = dataclasses.replace(group, resources={rc: amount})
            engine = set()
            for a in roots:
                found = plan.unnumbered_choices(universe, a, single, root)
                engine |= set(found[rc]) if found else set()
            if group.required:
                assert passed[UNNUMBERED][rc] <= engine
            else:
                assert passed[UNNUMBERED][rc] == engine
    for candidate in assemble.generate(universe, request, in_tree_roots):
        for suffix, pids in candidate.mappings.items():
            group = request.group(suffix)
            assert group is not None
            if suffix != UNNUMBERED:
                assert set(pids) <= passed[suffix][""]
                continue
            for pid, resources in candidate.allocations.items():
                for rc in resources:
                    if rc in group.resources and pid in pids:
                        assert pid in passed[UNNUMBERED][rc] or any(
                            rc in request.group(s).resources and pid in candidate.mappings[s]
                            for s in candidate.mappings
                            if s != UNNUMBERED
                        )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_counting_stops_where_the_explained_failures_start(data: st.DataObject) -> None:
    """``first_step`` (what counting asks of every provider, without texts) names
    the same step as the first of ``failures`` (what misses are explained by)."""
    providers = data.draw(worlds())
    request = data.draw(requests(providers))
    universe = Universe(providers)
    root_of = {p.uuid: p.root_id for p in providers}
    for group in request.groups:
        in_tree_root = root_of.get(group.in_tree) if group.in_tree else None
        for _key, resources, judge in funnel.judges(universe, group, in_tree_root):
            for provider in providers:
                first = next(judge.failures(provider, resources), None)
                expected = len(funnel.STEPS) if first is None else funnel._INDEX[first[0]]
                assert judge.first_step(provider, resources) == expected
