"""The render stage: an edition's HTML from the layouts (sandboxed Jinja2), laid out by WeasyPrint
with the pinned fonts and cached photos, and checked against the page plan."""
