"""``python -m allotment`` runs the command line interface."""

from allotment.cli import main

raise SystemExit(main())
