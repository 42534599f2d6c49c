"""Where a build puts its files: build/<lang>/<slug>-<lang>-<variant>.<suffix>, each PDF's layout
report beside it. A module of its own so that preflight, proofs and the XLIFF export find the
files without importing the build (and with it the renderer's modules: 0.4 s at each start)."""

from __future__ import annotations

from pathlib import Path

from brochure_build.source.model import Settings

BUILD_DIR = "build"
DIGEST_STORE = Path(BUILD_DIR) / ".cache" / "digests.json"  # file digests kept across commands (digests.py)
YAML_STORE = Path(BUILD_DIR) / ".cache" / "yaml"  # content files as last loaded (source/yamlsource.py)


def output_name(settings: Settings, code: str, variant: str, suffix: str) -> str:
    return f"{settings.slug}-{code}-{variant}.{suffix}"


OUTPUT_VARIANTS = ("print", "screen", "imposed")  # the PDFs of an edition


def output_files(root: Path, settings: Settings, code: str) -> dict[str, Path]:
    """The edition's built PDFs, by variant."""
    return {variant: root / BUILD_DIR / code / output_name(settings, code, variant, "pdf")
            for variant in OUTPUT_VARIANTS}


def layout_report_path(pdf: Path) -> Path:
    """Where the copy-fit measures of a rendered variant are kept (read by preflight)."""
    return pdf.with_suffix(".layout.json")
