"""Translation status: what each language is missing, has extra, or translated from an older
source text.

Every translation file ends with `source_fingerprints:`, a fingerprint of the source-language
block each translated block was made from. When a source block changes, its fingerprint no
longer matches and the translation is reported stale until a translator updates it and runs
`brochure check --accept --lang L --key KEY`, or for the whole language at once (a first
translation, or after reviewing every change) `brochure check --accept --lang L`.

Blocks are compared one by one, except inside a field whose kind declares `may_differ: true`
(official texts whose languages divide paragraphs differently): such a field is one block, present
or missing as a whole, stale when anything in its source changed.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brochure_build.errors import ContentError, Problem
from brochure_build.output import write_text_atomic
from brochure_build.source.content import load_edition, load_products, text_file, unknown_languages
from brochure_build.source.model import Settings
from brochure_build.source.yamlsource import YamlDocument, child_path, load_yaml

FINGERPRINTS_KEY = "source_fingerprints"


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:12]


def leaves(value: Any, key_path: str = "", whole: re.Pattern | None = None) -> Iterator[tuple[str, Any]]:
    """Every text block of a content tree, as (key path, text); a path that `whole` matches is one
    block however many items it holds (its text: the items, in order, as JSON)."""
    if whole is not None and key_path and whole.fullmatch(key_path):
        yield key_path, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != FINGERPRINTS_KEY:
                yield from leaves(item, child_path(key_path, key), whole)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, child_path(key_path, index), whole)
    else:
        yield key_path, value


def whole_fields(settings: Settings) -> re.Pattern:
    """The key paths of the fields whose translations may differ in length (`may_differ`)."""
    patterns = []
    for text_id, fields in settings.text_fields.items():
        for spec in fields.values():
            base = re.escape(child_path(child_path("sections", text_id), spec.name))
            if spec.may_differ:
                patterns.append(base)
            patterns += [base + r"\[\d+\]\." + re.escape(sub.name) for sub in spec.fields if sub.may_differ]
    return re.compile("|".join(patterns) or "(?!)")


@dataclass
class LanguageStatus:
    code: str
    missing: list[Problem] = field(default_factory=list)
    extra: list[Problem] = field(default_factory=list)
    stale: list[Problem] = field(default_factory=list)
    blocks: int = 0
    unrecorded: bool = False  # a translation without any source fingerprint yet


def load_source(root: Path, settings: Settings, problems: list[Problem]) -> YamlDocument | None:
    return load_yaml(root / text_file(settings.source_language), text_file(settings.source_language), problems, root)


def language_status(root: Path, settings: Settings, source_doc: YamlDocument, code: str,
                    problems: list[Problem]) -> LanguageStatus | None:
    """Compare `code`'s text file with the source language's, block by block."""
    doc = load_yaml(root / text_file(code), text_file(code), problems, root)
    if doc is None:
        return None
    status = LanguageStatus(code)
    whole = whole_fields(settings)
    source = dict(leaves(source_doc.data, whole=whole))
    translated = dict(leaves(doc.data, whole=whole))
    status.blocks = len(source)
    recorded = recorded_fingerprints(doc)
    status.unrecorded = code != settings.source_language and not recorded
    for key, text in source.items():
        if key not in translated:
            status.missing.append(Problem(doc.display_path, doc.line(key), key,
                                          f"missing: translate the {settings.source_language} block at "
                                          f"{source_doc.display_path}:{source_doc.line(key)}"))
        elif status.unrecorded:
            continue  # one line for the whole language, not one per block
        elif code != settings.source_language and recorded.get(key) != fingerprint(str(text)):
            reason = "no source fingerprint recorded" if key not in recorded else \
                f"the {settings.source_language} source changed after this was translated"
            status.stale.append(Problem(doc.display_path, doc.line(key), key,
                                        f"stale: {reason}; update it, then run "
                                        f"`brochure check --accept --lang {code} --key {key}`"))
    for key in translated:
        if key not in source:
            status.extra.append(Problem(doc.display_path, doc.line(key), key,
                                        f"extra: not in the {settings.source_language} source; remove it"))
    return status


def recorded_fingerprints(doc: YamlDocument) -> dict[str, str]:
    """The file's source fingerprints; a malformed block counts as none (load_edition reports it)."""
    recorded = doc.data.get(FINGERPRINTS_KEY) if isinstance(doc.data, dict) else None
    return {str(key): value for key, value in recorded.items()} if isinstance(recorded, dict) else {}


def accept_fingerprints(root: Path, settings: Settings, source_doc: YamlDocument, code: str, key_prefix: str | None,
                        problems: list[Problem]) -> int:
    """Record the current source fingerprints for `code`'s blocks (all, or those under key_prefix).

    Returns how many fingerprints were written. The block is rewritten as the file's last block,
    so comments and formatting above it are kept.
    """
    path = root / text_file(code)
    doc = load_yaml(path, text_file(code), problems, root)
    if doc is None:
        return 0
    recorded = recorded_fingerprints(doc)
    whole = whole_fields(settings)
    translated = dict(leaves(doc.data, whole=whole))
    changed = 0
    for key, text in leaves(source_doc.data, whole=whole):
        if key in translated and (key_prefix is None or key == key_prefix or key.startswith(key_prefix + ".")
                                  or key.startswith(key_prefix + "[")):
            if recorded.get(key) != fingerprint(str(text)):
                changed += 1
            recorded[key] = fingerprint(str(text))
    write_fingerprints(path, recorded)
    return changed


def write_fingerprints(path: Path, recorded: dict[str, str]) -> None:
    write_text_atomic(path, render_fingerprints(path.read_text(encoding="utf-8"), recorded))  # never a half-written text file


def render_fingerprints(text: str, recorded: dict[str, str]) -> str:
    """`text` (a text file) with its fingerprints block, the file's last, set to `recorded`."""
    match = re.search(rf"^{FINGERPRINTS_KEY}:.*\Z", text, flags=re.M | re.S)
    head = (text[: match.start()] if match else text).rstrip("\n")
    lines = [f"{FINGERPRINTS_KEY}:  # written by `brochure check --accept`: the source each block was translated from"]
    lines += [f"  {key}: {value}" for key, value in recorded.items()]
    return head + "\n\n" + "\n".join(lines) + "\n"


def check_content(root: Path, languages: list[str] | None, accept: bool = False, key: str | None = None,
                  out=None) -> int:
    """`brochure check`: validate every language, print the translation status; 1 on any error."""
    out = out or sys.stdout
    problems: list[Problem] = []
    products = load_products(root, problems)
    if not products:
        raise ContentError(problems)
    settings = products[0]
    problems += unknown_languages(settings, languages)
    source_doc = load_source(root, settings, problems)
    if problems or source_doc is None:
        raise ContentError(problems)
    codes = languages or [lang.code for lang in settings.languages]
    if accept:
        for code in codes:
            if code != settings.source_language:
                count = accept_fingerprints(root, settings, source_doc, code, key, problems)
                print(f"{code}: recorded {count} changed source fingerprint{'s' if count != 1 else ''}", file=out)
        if problems:
            raise ContentError(problems)
        return 0
    errors: list[Problem] = []
    warnings: list[Problem] = []
    notes: list[str] = []
    print(f"Translation status (source: {settings.source_language})", file=out)
    for code in codes:
        status = language_status(root, settings, source_doc, code, errors)
        validation: list[Problem] = []
        for product in products:  # each product's kinds say which fields its sections require
            load_edition(root, product, code, validation)
        if status is None:
            continue
        reported = {p.key for p in status.missing + status.extra}
        errors += status.missing + status.extra + [p for p in validation if p.key not in reported
                                                   and not p.key.startswith(tuple(k + "." for k in reported))]
        warnings += status.stale
        if code == settings.source_language:
            summary = f"source, {status.blocks} blocks"
        elif status.unrecorded:
            summary = f"{len(status.missing)} missing, {len(status.extra)} extra, no source fingerprints yet"
            notes.append(f"note: {text_file(code)}: no source fingerprints recorded yet, so nothing can be stale; once the "
                         f"translation is checked against the {settings.source_language} source, record them all with "
                         f"`brochure check --accept --lang {code}`")
        else:
            parts = [f"{len(status.missing)} missing", f"{len(status.extra)} extra", f"{len(status.stale)} stale"]
            summary = "complete" if not (status.missing or status.extra or status.stale) else ", ".join(parts)
        print(f"  {code:3} {summary}", file=out)
    for note in notes:
        print(note, file=out)
    for problem in sorted(set(warnings)):
        print(f"warning: {problem}", file=out)
    if errors:
        raise ContentError(errors)
    return 0
