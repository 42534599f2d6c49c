"""PDF/UA-1 rules for the screen file, in one place: what veraPDF's PDF/UA-1 rule set and the
Matterhorn protocol's machine checks (and a few checks of our own, named as such) find.

Each rule names its clause and checkpoint in every message, with the page and the object, e.g.
`ISO 14289-1 7.18.5-1 / Matterhorn 28-011: page 6: link annotation 12 0 R is a child of Span,
not Link`. `check(path, ...)` runs them all on a built file; preflight reports the messages.
Rules that read text use pypdfium2's extraction (what a reader's text tools get).
"""

from __future__ import annotations

import ctypes
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pikepdf

from brochure_build.review.pdfinspect import multiply

HEADINGS = {f"/H{n}" for n in range(1, 7)}
LIST_ITEM_KIDS = {"/Lbl", "/LBody"}
SENTENCE_END = ".!?:;…。！？；：؟»«\"”’)"
MIN_RTL_WORDS = 0.99
BBOX_TOLERANCE_PT = 1.0
LETTERS = re.compile(r"[^\W\d_]+")
NUMBER_FIRST = re.compile(r"^\s*\d+[.)]?(\s|$)")


@dataclass(frozen=True)
class Rule:
    clause: str  # ISO 14289-1 (PDF/UA-1) or ISO 32000-1 (PDF 1.7) clause, veraPDF's rule number where it has one
    checkpoint: str  # Matterhorn protocol 1.1 failure condition, or "" for a check of our own

    @property
    def label(self) -> str:
        return f"{self.clause} / Matterhorn {self.checkpoint}" if self.checkpoint else self.clause


LINK_IN_LINK = Rule("ISO 14289-1 7.18.5-1", "28-011")
LINK_CONTENTS = Rule("ISO 14289-1 7.18.5-2", "28-012")
LINK_ONCE = Rule("ISO 32000-1 14.8.4.4.2 (one link per target area)", "")
OUTSIDE_TREE = Rule("ISO 14289-1 7.1-3", "01-005")
FIGURE_BBOX = Rule("ISO 14289-1 7.3 / ISO 32000-1 14.8.5.4.3 (BBox)", "")
NESTING = Rule("ISO 32000-1 14.8.4 Table 333 (Caption)", "09-002")
EMPTY = Rule("ISO 32000-1 14.7.2 (structure element without content)", "")
LIST_STRUCTURE = Rule("ISO 32000-1 14.8.4.3.3 Table 336 (Lbl, LBody)", "09-005")
SPLIT_PARAGRAPH = Rule("ISO 14289-1 7.1 (logical structure, one P per paragraph)", "09-001")
HYPHEN_TEXT = Rule("ISO 14289-1 7.2 / ISO 32000-1 14.9.4 (ActualText of inserted hyphens)", "")
RTL_ORDER = Rule("ISO 14289-1 7.2 (text in logical order)", "10-001")
BOOKMARKS = Rule("ISO 14289-1 7.17 (bookmarks follow the headings)", "")
OUTPUT_INTENT = Rule("ISO 32000-1 14.11.5 (sRGB output intent for DeviceRGB)", "")


def kids_of(element) -> list:
    kids = element.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids]


def is_element(value) -> bool:
    return isinstance(value, pikepdf.Dictionary) and "/S" in value


def ref(obj) -> str:
    return f"{obj.objgen[0]} {obj.objgen[1]} R" if obj.is_indirect else "a direct object"


def kind(element) -> str:
    return str(element.get("/S", "?")).lstrip("/")


def mcid_kid(kid) -> int | None:
    if isinstance(kid, pikepdf.Dictionary):
        return int(kid.MCID) if kid.get("/Type") == "/MCR" else None
    try:
        return int(kid)
    except (TypeError, ValueError):
        return None


class Reading:
    """A screen file opened once for every rule: its pages, tree and text."""

    def __init__(self, path: Path):
        self.path = path
        self.pdf = pikepdf.open(path)
        self.page_number = {page.obj.objgen: number for number, page in enumerate(self.pdf.pages, 1)}
        root = self.pdf.Root.get("/StructTreeRoot")
        self.tree_root = root
        self.parents: dict[tuple[int, int], object] = {}
        self.elements: list = []
        if root is not None:
            for kid in kids_of(root):
                if is_element(kid):
                    self._walk(kid, root)
        self.reached = {element.objgen for element in self.elements}
        self._texts: list[str] | None = None

    def _walk(self, element, parent) -> None:
        self.elements.append(element)
        self.parents[element.objgen] = parent
        for kid in kids_of(element):
            if is_element(kid):
                self._walk(kid, element)

    def page_of(self, element) -> int | None:
        page = element.get("/Pg")
        return self.page_number.get(page.objgen) if page is not None else None

    def parent_tree(self) -> dict[int, object]:
        """ParentTree number → value (an array of elements by MCID for a page, an element for an annotation)."""
        numbers: dict[int, object] = {}
        if self.tree_root is None or "/ParentTree" not in self.tree_root:
            return numbers
        stack = [self.tree_root.ParentTree]
        while stack:
            node = stack.pop()
            nums = node.get("/Nums")
            if nums is not None:
                for i in range(0, len(nums) - 1, 2):
                    numbers[int(nums[i])] = nums[i + 1]
            stack.extend(node.get("/Kids", []))
        return numbers

    def marked_content(self, element) -> Iterator[tuple[int, int]]:
        page = self.page_of(element)
        for kid in kids_of(element):
            if is_element(kid):
                yield from self.marked_content(kid)
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                yield self.page_number[kid.Pg.objgen], int(kid.MCID)
            elif (mcid := mcid_kid(kid)) is not None and page is not None:
                yield page, mcid

    def page_texts(self) -> list[str]:
        """Each page's text as pdfium extracts it."""
        if self._texts is None:
            import pypdfium2

            document = pypdfium2.PdfDocument(self.path)
            try:
                self._texts = [page.get_textpage().get_text_range() for page in document]
            finally:
                document.close()
        return self._texts

    def content_marks(self) -> Iterator[tuple[int, str, object, tuple[float, ...], str]]:
        """(page, operator, operands, ctm, innermost mark) over every page's content."""
        for number, page in enumerate(self.pdf.pages, 1):
            ctm: tuple[float, ...] = (1, 0, 0, 1, 0, 0)
            saved: list[tuple[float, ...]] = []
            for operands, operator in pikepdf.parse_content_stream(page, "q Q cm BDC BMC EMC Do"):
                name = str(operator)
                if name == "q":
                    saved.append(ctm)
                elif name == "Q":
                    ctm = saved.pop() if saved else ctm
                elif name == "cm":
                    ctm = multiply(tuple(float(v) for v in operands), ctm)
                yield number, name, operands, ctm, page

    def close(self) -> None:
        self.pdf.close()


# --- the rules --------------------------------------------------------------------------------

def link_annotations(reading: Reading) -> Iterator[tuple[int, object]]:
    for number, page in enumerate(reading.pdf.pages, 1):
        for annotation in page.obj.get("/Annots", []):
            if annotation.get("/Subtype") == "/Link":
                yield number, annotation


def check_links(reading: Reading) -> Iterator[str]:
    numbers = reading.parent_tree()
    seen: dict[tuple[int, str], list] = {}
    for page, annotation in link_annotations(reading):
        key = annotation.get("/StructParent")
        parent = numbers.get(int(key)) if key is not None else None
        if parent is None:
            yield f"{LINK_IN_LINK.label}: page {page}: link annotation {ref(annotation)} is not in the structure tree"
        elif parent.get("/S") != "/Link":
            yield f"{LINK_IN_LINK.label}: page {page}: link annotation {ref(annotation)} is a child of {kind(parent)}, not Link"
        contents = str(annotation.get("/Contents", "")).strip()
        destination = str(annotation.get("/Dest", "")) if not isinstance(annotation.get("/Dest"), pikepdf.Array) else ""
        if not contents:
            yield f"{LINK_CONTENTS.label}: page {page}: link annotation {ref(annotation)} has no /Contents (a description of the link)"
        elif contents == destination or " " not in contents and contents.isascii() and "-" in contents:
            yield (f"{LINK_CONTENTS.label}: page {page}: link annotation {ref(annotation)} has /Contents {contents!r}, "
                   "an id, not a description")
        target = destination or str(annotation.get("/A", {}).get("/URI", ""))
        seen.setdefault((page, target), []).append(annotation)
    for (page, target), group in seen.items():
        for a, b in zip(group, group[1:], strict=False):
            if overlap(a.Rect, b.Rect):
                yield (f"{LINK_ONCE.label}: page {page}: link annotations {ref(a)} and {ref(b)} to {target or 'one target'} overlap: "
                       "one annotation per link, or a screen reader announces it twice")


def overlap(a, b, tolerance: float = 0.5) -> bool:
    """Whether two PDF rectangles (corners in any order) share more than a `tolerance` margin."""
    ax1, ax2 = sorted((float(a[0]), float(a[2])))
    ay1, ay2 = sorted((float(a[1]), float(a[3])))
    bx1, bx2 = sorted((float(b[0]), float(b[2])))
    by1, by2 = sorted((float(b[1]), float(b[3])))
    return min(ax2, bx2) - max(ax1, bx1) > tolerance and min(ay2, by2) - max(ay1, by1) > tolerance


def check_tree_reach(reading: Reading) -> Iterator[str]:
    """Marked content whose element the Document does not reach is tagged for nobody: it must be
    in the tree, or an artifact."""
    numbers = reading.parent_tree()
    for number, page in enumerate(reading.pdf.pages, 1):
        key = page.obj.get("/StructParents")
        mapping = numbers.get(int(key)) if key is not None else None
        if not isinstance(mapping, pikepdf.Array):
            continue
        for mcid, element in enumerate(mapping):
            if is_element(element) and element.objgen not in reading.reached:
                yield (f"{OUTSIDE_TREE.label}: page {number}: MCID {mcid} is tagged {kind(element)} {ref(element)}, "
                       "which the Document's /K does not reach: put it in the tree, or mark it as an artifact")


def drawn_images(reading: Reading) -> dict[tuple[int, int], tuple[float, float, float, float]]:
    drawn = {}
    marks: dict[int, list[int | None]] = {}
    for number, name, operands, ctm, page in reading.content_marks():
        stack = marks.setdefault(number, [])
        if name == "BMC":
            stack.append(None)
        elif name == "BDC":
            properties = operands[1] if len(operands) > 1 else None
            stack.append(int(properties.MCID) if isinstance(properties, pikepdf.Dictionary) and "/MCID" in properties else None)
        elif name == "EMC" and stack:
            stack.pop()
        elif name == "Do":
            xobject = page.obj.get("/Resources", {}).get("/XObject", {}).get(str(operands[0]))
            mcid = next((m for m in reversed(stack) if m is not None), None)
            if xobject is not None and xobject.get("/Subtype") == "/Image" and mcid is not None:
                xs = [ctm[0] * x + ctm[2] * y + ctm[4] for x in (0, 1) for y in (0, 1)]
                ys = [ctm[1] * x + ctm[3] * y + ctm[5] for x in (0, 1) for y in (0, 1)]
                drawn[(number, mcid)] = (min(xs), min(ys), max(xs), max(ys))
    return drawn


def check_figures(reading: Reading) -> Iterator[str]:
    drawn = drawn_images(reading)
    for figure in reading.elements:
        if figure.get("/S") != "/Figure":
            continue
        page = reading.page_of(figure)
        images = [drawn[key] for key in reading.marked_content(figure) if key in drawn]
        attributes = figure.get("/A")
        box = attributes.get("/BBox") if isinstance(attributes, pikepdf.Dictionary) else None
        if box is None:
            yield f"{FIGURE_BBOX.label}: page {page}: Figure {ref(figure)} has no /BBox"
            continue
        if not images:
            continue
        expected = (min(b[0] for b in images), min(b[1] for b in images), max(b[2] for b in images), max(b[3] for b in images))
        actual = [float(v) for v in box]
        if any(abs(a - e) > BBOX_TOLERANCE_PT for a, e in zip(actual, expected, strict=True)):
            yield (f"{FIGURE_BBOX.label}: page {page}: Figure {ref(figure)} /BBox [{' '.join(f'{v:.1f}' for v in actual)}] "
                   f"is not where its image is drawn [{' '.join(f'{v:.1f}' for v in expected)}] (PDF points from the bottom left)")


def check_nesting(reading: Reading) -> Iterator[str]:
    for element in reading.elements:
        page = reading.page_of(element)
        parent = reading.parents.get(element.objgen)
        if element.get("/S") == "/Caption" and parent is not None and parent.get("/S") == "/Caption":
            yield f"{NESTING.label}: page {page}: Caption {ref(element)} is nested in Caption {ref(parent)}"
        if not kids_of(element):
            yield f"{EMPTY.label}: page {page}: {kind(element)} {ref(element)} is empty"
        if element.get("/S") == "/LI":
            kinds = [str(kid.get("/S")) for kid in kids_of(element) if is_element(kid)]
            if "/LBody" not in kinds or any(k not in LIST_ITEM_KIDS for k in kinds):
                held = ", ".join(k.lstrip("/") for k in kinds) or "nothing"
                yield f"{LIST_STRUCTURE.label}: page {page}: LI {ref(element)} holds {held}, not Lbl and LBody"
            elif "/Lbl" not in kinds:
                body = next(kid for kid in kids_of(element) if is_element(kid) and kid.get("/S") == "/LBody")
                text = element_text(reading, body)
                if NUMBER_FIRST.match(text):
                    yield (f"{LIST_STRUCTURE.label}: page {page}: LI {ref(element)} starts with its number "
                           f"({text.split()[0]!r}) in the LBody: put the number in a Lbl")


def element_text(reading: Reading, element) -> str:
    """The text of an element's first page as pdfium reads it, cut to the element's marked content.

    Marked content is located through pdfium's text of the page: cheap and good enough for the
    first characters of an element (what the list rule looks at)."""
    texts = []
    for page, mcid in reading.marked_content(element):
        text = mark_text(reading, page, mcid)
        if text:
            texts.append(text)
    return " ".join(texts)


def mark_text(reading: Reading, page: int, mcid: int) -> str:
    """The /ActualText or the Unicode text of one marked-content sequence (pdfium's reading)."""
    cache = getattr(reading, "_marks", None)
    if cache is None:
        cache = reading._marks = marked_texts(reading.path)
    return cache.get((page, mcid), "")


def marked_texts(path: Path) -> dict[tuple[int, int], str]:
    """(page, MCID) → the Unicode text of the text objects marked with it (pdfium's reading)."""
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    texts: dict[tuple[int, int], list[str]] = {}
    document = pypdfium2.PdfDocument(path)
    try:
        for number, page in enumerate(document, 1):
            textpage = page.get_textpage()
            for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_TEXT,), max_depth=1):
                count = pdfium_c.FPDFPageObj_CountMarks(obj.raw)
                mcid = None
                for index in range(count):
                    mark = pdfium_c.FPDFPageObj_GetMark(obj.raw, index)
                    out = ctypes.c_int()
                    if pdfium_c.FPDFPageObjMark_GetParamIntValue(mark, b"MCID", ctypes.byref(out)):
                        mcid = out.value
                if mcid is None:
                    continue
                size = pdfium_c.FPDFTextObj_GetText(obj.raw, textpage.raw, None, 0)
                buffer = (ctypes.c_ushort * (size // 2 + 1))()
                pdfium_c.FPDFTextObj_GetText(obj.raw, textpage.raw, buffer, size)
                texts.setdefault((number, mcid), []).append(bytes(buffer)[:size].decode("utf-16-le", "replace").rstrip("\0"))
    finally:
        document.close()
    return {key: "".join(parts) for key, parts in texts.items()}


def check_paragraphs(reading: Reading) -> Iterator[str]:
    """A P that ends mid-sentence followed by a P: one paragraph tagged as two (a column break)."""
    paragraphs = [element for element in reading.elements if element.get("/S") == "/P"]
    for first, second in zip(paragraphs, paragraphs[1:], strict=False):
        if reading.parents.get(first.objgen) is None:
            continue
        last = last_text(reading, first).rstrip()
        if last and last[-1] not in SENTENCE_END and (last[-1].isalpha() or last[-1] in "\u2010\u00ad-"):
            yield (f"{SPLIT_PARAGRAPH.label}: page {reading.page_of(first)}: P {ref(first)} ends mid-sentence "
                   f"({last[-20:]!r}) and P {ref(second)} goes on: one paragraph tagged as two")


def last_text(reading: Reading, element) -> str:
    """The text an element ends with: the /ActualText of its last element that has text (the
    logical text of a right-to-left line), or its last marked content's text."""
    if "/ActualText" in element:
        return str(element.ActualText)
    page = reading.page_of(element)
    for kid in reversed(kids_of(element)):
        if is_element(kid):
            text = last_text(reading, kid)
        elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
            text = mark_text(reading, reading.page_number[kid.Pg.objgen], int(kid.MCID))
        else:
            mcid = mcid_kid(kid)
            text = mark_text(reading, page, mcid) if mcid is not None and page is not None else ""
        if text.strip():
            return text
    return ""


def check_hyphens(reading: Reading) -> Iterator[str]:
    for number, text in enumerate(reading.page_texts(), 1):
        for match in re.finditer(r"(\w+)\u2010\r?\n(\w+)", text):
            yield (f"{HYPHEN_TEXT.label}: page {number}: {match[1]}\u2010 / {match[2]}: a hyphen inserted at a line end is "
                   "read as text (no /ActualText), the word does not read whole")


class BodyText(HTMLParser):
    """The text an HTML file prints: its body's character data (no attributes, no head)."""

    def __init__(self) -> None:
        super().__init__()
        self.in_body = False
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        self.in_body = self.in_body or tag == "body"

    def handle_data(self, data: str) -> None:
        if self.in_body:
            self.parts.append(data)


def rtl_words_of_html(html: str) -> list[str]:
    """The right-to-left words (Hebrew, Arabic … letters) that an HTML file prints."""
    parser = BodyText()
    parser.feed(html)
    return [word for word in words(" ".join(parser.parts)) if any(is_rtl(char) for char in word)]


def is_rtl(char: str) -> bool:
    return unicodedata.bidirectional(char) in ("R", "AL")


def words(text: str) -> list[str]:
    """Runs of letters: a word as a reader's tools see it (digits and punctuation apart)."""
    return LETTERS.findall(text.replace("\ufffe\r\n", "").replace("\ufffe", "").replace("\u00ad", ""))


def check_rtl_words(reading: Reading, source_words: list[str]) -> Iterator[str]:
    """The share of the source's words that extract as written (RTL: in logical order, with
    ligatures mapped to their letters in order)."""
    if not source_words:
        return
    found = Counter(words("\n".join(reading.page_texts())))
    missing = []
    for word in source_words:
        if found[word] > 0:
            found[word] -= 1
        else:
            missing.append(word)
    share = 1 - len(missing) / len(source_words)
    if share < MIN_RTL_WORDS:
        examples = ", ".join(dict.fromkeys(missing[:8]))
        yield (f"{RTL_ORDER.label}: {share:.1%} of the source's {len(source_words)} right-to-left words extract as written "
               f"(at least {MIN_RTL_WORDS:.0%} needed); missing, e.g.: {examples}")


def check_bookmarks(reading: Reading) -> Iterator[str]:
    """Top-level bookmarks go to the pages of the top headings (H1, H2), in their order."""
    headings = [(reading.page_of(element), element) for element in reading.elements if element.get("/S") in ("/H1", "/H2")]
    marks = []
    with reading.pdf.open_outline() as outline:
        for item in outline.root:
            page = None
            destination = item.destination
            if isinstance(destination, (str, pikepdf.String)):
                destination = named_destination(reading.pdf, str(destination))
            if isinstance(destination, pikepdf.Array) and len(destination):
                page = reading.page_number.get(destination[0].objgen)
            marks.append((page, item.title))
    heading_pages = [page for page, _ in headings]
    mark_pages = [page for page, _ in marks]
    if heading_pages != mark_pages:
        for index, ((page, title), expected) in enumerate(zip(marks, heading_pages + [None] * len(marks), strict=False), 1):
            if page != expected:
                yield (f"{BOOKMARKS.label}: bookmark {index} {title[:40]!r} goes to page {page}, "
                       f"the heading {index} is on page {expected}")
                break
        if len(marks) != len(headings):
            yield f"{BOOKMARKS.label}: {len(marks)} bookmarks for {len(headings)} top headings (H1, H2)"


def named_destination(pdf: pikepdf.Pdf, name: str):
    names = pdf.Root.get("/Names")
    if names is None or "/Dests" not in names:
        return None
    value = pikepdf.NameTree(names.Dests).get(name)
    return value.get("/D") if isinstance(value, pikepdf.Dictionary) else value


def check_output_intent(reading: Reading) -> Iterator[str]:
    for intent in reading.pdf.Root.get("/OutputIntents", []):
        profile = intent.get("/DestOutputProfile")
        if profile is not None and int(profile.get("/N", 0)) == 3:
            return
    yield f"{OUTPUT_INTENT.label}: no RGB output intent: the DeviceRGB colours have no profile (sRGB expected)"


RULES: tuple[Callable[[Reading], Iterator[str]], ...] = (
    check_links, check_tree_reach, check_figures, check_nesting, check_paragraphs, check_hyphens,
    check_bookmarks, check_output_intent)


def check(path: Path, rtl_source_words: list[str] | None = None) -> list[str]:
    """Every rule's messages for the screen file at `path`; `rtl_source_words`: the words of a
    right-to-left edition's source text, for the extraction rule."""
    reading = Reading(path)
    try:
        messages = [message for rule in RULES for message in rule(reading)]
        if rtl_source_words:
            messages += list(check_rtl_words(reading, rtl_source_words))
    finally:
        reading.close()
    return messages
