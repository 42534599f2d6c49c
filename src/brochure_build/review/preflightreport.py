"""Preflight results as people read them: a terminal table, build/preflight.json and
build/preflight.html with page thumbnails of every edition."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jinja2

from brochure_build.output import write_text_atomic
from brochure_build.review.preflight import CHECKS, FILL_WARNING, Report
from brochure_build.source.content import SETTINGS_FILE
from brochure_build.source.model import Settings

THUMBNAIL_DPI = 18
SYMBOL = {"pass": "pass", "warn": "warn", "fail": "FAIL"}

HTML = jinja2.Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Preflight — {{ slug }}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1c1c1c; }
  table { border-collapse: collapse; margin-bottom: 2em; }
  th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: center; }
  td.pass { background: #e3f4e1; } td.warn { background: #fff3cd; } td.fail { background: #f8d7da; font-weight: bold; }
  .thumbs figure { display: inline-block; margin: 2px; text-align: center; font-size: 11px; }
  .thumbs img { height: 110px; border: 1px solid #ccc; display: block; }
  .thumbs .low { color: #8a6d00; font-weight: bold; }
  li.fail { color: #a40000; } li.warn { color: #8a6d00; }
</style></head><body>
<h1>Preflight: {{ verdict }}</h1>
<table><tr><th>language</th>{% for check in checks %}<th>{{ check }}</th>{% endfor %}</tr>
{% for code, results in report.items() %}<tr><th>{{ code }}</th>
{% for check in checks %}<td class="{{ results[check].status }}">{{ results[check].summary or results[check].status }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% for code, results in report.items() %}
<h2 id="{{ code }}">{{ code }}</h2>
<ul>{% for check in checks %}{% for message in results[check].messages %}
<li class="{{ results[check].status }}"><b>{{ check }}</b>: {{ message }}</li>{% endfor %}{% endfor %}</ul>
<div class="thumbs">{% set fills = fill_by_page(results) %}{% for thumb in thumbnails.get(code, []) %}
<figure><img src="{{ thumb }}" alt="{{ code }} page {{ loop.index }}">{% set fill = fills.get(loop.index) %}
<figcaption{% if fill and fill.fill < warning %} class="low"{% endif %}>{{ loop.index }}
{%- if fill %} · {{ "%.0f" % (fill.fill * 100) }} %<br>{{ fill.setting }}{% endif %}</figcaption></figure>
{%- endfor %}</div>
{% endfor %}
</body></html>
""", autoescape=True)


def failures(report: Report) -> int:
    return sum(result.status == "fail" for results in report.values() for result in results.values())


def warnings(report: Report) -> int:
    return sum(result.status == "warn" for results in report.values() for result in results.values())


def verdict(report: Report) -> str:
    failed, warned = failures(report), warnings(report)
    if failed:
        return f"failed: {failed} check{'s' if failed != 1 else ''} failed, {warned} with warnings"
    languages = f"{len(report)} language{'s' if len(report) != 1 else ''}"
    return f"passed: {languages} × {len(CHECKS)} checks" + (f", {warned} with warnings" if warned else "")


def table(report: Report) -> str:
    width = max(len(check) for check in CHECKS)
    lines = ["lang  " + "  ".join(f"{check:<{width}}" for check in CHECKS)]
    for code, results in report.items():
        lines.append(f"{code:<4}  " + "  ".join(f"{cell(results[check]):<{width}}" for check in CHECKS))
    details = [f"{code} {check}: {message}" for code, results in report.items() for check in CHECKS
               for message in results[check].messages]
    return "\n".join(lines + ([""] + details if details else []) + ["", f"Preflight {verdict(report)}."])


def cell(result) -> str:
    """A table cell: the status, with the check's figure where it has one (the fill: '87% warn')."""
    if not result.summary:
        return SYMBOL[result.status]
    return result.summary if result.status == "pass" else f"{result.summary} {SYMBOL[result.status]}"


def fill_by_page(results) -> dict[int, dict]:
    return {page["page"]: page for page in results["fill"].pages} if "fill" in results else {}


def as_json(report: Report) -> dict:
    def entry(result) -> dict:
        data = {"status": result.status, "messages": result.messages}
        if result.pages:
            data["pages"] = result.pages
        return data

    return {
        "passed": failures(report) == 0,
        "checks": list(CHECKS),
        "languages": {code: {check: entry(result) for check, result in results.items()} for code, results in report.items()},
    }


def report_name(settings: Settings) -> str:
    """The name of a product's preflight files: build/preflight.* for the brochure
    (brochure/brochure.yaml), build/preflight-<slug>.* for each further product."""
    return "preflight" if settings.file == SETTINGS_FILE else f"preflight-{settings.slug}"


def thumbnail_folder(root: Path, settings: Settings, code: str) -> Path:
    """Where the page thumbnails of a product's edition go (write_thumbnails)."""
    return root / "build" / report_name(settings) / code


def write_reports(root: Path, slug: str, report: Report, screen_pdfs: dict[str, Path], name: str = "preflight") -> None:
    """build/<name>.json, build/<name>.html and its thumbnails in build/<name>/<lang>/ (one name per product)."""
    build = root / "build"
    write_text_atomic(build / f"{name}.json", json.dumps(as_json(report), indent=1, ensure_ascii=False) + "\n")
    thumbnails = {code: write_thumbnails(pdf, build / name / code) for code, pdf in screen_pdfs.items() if pdf.is_file()}
    relative = {code: [path.relative_to(build).as_posix() for path in paths] for code, paths in thumbnails.items()}
    write_text_atomic(build / f"{name}.html", HTML.render(slug=slug, report=report, checks=CHECKS, verdict=verdict(report),
                                                             thumbnails=relative, fill_by_page=fill_by_page,
                                                             warning=FILL_WARNING))


def write_thumbnails(pdf: Path, folder: Path) -> list[Path]:
    import pypdfium2 as pdfium

    folder.mkdir(parents=True, exist_ok=True)
    # Made again only when the PDF changed: a stamp beside them names the PDF's bytes.
    stamp = folder / ".source"
    source = hashlib.sha256(pdf.read_bytes()).hexdigest()
    existing = sorted(folder.glob("page-*.png"))
    if stamp.is_file() and stamp.read_text() == source and existing:
        return existing
    # The stamp goes first and comes back last: thumbnails cut short are made again next time.
    # Each is written in place (the report links them; a half-written one is never stamped).
    stamp.unlink(missing_ok=True)
    paths = []
    document = pdfium.PdfDocument(str(pdf))
    try:
        for number, page in enumerate(document, 1):
            path = folder / f"page-{number:02d}.png"
            page.render(scale=THUMBNAIL_DPI / 72).to_pil().save(path, "PNG")
            paths.append(path)
    finally:
        document.close()
    for old in existing:
        if old not in paths:  # a page the file no longer has
            old.unlink()
    write_text_atomic(stamp, source)
    return paths
