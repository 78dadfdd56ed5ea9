"""allotment: a fast, standalone implementation of the OpenStack Placement API."""

__version__ = "0.1.0"
