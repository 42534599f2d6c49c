"""brochure_build: typesets print-ready brochures, one PDF set per language, from YAML content."""

__version__ = "0.1.0"
