"""The source stage: the project's YAML read with its lines, validated against the page kinds the
layouts declare, and turned into typed, immutable editions; translation status and XLIFF."""
