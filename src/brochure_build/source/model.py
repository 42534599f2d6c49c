"""The brochure as typed, immutable values: what the content stage produces and later stages read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MM_PER_INCH = 25.4


@dataclass(frozen=True)
class PageSize:
    width_mm: float
    height_mm: float


@dataclass(frozen=True)
class FigureSpec:
    """A photo slot shared by every language: the file and the frame it is placed in."""

    id: str
    file: str  # relative to assets/
    width_mm: float
    height_mm: float
    line: int = field(default=0, compare=False)  # of `file` in brochure/brochure.yaml, for messages
    credit_lang: str = ""  # language of the credit's name when it is not the edition's (a tag: lb)
    max_height_mm: float = 0.0  # `height: [smallest, largest]`: the fitter may grow the frame up to this
    focus: str = "50% 50%"  # the point the photo is cropped around (CSS object-position)

    @property
    def tallest_mm(self) -> float:
        return max(self.height_mm, self.max_height_mm)

    def pixels_at(self, ppi: int) -> tuple[int, int]:
        """Pixel size that gives `ppi` at the largest size the photo may be placed at."""
        return (round(self.width_mm / MM_PER_INCH * ppi), round(self.tallest_mm / MM_PER_INCH * ppi))


@dataclass(frozen=True)
class SectionSpec:
    """One entry of the page plan."""

    id: str
    kind: str
    first_page: int
    last_page: int
    figures: tuple[str, ...] = ()
    photo_page: str | None = None  # "before" or "after" the text, for a kind whose layout reads it
    text: str = ""  # the id of its words under sections: in the text files (default: its own id)
    flows: bool = False  # `pages: auto`: as many pages as it needs; first/last_page are the least it takes
    shares_page: bool = False  # starts on the page the previous section ends on, below it

    @property
    def page_count(self) -> int:
        return self.last_page - self.first_page + 1


@dataclass(frozen=True)
class LanguageSpec:
    code: str
    tag: str
    direction: str = "ltr"
    fonts: tuple[str, ...] = ()  # font families the edition may use; anything else is a fallback


@dataclass(frozen=True)
class PrintSpec:
    """How the press files are made: output profile (under assets/) and the imposition sheet."""

    output_profile: str  # ICC file under assets/, CMYK
    output_condition: str  # registered characterization, e.g. FOGRA39
    sheet: PageSize  # press sheet of the imposed file


@dataclass(frozen=True)
class Settings:
    """brochure/brochure.yaml."""

    slug: str
    date: str
    page: PageSize
    bleed_mm: float
    source_language: str
    languages: tuple[LanguageSpec, ...]
    figures: dict[str, FigureSpec]
    sections: tuple[SectionSpec, ...]
    print: PrintSpec
    layouts: str = "layouts"  # the folder of this product's templates, kinds and CSS
    kinds: dict = field(default_factory=dict, compare=False)  # name -> kinds.Kind, declared in layouts/pages/
    file: str = "brochure/brochure.yaml"  # where this product is declared, for messages
    # Across every product sharing the text files: the fields each sections.<id> may hold, the labels.
    text_fields: dict = field(default_factory=dict, compare=False)
    label_names: tuple[str, ...] = ()
    text_owners: dict = field(default_factory=dict, compare=False)  # text id -> the first product file placing it

    @property
    def page_count(self) -> int:
        """Pages of the plan; with a flowing section, the least it can have."""
        return max(section.last_page for section in self.sections)

    @property
    def flows(self) -> bool:
        return any(section.flows for section in self.sections)

    def language(self, code: str) -> LanguageSpec:
        return next(lang for lang in self.languages if lang.code == code)


@dataclass(frozen=True)
class Figure:
    spec: FigureSpec
    caption: str
    credit: str
    alt: str


class Record:
    """Words looked up by name: a section's fields, an entry of a repeated group, the labels.

    Templates write `section.heading` or `edition.labels.credit`; Jinja2 finds the name through
    `record[name]`, so any name a declaration gives works and a missing one is an error."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any] | None = None):
        self._values = dict(values or {})

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._values)))

    def __repr__(self) -> str:
        return f"Record({self._values!r})"

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)

    def names(self) -> tuple[str, ...]:
        return tuple(self._values)


@dataclass(frozen=True)
class Block:
    """One block of a `blocks` field: a heading, paragraph, list, titled box, quote or figure."""

    type: str  # heading, paragraph, list, box, quote, figure
    text: str = ""  # a heading's, paragraph's or quote's words; a box's title
    items: tuple[str, ...] = ()  # a list's items; a box's paragraphs
    source: str = ""  # who is quoted
    figure: Figure | None = None


@dataclass(frozen=True)
class Section:
    """A section of one edition: its place in the plan and its words, one per field its kind declares.

    `section["heading"]` (in a template, `section.heading`): text, a tuple of texts, a tuple of
    Block, or a tuple of Record (the entries of a repeated group); a declared optional field that
    the text leaves out is empty."""

    spec: SectionSpec
    number: int = 0  # 1-based rank among sections of the same kind in the plan
    words: Record = field(default_factory=Record)
    figures: tuple[Figure, ...] = ()

    def __getitem__(self, name: str) -> Any:
        return self.words[name]


@dataclass(frozen=True)
class Meta:
    title: str
    author: str
    subject: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Edition:
    """Everything one language's PDFs are made from."""

    settings: Settings
    language: LanguageSpec
    labels: Record  # whatever names the layouts' kinds declare, such as credit
    meta: Meta
    sections: tuple[Section, ...]
    figures: dict[str, Figure] = field(default_factory=dict)
    text_file: Path | None = None

    def section(self, section_id: str) -> Section:
        return next(section for section in self.sections if section.spec.id == section_id)
