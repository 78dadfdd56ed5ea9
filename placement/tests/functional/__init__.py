"""``placement.tests.functional``: only the fixture module (see ``placement``)."""
