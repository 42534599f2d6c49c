"""Allows `python -m brochure_build`."""

from brochure_build.cli import main

raise SystemExit(main())
