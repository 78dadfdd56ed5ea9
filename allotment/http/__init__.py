"""The HTTP layer: routing, microversions, validation, serialization. No SQL here."""
