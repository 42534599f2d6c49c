"""The brochure as typed, immutable values: what the content stage produces and later stages read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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

    def pixels_at(self, ppi: int) -> tuple[int, int]:
        """Pixel size that gives `ppi` at the placed size."""
        return (round(self.width_mm / MM_PER_INCH * ppi), round(self.height_mm / MM_PER_INCH * ppi))


@dataclass(frozen=True)
class SectionSpec:
    """One entry of the page plan."""

    id: str
    kind: str
    first_page: int
    last_page: int
    figures: tuple[str, ...] = ()
    photo_page: str | None = None  # "before" or "after" the text, for kind "section"

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

    @property
    def page_count(self) -> int:
        return max(section.last_page for section in self.sections)

    def language(self, code: str) -> LanguageSpec:
        return next(lang for lang in self.languages if lang.code == code)


@dataclass(frozen=True)
class Figure:
    spec: FigureSpec
    caption: str
    credit: str
    alt: str


@dataclass(frozen=True)
class Section:
    """A section of one edition: its place in the plan and its words."""

    spec: SectionSpec
    number: int = 0  # 1-based rank among sections of the same kind (priorities are numbered)
    heading: str = ""
    body: tuple[str, ...] = ()
    contribution: str = ""
    pledges: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class Labels:
    pledges: str
    contribution: str
    credit: str
    priority_number: str


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
    labels: Labels
    meta: Meta
    title_lines: tuple[str, ...]
    sections: tuple[Section, ...]
    figures: dict[str, Figure] = field(default_factory=dict)
    text_file: Path | None = None

    def section(self, section_id: str) -> Section:
        return next(section for section in self.sections if section.spec.id == section_id)
