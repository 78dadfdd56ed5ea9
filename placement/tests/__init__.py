"""``placement.tests``: only the fixtures other projects' tests import (see ``placement``)."""
