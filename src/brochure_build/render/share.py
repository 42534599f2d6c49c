"""One type step shared where a kind's declaration asks for it (`fit: share:`, kinds.py).

- `edition`: every run of the kind in one edition is set at one step;
- `script`: and so is every edition of the product whose language is written in the same script
  (found from the edition's own words: the script most of its letters are written in, as Unicode
  says, fontTools.unicodedata; nothing here knows a language).

The shared step is the smallest that any member run takes on its own (fit.py's search), so every
member fits at it; each member is then fitted again at that step (frames grow, optional fields as
usual). A build of one language searches its script siblings' runs itself, through the same
cache (build/.cache/fit): the sibling's own worker then finds the work done, and `--lang en`
chooses what a full build chooses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from fontTools import unicodedata

from brochure_build.source.model import Block, Edition, Record, Settings

SCOPES = ("edition", "script")
NO_SCRIPT = ("Zyyy", "Zinh", "Zzzz")  # common (digits, punctuation), inherited (accents), unknown


def texts_of(value) -> Iterator[str]:
    """Every text in a section's words (texts, blocks, a group's entries)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Record):
        for name in value.names():
            yield from texts_of(value[name])
    elif isinstance(value, Block):
        yield from (value.text, *value.items, value.source)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from texts_of(item)


_scripts: dict[int, tuple[Edition, str]] = {}  # id -> the edition (kept, so its id stays its own) and its script


def script_of(edition: Edition) -> str:
    """The ISO 15924 code of the script most letters of the edition's words are written in
    (remembered per edition object: the preview asks on every render)."""
    known = _scripts.get(id(edition))
    if known is not None and known[0] is edition:
        return known[1]
    if len(_scripts) > 64:
        _scripts.clear()
    _scripts[id(edition)] = (edition, dominant_script(edition))
    return _scripts[id(edition)][1]


def dominant_script(edition: Edition) -> str:
    counts: Counter[str] = Counter()
    for section in edition.sections:
        for text in texts_of(section.words):
            counts.update(unicodedata.script(char) for char in text if char.isalpha())
    for code in NO_SCRIPT:
        counts.pop(code, None)
    return counts.most_common(1)[0][0] if counts else "Zyyy"


def sharing_kinds(settings: Settings, scope: str) -> set[str]:
    """The product's kinds whose `fit:` shares their step with `scope`."""
    return {name for name, kind in settings.kinds.items()
            if kind is not None and kind.fit is not None and scope in kind.fit.share}


def script_siblings(edition: Edition, editions: Sequence[Edition]) -> tuple[Edition, ...]:
    """Of `editions`, the others of `edition`'s product written in its script, when a kind of
    the product shares by script (else none: nothing else decides this edition's steps)."""
    if not sharing_kinds(edition.settings, "script"):
        return ()
    script = script_of(edition)
    return tuple(other for other in editions
                 if other.settings.file == edition.settings.file and other.language.code != edition.language.code
                 and script_of(other) == script)


def load_siblings(root: Path, edition: Edition) -> tuple[Edition, ...]:
    """`edition`'s script siblings read from the text files (for preflight's fingerprints; the build
    has them loaded and checked). A text file that does not load is left out."""
    from brochure_build.source.content import load_edition

    if not sharing_kinds(edition.settings, "script"):
        return ()
    others = []
    for language in edition.settings.languages:
        if language.code != edition.language.code:
            other = load_edition(root, edition.settings, language.code, [])
            if other is not None:
                others.append(other)
    return script_siblings(edition, others)


def shared_words(siblings: Sequence[Edition]) -> str:
    """What of the siblings decides this edition's shared steps: their language, labels and the
    sections of the kinds shared by script (for the edition's fingerprint, stamps.py)."""
    parts = []
    for sibling in siblings:
        kinds = sharing_kinds(sibling.settings, "script")
        sections = [section for section in sibling.sections if section.spec.kind in kinds]
        parts.append(repr((sibling.language, sibling.labels, sections)))
    return "\0".join(parts)


@dataclass(frozen=True)
class Shared:
    """The step a run takes with the runs it shares it with."""

    step: int
    languages: tuple[str, ...]
    sections: tuple[str, ...]


def shared_step(fitter, siblings: Sequence, run, search: bool = True) -> Shared | None:
    """For a run of `fitter`'s edition whose kind shares its step: the smallest step any member of
    its group takes on its own (None for a kind that does not share). `siblings`: the Fitters of the
    script siblings' editions. Without `search` (the preview's quick render) only what the cache
    remembers: None too when a member has not been chosen yet."""
    from brochure_build.render.fit import fittable

    edition = fitter.edition
    kind = run[0].spec.kind
    fit = edition.settings.kinds[kind].fit
    if not fit.share:
        return None
    order = [language.code for language in edition.settings.languages]
    members = [(member, other) for member in ((fitter, *siblings) if "script" in fit.share else (fitter,))
               for other in fittable(member.edition)
               if other[0].spec.kind == kind and ("edition" in fit.share or other[0].spec.id == run[0].spec.id)]
    own = [member.own_step(other, search) for member, other in members]
    if None in own:
        return None
    languages = sorted({member.edition.language.code for member, _ in members}, key=order.index)
    sections = list(dict.fromkeys(other[0].spec.id for _, other in members))
    return Shared(min(own), tuple(languages), tuple(sections))


def recall_shared(fitter, run, shared: Shared):
    """The run's choice at the shared step, if the cache remembers it (no layout, no search)."""
    own = fitter.own_step(run, search=False)
    if own is None:
        return None
    choice = fitter.recall(run, None if own == shared.step else shared.step)
    return None if choice is None else \
        replace(choice, shared=shared.languages, shared_sections=shared.sections, own_step=own)


def choose_shared(fitter, run, shared: Shared | None, lay_out: bool = True):
    """The run's choice and layout: its own, or at the shared step when that is smaller. Without
    `lay_out`, a choice recalled is not laid out (Fitter.choose)."""
    if shared is None:
        return fitter.choose(run, lay_out=lay_out)
    own = fitter.own_step(run)
    choice, trial = fitter.choose(run, None if own == shared.step else shared.step, lay_out=lay_out)
    return replace(choice, shared=shared.languages, shared_sections=shared.sections, own_step=own), trial
