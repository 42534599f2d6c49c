"""Tagging stage (screen PDF, PDF/UA-1): the structure tree WeasyPrint 70 writes, repaired.

WeasyPrint tags each box by its HTML element's name and nothing else, so its tree falls short of
PDF/UA-1 (the rules are in `uarules`): a link annotation per inline box of an `<a>`, most of
them in `Span`s; running elements (folios) tagged but outside the tree; Figure boxes in CSS px
from the top; an anonymous box of an element tagged again inside it (`Caption` in `Caption`, a
paragraph split over two columns as two `P`); no labels; inner `lang` attributes dropped; text
as drawn (Arabic in visual glyph order, lam-alef ligatures read backwards; inserted hyphens).

Two steps:

1. `recording()`, around WeasyPrint's PDF writing, notes which HTML element each structure
   element comes from (with its `lang`, `data-pdf-tag` and `data-pdf-order` attributes) and
   the logical text of every marked text box. WeasyPrint has no public hook for this: the
   context wraps its private `weasyprint.pdf.tags._build_box_tree` (the version is pinned).
2. `repair()` rewrites the written file with pikepdf from those notes.

What the layouts can say (generic; documented in README.md, "The screen file's tags"):
`data-pdf-tag="Lbl"` makes an element the label of its list item (or of the heading that
follows it); `data-pdf-order="first"` reads an element first in its parent; `lang` on any
element becomes the element's `/Lang`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import pikepdf

from brochure_build.render.layoutcheck import WORD_JOINER
from brochure_build.review.pdfinspect import multiply
from brochure_build.review.uarules import is_element, kids_of, overlap  # one reading of the structure tree for repair and rules

NOTED_ATTRIBUTES = ("lang", "data-pdf-tag", "data-pdf-order")
HEADINGS = {f"/H{n}" for n in range(1, 7)} | {"/H"}
INSERTED_HYPHEN = "\u2010"  # WeasyPrint's default hyphenate-character
SOFT_HYPHEN = "\u00ad"
SRGB_CONDITION = "sRGB IEC61966-2.1"


@dataclass(frozen=True)
class ElementNote:
    origin: tuple[int, str]  # the HTML element (in order of first tagging) and the box's tag name
    attributes: dict[str, str]


@dataclass(frozen=True)
class TextNote:
    text: str  # logical order, with the hyphen the line break inserted
    rtl: bool


@dataclass
class Notes:
    """What WeasyPrint knew when it tagged: keyed by structure element object number, and by
    (page index, MCID) for the text boxes."""

    elements: dict[int, ElementNote] = field(default_factory=dict)
    texts: dict[tuple[int, int], TextNote] = field(default_factory=dict)


@contextmanager
def recording() -> Iterator[Notes]:
    """Note, while WeasyPrint writes a tagged PDF, where its structure elements come from."""
    from weasyprint.formatting_structure import boxes
    from weasyprint.layout.absolute import AbsolutePlaceholder
    from weasyprint.pdf import tags as weasyprint_tags

    original = weasyprint_tags._build_box_tree
    notes = Notes()
    origins: dict[tuple[int, str], tuple[int, object]] = {}  # keeps the elements alive while ids are used

    def build_box_tree(box, parent, pdf, page_number, nums, annotations, tags):
        if isinstance(box, boxes.PageBox):  # first call of a page: every marked box of the page is in `tags`
            for child, mark in tags.items():
                if isinstance(child, boxes.TextBox):
                    notes.texts[(page_number, mark["mcid"])] = TextNote(child.text, child.style["direction"] == "rtl")
        real = box._box if isinstance(box, AbsolutePlaceholder) else box
        # html, body and page boxes yield their children's elements; margin boxes none.
        own = real.element is not None and real.element_tag not in ("html", "body") \
            and not isinstance(real, (boxes.PageBox, boxes.MarginBox))
        for element in original(box, parent, pdf, page_number, nums, annotations, tags):
            if own:
                key = (id(real.element), real.element_tag)
                number = origins.setdefault(key, (len(origins), real.element))[0]
                attributes = {name: str(real.element.get(name)) for name in NOTED_ATTRIBUTES if real.element.get(name) is not None}
                notes.elements[element.number] = ElementNote((number, real.element_tag), attributes)
            yield element

    weasyprint_tags._build_box_tree = build_box_tree
    try:
        yield notes
    finally:
        weasyprint_tags._build_box_tree = original


# --- the structure tree as lists --------------------------------------------------------------

def set_kids(element, kids: list) -> None:
    element.K = pikepdf.Array(kids)


def mcid_of(kid) -> int | None:
    """The MCID of an integer kid or a marked-content reference."""
    if isinstance(kid, int):
        return kid
    if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
        return int(kid.MCID)
    if isinstance(kid, pikepdf.Object) and not isinstance(kid, (pikepdf.Dictionary, pikepdf.Array)):
        try:
            return int(kid)
        except (TypeError, ValueError):
            return None
    return None


class Tree:
    """The document's structure tree with the notes of its making."""

    def __init__(self, pdf: pikepdf.Pdf, notes: Notes):
        self.pdf = pdf
        self.notes = notes
        self.page_index = {page.obj.objgen: index for index, page in enumerate(pdf.pages)}
        self.root = pdf.Root.StructTreeRoot

    def note(self, element) -> ElementNote | None:
        return self.notes.elements.get(element.objgen[0]) if element.is_indirect else None

    def same_origin(self, a, b) -> bool:
        note_a, note_b = self.note(a), self.note(b)
        return note_a is not None and note_b is not None and note_a.origin == note_b.origin

    def page_of(self, element) -> int | None:
        page = element.get("/Pg")
        return self.page_index.get(page.objgen) if page is not None else None

    def document(self):
        return kids_of(self.root)[0]

    def walk(self, element=None) -> Iterator:
        """Every structure element under `element` (default: the Document), in reading order."""
        element = self.document() if element is None else element
        yield element
        for kid in kids_of(element):
            if is_element(kid):
                yield from self.walk(kid)

    def marked_content(self, element) -> Iterator[tuple[int, int]]:
        """(page index, MCID) of every marked-content sequence under `element`, in order."""
        page = self.page_of(element)
        for kid in kids_of(element):
            if is_element(kid):
                yield from self.marked_content(kid)
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                yield self.page_index[kid.Pg.objgen], int(kid.MCID)
            elif (mcid := mcid_of(kid)) is not None and page is not None:
                yield page, mcid

    def text(self, element, skip: set[str] = frozenset()) -> str:
        """The logical text of `element` (without elements whose type is in `skip`), hyphenation undone."""
        parts: list[str] = []
        self._collect(element, skip, parts)
        text = ""
        for part in parts:
            if text.endswith(INSERTED_HYPHEN):
                text = text[:-1] + part
            else:
                text = f"{text} {part}" if text else part
        return " ".join(text.replace(WORD_JOINER, "").split())

    def _collect(self, element, skip: set[str], parts: list[str]) -> None:
        if str(element.get("/S")) in skip:
            return
        page = self.page_of(element)
        for kid in kids_of(element):
            if is_element(kid):
                self._collect(kid, skip, parts)
                continue
            if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                key = (self.page_index[kid.Pg.objgen], int(kid.MCID))
            elif (mcid := mcid_of(kid)) is not None and page is not None:
                key = (page, mcid)
            else:
                continue
            note = self.notes.texts.get(key)
            if note is not None:
                parts.append(note.text.strip())


# --- repairs ----------------------------------------------------------------------------------

def flatten_anonymous(tree: Tree, element) -> None:
    """An anonymous box tags its element again inside it (`Caption` in `Caption`, a column of a
    multi-column `Div`, the body of a list item twice): keep one element. A list item keeps its
    `LBody`, which WeasyPrint makes this way on purpose. Elements left empty (a bullet drawn as
    an artifact) go."""
    kids = []
    for kid in kids_of(element):
        if is_element(kid):
            flatten_anonymous(tree, kid)
            if element.S != "/LI" and tree.same_origin(kid, element):
                kids.extend(as_references(tree, kid, element))
                continue
            if not kids_of(kid):
                continue
        kids.append(kid)
    set_kids(element, kids)


def merge_continued(tree: Tree, element) -> None:
    """Fragments of one element side by side (a paragraph continued in the next column or on
    the next page, a section over two pages) become one element."""
    kids = []
    for kid in kids_of(element):
        previous = kids[-1] if kids else None
        if is_element(kid) and previous is not None and is_element(previous) and tree.same_origin(previous, kid):
            set_kids(previous, kids_of(previous) + as_references(tree, kid, previous))
            continue
        kids.append(kid)
    set_kids(element, kids)
    for kid in kids:
        if is_element(kid):
            merge_continued(tree, kid)


def as_references(tree: Tree, element, new_parent) -> list:
    """The kids of `element`, with its MCIDs as marked-content references when they move to an
    element of another page."""
    page = element.get("/Pg")
    if page is None or (new_parent.get("/Pg") is not None and new_parent.Pg.objgen == page.objgen):
        return kids_of(element)
    moved = []
    for kid in kids_of(element):
        mcid = None if is_element(kid) or isinstance(kid, pikepdf.Dictionary) else mcid_of(kid)
        moved.append(pikepdf.Dictionary(Type=pikepdf.Name.MCR, Pg=page, MCID=mcid) if mcid is not None else kid)
    return moved


def apply_attributes(tree: Tree, document_language: str) -> None:
    """`data-pdf-tag` renames, `lang` becomes /Lang, `data-pdf-order="first"` moves forward."""
    for element in list(tree.walk()):
        note = tree.note(element)
        if note is None:
            continue
        if "data-pdf-tag" in note.attributes:
            element.S = pikepdf.Name("/" + note.attributes["data-pdf-tag"])
        language = note.attributes.get("lang")
        if language and language != document_language:
            element.Lang = pikepdf.String(language)
    for parent in list(tree.walk()):
        kids = kids_of(parent)
        first = [kid for kid in kids if is_element(kid) and tree.note(kid) and tree.note(kid).attributes.get("data-pdf-order") == "first"]
        if first:
            set_kids(parent, first + [kid for kid in kids if not any(kid.objgen == f.objgen for f in first)])


def place_labels(tree: Tree) -> None:
    """A `Lbl` goes to its list item, before the `LBody` (ISO 32000-1 14.8.4.3.3); outside a
    list, into the heading that follows it."""
    parents: dict[tuple[int, int], object] = {}
    for element in tree.walk():
        for kid in kids_of(element):
            if is_element(kid):
                parents[kid.objgen] = element
    for label in [element for element in tree.walk() if element.S == "/Lbl"]:
        parent = parents[label.objgen]
        if parent.S == "/LI":
            continue
        ancestor = parent
        while ancestor is not None and ancestor.S != "/LI":
            ancestor = parents.get(ancestor.objgen)
        siblings = kids_of(parent)
        index = next(i for i, kid in enumerate(siblings) if is_element(kid) and kid.objgen == label.objgen)
        if ancestor is not None:
            target, position = ancestor, 0
        else:
            following = next((kid for kid in siblings[index + 1:] if is_element(kid)), None)
            if following is None or following.S not in HEADINGS:
                continue
            target, position = following, 0
        set_kids(parent, siblings[:index] + siblings[index + 1:])
        set_kids(target, kids_of(target)[:position] + [label] + kids_of(target)[position:])
        parents[label.objgen] = target


def repair_links(tree: Tree, foreign: Collection[str] = ()) -> None:
    """The annotations of an `<a>` that overlap a larger one of it go (WeasyPrint makes one per
    inline box: four over one divider row); those left (the whole box, or one per line of a
    link that wraps) are the direct kids of its `Link` element, described by the heading the
    link leads to (ISO 14289-1 7.18.5, Matterhorn 28-011, 28-012). A link to a `foreign`
    destination (its target is in another part of the edition: press/join.py) is described by
    its own text until the parts are joined (join.describe_links)."""
    destinations = {name: value for name, value in named_destinations(tree.pdf).items() if name not in foreign}
    for link in [element for element in tree.walk() if element.S == "/Link"]:
        references = []
        collect_object_references(link, references)
        if not references:
            continue
        kept: list = []
        for reference, parent in sorted(references, key=lambda item: -rect_area(item[0].Obj)):
            set_kids(parent, [kid for kid in kids_of(parent) if not (isinstance(kid, pikepdf.Dictionary) and kid.objgen == reference.objgen
                                                                    and kid.get("/Type") == "/OBJR")])
            if any(overlap(other.Obj.Rect, reference.Obj.Rect) for other in kept):
                remove_annotation(tree.pdf, reference.Obj)
            else:
                kept.append(reference)
        kept.sort(key=lambda reference: [item[0].objgen for item in references].index(reference.objgen))
        set_kids(link, kept + kids_of(link))
        description = link_description(tree, kept[0].Obj, destinations) or tree.text(link, {"/Lbl"})
        for reference in kept:
            if description:
                reference.Obj.Contents = pikepdf.String(description)


def collect_object_references(element, found: list) -> None:
    for kid in kids_of(element):
        if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
            found.append((kid, element))
        elif is_element(kid):
            collect_object_references(kid, found)


def rect_area(annotation) -> float:
    x1, y1, x2, y2 = (float(v) for v in annotation.Rect)
    return abs(x2 - x1) * abs(y2 - y1)


def remove_annotation(pdf: pikepdf.Pdf, annotation) -> None:
    for page in pdf.pages:
        annotations = page.obj.get("/Annots")
        if annotations is None:
            continue
        kept = [item for item in annotations if item.objgen != annotation.objgen]
        if len(kept) != len(annotations):
            page.obj.Annots = pikepdf.Array(kept)


def named_destinations(pdf: pikepdf.Pdf) -> dict[str, object]:
    names = pdf.Root.get("/Names")
    if names is None or "/Dests" not in names:
        return {}
    return {str(name): value for name, value in pikepdf.NameTree(names.Dests).items()}


def link_description(tree: Tree, annotation, destinations: dict[str, object]) -> str:
    """The text of the first heading on the page the link leads to, below the destination."""
    destination = annotation.get("/Dest")
    if destination is None:
        return ""
    if not isinstance(destination, pikepdf.Array):
        destination = destinations.get(str(destination))
    return destination_description(tree, destination)


def destination_description(tree: Tree, destination) -> str:
    """The text of the first heading on the page a destination (an array, or a dictionary with
    one under /D) leads to."""
    if isinstance(destination, pikepdf.Dictionary):
        destination = destination.get("/D")
    if destination is None or not len(destination):
        return ""
    page = tree.page_index.get(destination[0].objgen)
    for element in tree.walk():
        if element.S in HEADINGS and any(p == page for p, _ in tree.marked_content(element)):
            return tree.text(element, {"/Lbl"})
    return ""


def destination_descriptions(tree: Tree, foreign: Collection[str]) -> dict[str, str]:
    """How a link to each of the file's own named destinations is described (link_description),
    for the links of other parts of the edition that lead to them (press/join.py)."""
    return {name: destination_description(tree, value) for name, value in named_destinations(tree.pdf).items()
            if name not in foreign}


def figure_boxes(tree: Tree, drawn: dict[tuple[int, int], tuple[float, float, float, float]]) -> None:
    """A Figure's /BBox where its image is drawn, in PDF points from the page's bottom left."""
    for figure in tree.walk():
        if figure.S != "/Figure":
            continue
        boxes = [drawn[key] for key in tree.marked_content(figure) if key in drawn]
        if not boxes:
            continue
        box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        attributes = figure.get("/A")
        if not isinstance(attributes, pikepdf.Dictionary):
            attributes = pikepdf.Dictionary(O=pikepdf.Name.Layout)
            figure.A = attributes
        attributes.BBox = pikepdf.Array([round(v, 3) for v in box])


def rebuild_parent_tree(tree: Tree) -> set[tuple[int, int]]:
    """ParentTree and /P from the tree as it now is; returns the (page, MCID) it reaches."""
    pages: dict[int, dict[int, object]] = {index: {} for index in tree.page_index.values()}
    annotations: dict[int, object] = {}

    def visit(element, parent) -> None:
        element.P = parent
        page = tree.page_of(element)
        for kid in kids_of(element):
            if is_element(kid):
                visit(kid, element)
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
                annotations[int(kid.Obj.StructParent)] = element
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                pages[tree.page_index[kid.Pg.objgen]][int(kid.MCID)] = element
            elif (mcid := mcid_of(kid)) is not None and page is not None:
                pages[page][mcid] = element

    visit(tree.document(), tree.root)
    numbers = pikepdf.Array()
    for index, page in enumerate(tree.pdf.pages):
        key = int(page.obj.get("/StructParents", index))
        mapping = pages[index]
        size = max(mapping, default=-1) + 1
        numbers.append(key)
        numbers.append(tree.pdf.make_indirect(pikepdf.Array([mapping.get(i, None) for i in range(size)])))
    for key in sorted(annotations):
        numbers.append(key)
        numbers.append(annotations[key])
    tree.root.ParentTree = tree.pdf.make_indirect(pikepdf.Dictionary(Nums=numbers))
    tree.root.ParentTreeNextKey = max([int(numbers[i]) for i in range(0, len(numbers), 2)], default=-1) + 1
    return {(index, mcid) for index, mapping in pages.items() for mcid in mapping}


def actual_text(note: TextNote | None) -> str | None:
    """A line that ends with an inserted hyphen reads as a soft hyphen (ISO 32000-1 14.9.4), so
    the word reads whole ("organizations", not "organiza- tions"); None for other text."""
    if note is None or not note.text.endswith(INSERTED_HYPHEN):
        return None
    return note.text[:-1] + SOFT_HYPHEN


def logical_text_of_rtl_spans(tree: Tree) -> None:
    """/ActualText with the logical text on each element that holds right-to-left text boxes:
    their glyphs are drawn, and read by the content stream, in visual order. On the element,
    not in the content: text extractors that read glyphs (pdfium) reorder runs themselves and
    would turn logical /ActualText around."""
    for element in tree.walk():
        kids = kids_of(element)
        if not kids or any(is_element(kid) for kid in kids):
            continue
        notes = [tree.notes.texts.get(key) for key in tree.marked_content(element)]
        if notes and all(note is not None for note in notes) and any(note.rtl for note in notes):
            element.ActualText = pikepdf.String(tree.text(element))


RTL_LETTERS = [(0x0590, 0x08FF), (0xFB1D, 0xFDFF), (0xFE70, 0xFEFF)]
CMAP_ENTRY = re.compile(rb"<([0-9a-fA-F]{4})>\s*<((?:[0-9a-fA-F]{4}){2,})>")  # a bfchar entry: code, letters


def is_rtl_letter(char: str) -> bool:
    return any(low <= ord(char) <= high for low, high in RTL_LETTERS)


def rtl_ligatures(font) -> dict[bytes, str]:
    """Character code → letters, for the glyphs of `font` that stand for two or more
    right-to-left letters (lam-alef), from its ToUnicode map."""
    cmap = font.get("/ToUnicode") if isinstance(font, pikepdf.Dictionary) else None
    if cmap is None:
        return {}
    ligatures = {}
    for code, letters in CMAP_ENTRY.findall(cmap.read_bytes()):
        text = bytes.fromhex(letters.decode()).decode("utf-16-be", "replace")
        if len(text) > 1 and all(is_rtl_letter(char) for char in text):
            ligatures[bytes.fromhex(code.decode())] = text
    return ligatures


def split_ligatures(operands, operator, ligatures: dict[bytes, str]) -> list | None:
    """The show-text instruction with each right-to-left ligature glyph shown on its own, in a
    marked-content sequence whose /ActualText gives its letters (in logical order, as its
    ToUnicode entry). Text extraction reverses a right-to-left run of glyphs letter by letter,
    the letters a ligature glyph maps to included ("اإلنسان" for "الإنسان", pdfium); /ActualText
    is kept whole. None when the instruction shows no such glyph."""
    items = list(operands[0]) if str(operator) == "TJ" else [operands[0]]
    if not any(isinstance(item, pikepdf.String) and any(bytes(item)[i:i + 2] in ligatures for i in range(0, len(bytes(item)), 2))
               for item in items):
        return None
    instructions: list = []
    pending: list = []

    def flush() -> None:
        if pending:
            instructions.append(([pikepdf.Array(pending)], pikepdf.Operator("TJ")))
            pending.clear()

    for item in items:
        if not isinstance(item, pikepdf.String):
            pending.append(item)
            continue
        data = bytes(item)
        run = b""
        for i in range(0, len(data), 2):
            code = data[i:i + 2]
            if code not in ligatures:
                run += code
                continue
            if run:
                pending.append(pikepdf.String(run))
                run = b""
            flush()
            actual = pikepdf.Dictionary(ActualText=pikepdf.String(ligatures[code]))
            instructions.append(([pikepdf.Name.Span, actual], pikepdf.Operator("BDC")))
            instructions.append(([pikepdf.Array([pikepdf.String(code)])], pikepdf.Operator("TJ")))
            instructions.append(([], pikepdf.Operator("EMC")))
        if run:
            pending.append(pikepdf.String(run))
    flush()
    return instructions


def rewrite_content(tree: Tree, tagged: set[tuple[int, int]]) -> dict[tuple[int, int], tuple[float, float, float, float]]:
    """Mark content the tree does not reach as artifacts (page furniture: folios), give text its
    /ActualText where needed; returns where each marked image is drawn."""
    drawn: dict[tuple[int, int], tuple[float, float, float, float]] = {}
    for index, page in enumerate(tree.pdf.pages):
        instructions = []
        changed = False
        ctm: tuple[float, ...] = (1, 0, 0, 1, 0, 0)
        saved: list[tuple[float, ...]] = []
        marks: list[int | None] = []
        resources = page.obj.get("/Resources", {})
        xobjects = resources.get("/XObject", {})
        fonts = {str(name): rtl_ligatures(font) for name, font in resources.get("/Font", {}).items()}
        ligatures: dict[bytes, str] = {}
        for operands, operator in pikepdf.parse_content_stream(page):
            name = str(operator)
            if name == "Tf":
                ligatures = fonts.get(str(operands[0]), {})
            elif name in ("TJ", "Tj") and ligatures and (split := split_ligatures(operands, operator, ligatures)):
                instructions.extend(split)
                changed = True
                continue
            if name == "q":
                saved.append(ctm)
            elif name == "Q":
                ctm = saved.pop() if saved else ctm
            elif name == "cm":
                ctm = multiply(tuple(float(v) for v in operands), ctm)
            elif name == "BMC":
                marks.append(None)
            elif name == "EMC":
                marks.pop() if marks else None
            elif name == "BDC":
                properties = operands[1] if len(operands) > 1 else None
                mcid = int(properties.MCID) if isinstance(properties, pikepdf.Dictionary) and "/MCID" in properties else None
                marks.append(mcid)
                if mcid is not None and (index, mcid) not in tagged:
                    operands = [pikepdf.Name.Artifact, pikepdf.Dictionary(Type=pikepdf.Name.Pagination)]
                    marks[-1] = None
                    changed = True
                elif mcid is not None and (text := actual_text(tree.notes.texts.get((index, mcid)))) is not None:
                    properties = pikepdf.Dictionary(properties)
                    properties.ActualText = pikepdf.String(text)
                    operands = [operands[0], properties]
                    changed = True
            elif name == "Do":
                xobject = xobjects.get(str(operands[0]))
                mcid = next((m for m in reversed(marks) if m is not None), None)
                if xobject is not None and xobject.get("/Subtype") == "/Image" and mcid is not None:
                    corners = [(ctm[0] * x + ctm[2] * y + ctm[4], ctm[1] * x + ctm[3] * y + ctm[5]) for x in (0, 1) for y in (0, 1)]
                    drawn[(index, mcid)] = (min(c[0] for c in corners), min(c[1] for c in corners),
                                            max(c[0] for c in corners), max(c[1] for c in corners))
            instructions.append((operands, operator))
        if changed:
            page.obj.Contents = tree.pdf.make_stream(pikepdf.unparse_content_stream(instructions))
    return drawn


def add_srgb_output_intent(pdf: pikepdf.Pdf) -> None:
    """An sRGB output intent, so the file's DeviceRGB colours are sRGB (WeasyPrint's own copy
    of the ICC profile, pinned with it)."""
    profile = (files("weasyprint.pdf") / "sRGB2014.icc").read_bytes()
    stream = pdf.make_stream(profile)
    stream.N = 3
    intent = pikepdf.Dictionary(Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFA1,
                                OutputConditionIdentifier=pikepdf.String(SRGB_CONDITION),
                                RegistryName=pikepdf.String("http://www.color.org"),
                                Info=pikepdf.String(SRGB_CONDITION), DestOutputProfile=stream)
    pdf.Root.OutputIntents = pikepdf.Array([pdf.make_indirect(intent)])


def repair(path: Path, notes: Notes, foreign: Collection[str] = ()) -> dict[str, str]:
    """Rewrite the tagged PDF at `path` in place from the `notes` of its writing. `foreign`: the
    named destinations that stand in for targets in other parts of the edition (press/join.py).
    Returns how links to each of the file's own destinations are described
    (destination_descriptions)."""
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        tree = Tree(pdf, notes)
        document_language = str(pdf.Root.get("/Lang", ""))
        document = tree.document()
        flatten_anonymous(tree, document)
        merge_continued(tree, document)
        apply_attributes(tree, document_language)
        repair_links(tree, foreign)  # before the labels move: a label inside a link has its own annotation
        place_labels(tree)
        descriptions = destination_descriptions(tree, foreign)
        tagged = rebuild_parent_tree(tree)
        drawn = rewrite_content(tree, tagged)
        figure_boxes(tree, drawn)
        logical_text_of_rtl_spans(tree)
        add_srgb_output_intent(pdf)
        pdf.remove_unreferenced_resources()
        pdf.save(path, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.preserve,
                 deterministic_id=True)
    return descriptions
