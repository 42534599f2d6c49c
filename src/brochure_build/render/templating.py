"""HTML stage: turns an edition into the HTML of one variant (print or screen) with Jinja2.

Autoescape is on and undefined names are errors, so a typo in a template fails the build and
text from content can never become markup.

Layouts are design, not code, and travel between designers and studios: every template renders
in Jinja2's sandbox (ImmutableSandboxedEnvironment), narrowed further to what a layout reads.
No attribute starting with `_` (the way out to Python's object graph: `cycler.__init__.__globals__`,
`''.__class__.__mro__`), no attribute of anything but the content's values, strings, numbers,
lists, dicts and Jinja2's own loop helpers, and never a path, a module or a class (a path would
read and write files: `edition.text_file.write_text(…)`). str.format goes through the sandbox's
formatter, lists and dicts cannot be changed. A template that tries fails the build, naming its
file and line.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import jinja2.runtime
import jinja2.utils
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from brochure_build.errors import BuildError
from brochure_build.render.layoutcheck import WORD_JOINER
from brochure_build.source import model
from brochure_build.source.model import Edition, Section, Settings

STYLESHEETS = ("css/tokens.css", "css/fonts.css", "css/languages.css", "css/base.css", "css/pages.css")
# Rendered by WeasyPrint; the imposed file is made from the print file (impose.py).
VARIANTS = ("print", "screen")


LAYOUTS = "layouts"
# Whose attributes a layout may read, besides the content's values (model.py).
READABLE = (str, int, float, tuple, list, dict, jinja2.runtime.LoopContext, jinja2.runtime.TemplateReference,
            jinja2.runtime.BlockReference, jinja2.runtime.Macro, jinja2.environment.TemplateModule,
            jinja2.utils.Namespace, jinja2.utils.Cycler, jinja2.utils.Joiner)
# What no attribute may give a layout: paths read and write files, modules and classes lead to everything.
NEVER = (os.PathLike, types.ModuleType, type)
UNSAFE_ATTRIBUTE = re.compile(r"access to attribute '(.*)' of '.*' object is unsafe\.")


class LayoutSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, reading only the attributes a layout needs (see the module's docstring)."""

    def is_safe_attribute(self, obj, attr: str, value) -> bool:
        readable = isinstance(obj, READABLE) or (dataclasses.is_dataclass(obj) and type(obj).__module__ == model.__name__)
        return readable and not isinstance(value, NEVER) and super().is_safe_attribute(obj, attr, value)

    def unsafe_undefined(self, obj, attribute: str):
        """Refuse at once, rather than hand back an undefined value that fails where it is used:
        the message then names the first attribute refused, not one further down the chain."""
        if isinstance(obj, jinja2.StrictUndefined):
            str(obj)  # raises UndefinedError: "'config' is undefined" says more than its `__class__`
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe.")


def make_environment(root: Path, layouts: str = LAYOUTS) -> jinja2.Environment:
    """Templates of the product whose layouts are in `layouts`, in the sandbox; a partial it lacks
    is looked up in layouts/ (a second product may share the first one's figure.html.j2)."""
    folders = [root / layouts] + ([root / LAYOUTS] if layouts != LAYOUTS else [])
    environment = LayoutSandbox(
        loader=jinja2.FileSystemLoader(folders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    del environment.globals["lipsum"]  # made-up words have no place in a brochure
    environment.filters["no_runt"] = no_runt
    environment.filters["hold_ranges"] = hold_ranges
    environment.filters["hold_last_characters"] = hold_last_characters
    return environment


NUMBER_RANGE_DASH = re.compile(r"(?<=\d)[–—-](?=\d)")
RUNT_MIN_WORDS = 4  # a shorter heading has no runt to fear: three words break as they please
# Chinese and Japanese, set without spaces, break between any two characters: a last line holds at
# least this many (before its closing punctuation), as their typesetting rules want.
WIDE_RUNT_CHARACTERS = 2


def no_runt(text: str) -> str:
    """`text` with its last two words held together, so that a heading set on several lines does
    not end on a single word (a runt; WeasyPrint 70 has no `text-wrap: balance`), and a range of
    numbers held at its dash, so that `2022–2024` does not break there either. A template asks
    for it: `{{ section.heading | no_runt }}`. A text of fewer than RUNT_MIN_WORDS words is left
    as it is. A text written without spaces in a wide script (Chinese) gets its last
    WIDE_RUNT_CHARACTERS characters held together instead: its last line never holds one
    character alone.

    The hold is a word joiner (no break before or after it, UAX #14) after the last space and
    after the dash, not a no-break space: the space stays a space, which text extractors need to
    read right-to-left words in order (pypdf put the last Arabic word first). The joiner is
    taken out of the PDF's bookmarks and read texts (postprocess.py, tagging.py)."""
    text = str(text)
    body = text.rstrip()
    if " " not in body.strip():  # one word, or a wide script written without spaces
        held = hold_last_characters(body)
        return text if held == body else hold_ranges(held + text[len(body):])
    words = body.rsplit(" ", 1)
    if len(text.split()) < RUNT_MIN_WORDS or len(words) < 2 or not words[0].strip():
        return text
    return hold_ranges(f"{words[0]} {WORD_JOINER}{words[1]}{text[len(body):]}")


def hold_last_characters(text: str, count: int = WIDE_RUNT_CHARACTERS) -> str:
    """`text` with word joiners between its last `count` characters before its closing
    punctuation (which UAX #14 keeps with the character before it), when they are wide (CJK)
    characters and more come before them; any other text (a Latin paragraph) as it is."""
    end = len(text)
    while end and not text[end - 1].isalnum():
        end -= 1
    start = end - count
    if start < 1 or not all(unicodedata.east_asian_width(character) in "WF" for character in text[start:end]):
        return text
    return text[:start] + WORD_JOINER.join(text[start:end]) + text[end:]


def hold_ranges(text: str) -> str:
    """`text` with a word joiner after the dash of each range of numbers (`2018–2023`), so that a
    line does not end on `2018–`: for running text, `{{ paragraph | hold_ranges }}` (no_runt does
    it for headings). The joiner is invisible and not read (see no_runt)."""
    return NUMBER_RANGE_DASH.sub(lambda match: match[0] + WORD_JOINER, str(text))


def template_line(error: BaseException, root: Path) -> str:
    """`layouts/<template>:<line>` of the template line `error` was raised on (the innermost one,
    for an included template), from the traceback Jinja2 rewrites to show template lines."""
    layouts = (root / LAYOUTS).resolve()
    where = LAYOUTS
    traceback = error.__traceback__
    while traceback is not None:
        filename = Path(traceback.tb_frame.f_code.co_filename)
        if filename.is_absolute() and filename.resolve().is_relative_to(layouts):
            where = f"{LAYOUTS}/{filename.resolve().relative_to(layouts).as_posix()}:{traceback.tb_lineno}"
        traceback = traceback.tb_next
    return where


def template_problem(error: Exception, root: Path) -> str:
    """The message for an error raised while a template renders: its file and line, and what went wrong."""
    where = template_line(error, root)
    if isinstance(error, SecurityError):
        match = UNSAFE_ATTRIBUTE.fullmatch(str(error))
        what = f"`{match[1]}`" if match else str(error).rstrip(".")
        return f"{where}: unsafe access to {what} is not allowed in a layout"
    if isinstance(error, jinja2.TemplateError):
        return f"{where}: template error: {error}"
    return f"{where}: template error: {type(error).__name__}: {error}"


def document_date(settings: Settings) -> str:
    """The date written into the PDFs: SOURCE_DATE_EPOCH when set (reproducible-builds.org),
    otherwise the edition's date from brochure.yaml. Never the clock: same sources, same bytes."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return settings.date
    if not epoch.strip().isdigit():
        raise BuildError(f"SOURCE_DATE_EPOCH: expected whole seconds since 1970-01-01, found {epoch!r}")
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unlinked_stylesheets(root: Path, settings: Settings) -> tuple[Path, ...]:
    """The layouts' stylesheets a render may take parsed (pdf.Renderer keeps them parsed per
    process) instead of linked from its HTML: all of them, unless one holds `!important` or
    `@import`. WeasyPrint gives stylesheets handed to it the user origin, below the HTML's own
    `<style>`; without those two the cascade is the same as when they are linked (the page size
    and the copy-fit settings in the `<style>` come after them either way)."""
    paths = tuple(root / settings.layouts / sheet for sheet in STYLESHEETS)
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return ()  # linked: WeasyPrint then says what is wrong with it, as it always did
        if "!important" in text or "@import" in text:
            return ()
    return paths


def render_html(environment: jinja2.Environment, edition: Edition, variant: str, root: Path, html_dir: Path,
                images: dict[str, Path], sections: tuple[Section, ...] | None = None, fit_css: str = "",
                unlinked: tuple[Path, ...] = ()) -> str:
    """HTML of `edition` for `variant`, with links relative to `html_dir` where it will be kept.

    `images` maps each figure id to the file this variant embeds (images.prepare_images).
    `sections`: only these, a run of the page plan (the preview lays an edition out in parts);
    their pages are numbered from the first one's planned page. `fit_css`: the settings the fitter
    chose (fit.py), added at the end of the head so they take precedence and the kept HTML renders
    as the PDF was made. `unlinked`: stylesheets left out of the head, for the renderer to add
    parsed (unlinked_stylesheets); the HTML that is kept links them all."""
    def relative(target: Path) -> str:
        return Path(os.path.relpath(target, html_dir)).as_posix()

    settings = edition.settings
    try:
        html = environment.get_template("base.html.j2").render(
            edition=edition,
            sections=edition.sections if sections is None else sections,
            first_page=sections[0].spec.first_page if sections else 1,
            variant=variant,
            stylesheets=[sheet for sheet in STYLESHEETS if root / settings.layouts / sheet not in unlinked],
            date=document_date(settings),
            css_href=lambda sheet: relative(root / settings.layouts / sheet),
            image_href=lambda figure_id: relative(images[figure_id]),
            output_profile_href=relative(root / "assets" / settings.print.output_profile),
            page_width=f"{settings.page.width_mm:g}mm",
            page_height=f"{settings.page.height_mm:g}mm",
            bleed=f"{settings.bleed_mm:g}mm" if variant == "print" else None,
        )
    except jinja2.TemplateSyntaxError as error:
        raise BuildError(f"{LAYOUTS}/{error.name or error.filename}:{error.lineno}: template error: {error.message}") from None
    except BuildError:
        raise
    except Exception as error:  # whatever a template's expression raises is the layout's error, not ours
        raise BuildError(template_problem(error, root)) from None
    if fit_css:
        head_end = html.find("</head>")
        style = f'<style data-fit="chosen by the build: layout report, fit">\n{fit_css}\n</style>\n'
        html = html[:head_end] + style + html[head_end:] if head_end >= 0 else style + html
    return html
