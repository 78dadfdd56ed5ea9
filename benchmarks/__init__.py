"""Side-by-side benchmarks: allotment vs openstack-placement 16.0.0 (see docs/performance.md).

Modules: ``datagen`` (seeded cloud + HTTP loader), ``scenarios`` (candidates,
claims, reads), ``servers`` (databases, server processes, /proc memory),
``runner`` (one run), ``report`` (tables, cross-check, JSON, chart).
"""
