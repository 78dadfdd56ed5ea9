"""allotment's ``placement`` compatibility package (allotment's own code, not upstream's).

Services whose test suites were written against openstack-placement import a
few names from ``placement.*``: nova's functional tests use
``placement.conf.register_opts``, ``placement.tests.fixtures.Database`` and
``placement.tests.functional.fixtures.placement.PlacementFixture``. This package
offers exactly those names, implemented on top of ``allotment.testing``, so such
suites run unchanged with openstack-placement NOT installed.

It is not openstack-placement and contains none of its code: only the names
above exist here. Do not install allotment into an environment that also has
openstack-placement (both provide a top-level ``placement`` package); see
docs/testing.md.
"""
