"""What one command keeps for the next in build/.cache, so that `make` after an edit does not
start from nothing three times: file digests (kept by size, times and inode) and content files
as last loaded. A kept value is used only while its file is unchanged; a project never built
gets no build/ from it; and a preflight with nothing new to check reads no PDF."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from brochure_build import digests
from brochure_build.source import yamlsource
from brochure_build.source.yamlsource import load_yaml


@pytest.fixture()
def fresh_digests(monkeypatch):
    """The module's state as a new process has it; restored after the test."""
    monkeypatch.setattr(digests, "_file_digests", {})
    monkeypatch.setattr(digests, "_store", None)
    monkeypatch.setattr(digests, "_learned", False)
    monkeypatch.setattr(digests.atexit, "register", lambda function: None)  # this process's end is not the test's


def next_command(monkeypatch, store: Path) -> None:
    monkeypatch.setattr(digests, "_file_digests", {})
    monkeypatch.setattr(digests, "_learned", False)
    digests.remember_in(store)


def test_a_file_digest_is_kept_for_the_next_command_until_the_file_changes(tmp_path, monkeypatch, fresh_digests):
    monkeypatch.setattr(digests, "RACY_SECONDS", 0)  # the file was written by the test a moment ago
    store = tmp_path / "build/.cache/digests.json"
    store.parent.mkdir(parents=True)
    font = tmp_path / "font.otf"
    font.write_bytes(b"glyphs" * 1000)
    digests.remember_in(store)
    assert digests.file_digest(font) == hashlib.sha256(b"glyphs" * 1000).digest()
    digests.save()
    assert str(font) in store.read_text()

    next_command(monkeypatch, store)
    with monkeypatch.context() as reading:
        reading.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self} read again"))
        assert digests.file_digest(font) == hashlib.sha256(b"glyphs" * 1000).digest()

    # The same size, its old modification time put back: the inode's change time still tells.
    stat = font.stat()
    time.sleep(0.01)
    font.write_bytes(b"GLYPHS" * 1000)
    os.utime(font, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    next_command(monkeypatch, store)
    assert digests.file_digest(font) == hashlib.sha256(b"GLYPHS" * 1000).digest()


def test_a_file_written_a_moment_ago_is_hashed_again_and_not_kept(tmp_path, monkeypatch, fresh_digests):
    store = tmp_path / "build/.cache/digests.json"
    store.parent.mkdir(parents=True)
    layout = tmp_path / "page.css"
    layout.write_text("body { color: red }")
    digests.remember_in(store)
    digests.file_digest(layout)
    digests.save()
    assert not store.exists()  # learned nothing: the file may change again within the clock's tick
    layout.write_text("body { color: tan }")  # same size, perhaps the same time
    assert digests.file_digest(layout) == hashlib.sha256(b"body { color: tan }").digest()


def test_a_project_never_built_gets_no_build_folder(tmp_path, monkeypatch, fresh_digests):
    monkeypatch.setattr(digests, "RACY_SECONDS", 0)
    font = tmp_path / "font.otf"
    font.write_bytes(b"glyphs")
    digests.remember_in(tmp_path / "build/.cache/digests.json")
    digests.file_digest(font)
    digests.save()
    assert not (tmp_path / "build").exists()


TEXT = "title: A\ntitle: B\nbody:\n  - one\n  - two\n"


def test_a_content_file_is_parsed_once_and_kept_for_the_next_command(tmp_path, monkeypatch):
    monkeypatch.setattr(yamlsource, "_memo", {})
    monkeypatch.setattr(yamlsource, "_store", None)
    (tmp_path / "build/.cache").mkdir(parents=True)
    yamlsource.remember_in(tmp_path / "build/.cache/yaml")
    parsed = []
    compose = yamlsource.yaml.compose
    monkeypatch.setattr(yamlsource.yaml, "compose", lambda *args, **kwargs: parsed.append(1) or compose(*args, **kwargs))
    text = tmp_path / "en.yaml"
    text.write_text(TEXT, encoding="utf-8")

    problems: list = []
    first = load_yaml(text, "brochure/text/en.yaml", problems)
    assert [(p.line, p.key) for p in problems] == [(2, "title")] and "duplicate key" in problems[0].message
    assert first.data == {"title": "A", "body": ["one", "two"]} and first.line("body[1]") == 5
    first.data["body"].append("three")  # a caller changing what it was given changes no later load

    again_problems: list = []
    again = load_yaml(text, "brochure/text/en.yaml", again_problems)  # the same process
    assert (again.data, again.lines, again_problems) == ({"title": "A", "body": ["one", "two"]}, first.lines, problems)
    monkeypatch.setattr(yamlsource, "_memo", {})  # the next command: only build/.cache/yaml
    kept_problems: list = []
    kept = load_yaml(text, "brochure/text/en.yaml", kept_problems)
    assert (kept.data, kept.lines, kept_problems) == (again.data, first.lines, problems)
    assert len(parsed) == 1

    text.write_text(TEXT.replace("one", "uno"), encoding="utf-8")
    changed = load_yaml(text, "brochure/text/en.yaml", [])
    assert changed.data["body"] == ["uno", "two"] and len(parsed) == 2


def test_a_preflight_with_nothing_new_to_check_reads_no_pdf(built_project):
    probe = ("import sys; from brochure_build.cli import main; status = main(['preflight', '--root', sys.argv[1]]); "
             "print(status, [name for name in ('pypdf', 'pikepdf', 'fontTools.ttLib') if name in sys.modules], file=sys.stderr)")
    runs = [subprocess.run([sys.executable, "-c", probe, str(built_project)], capture_output=True, text=True)
            for _ in range(2)]
    assert runs[0].stderr.splitlines()[-1].startswith("0 "), runs[0].stderr
    assert runs[1].stderr.splitlines()[-1] == "0 []", runs[1].stderr
    assert runs[1].stdout == runs[0].stdout  # the same table, from what the first run kept


def test_a_split_build_checks_its_files_for_the_preflight_that_follows(project):
    """An edition built as two jobs (build.build_jobs: a core to spare for each) checks each
    group of its files as it writes them (filechecks.keep_checks) and draws the screen file's
    page thumbnails: the preflight that follows reads no PDF, and says what a preflight that
    checks the files itself says."""
    import shutil

    from brochure_build.build import build

    build(project, ["en"], jobs=4)  # the brochure's and the leaflet's en editions, each as two jobs
    # The screen jobs wrote their files' page thumbnails for the report, stamped with the file's hash.
    for name, pdf in (("preflight", "luxembourg-hrc-2022-2024-en-screen.pdf"),
                      ("preflight-luxembourg-hrc-2022-2024-leaflet", "luxembourg-hrc-2022-2024-leaflet-en-screen.pdf")):
        folder = project / "build" / name / "en"
        assert (folder / ".source").read_text() == hashlib.sha256((project / "build/en" / pdf).read_bytes()).hexdigest()
        assert len(list(folder.glob("page-*.png"))) == (12 if name == "preflight" else 4)
    probe = ("import sys; from brochure_build.cli import main; "
             "status = main(['preflight', '--lang', 'en', '--root', sys.argv[1]]); "
             "print(status, [name for name in ('pypdf', 'pikepdf', 'fontTools.ttLib') if name in sys.modules], file=sys.stderr)")
    kept = subprocess.run([sys.executable, "-c", probe, str(project)], capture_output=True, text=True)
    assert kept.stderr.splitlines()[-1] == "0 []", kept.stderr
    reports = [(project / "build" / name).read_text() for name in ("preflight.json", "preflight-luxembourg-hrc-2022-2024-leaflet.json")]
    shutil.rmtree(project / "build/.cache/preflight")
    checked = subprocess.run([sys.executable, "-c", probe, str(project)], capture_output=True, text=True)
    assert checked.stderr.splitlines()[-1] == "0 ['pypdf', 'pikepdf', 'fontTools.ttLib']", checked.stderr
    assert kept.stdout == checked.stdout and "Preflight passed" in kept.stdout
    assert reports == [(project / "build" / name).read_text()
                       for name in ("preflight.json", "preflight-luxembourg-hrc-2022-2024-leaflet.json")]


def aged_entries(folder: Path, count: int, size: int = 100) -> list[Path]:
    """`count` cache entries, the first the most recently used, an hour apart."""
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    paths = []
    for number in range(count):
        path = folder / f"{number:032d}.json"
        path.write_text("x" * size)
        os.utime(path, (now - 3600 * (number + 1),) * 2)
        paths.append(path)
    return paths


def test_preflights_caches_keep_their_most_recently_used_entries(project, monkeypatch):
    """Each edit adds entries to preflight's caches (results, the build's group checks, each page's
    bleed finding): preflight removes the least recently used beyond MAX_CACHE_ENTRIES per
    folder; reading an entry marks it used."""
    from brochure_build.output import touch
    from brochure_build.review import preflight

    folders = [project / folder for folder in (preflight.CACHE_DIR, preflight.GROUP_CACHE_DIR, preflight.BLEED_CACHE_DIR)]
    entries = [aged_entries(folder, 30) for folder in folders]
    touch(entries[0][-1])  # the oldest result, read again
    monkeypatch.setattr(preflight, "MAX_CACHE_ENTRIES", 10)
    preflight.preflight(project, ["en"])  # nothing built: every edition fails, and the caches are pruned all the same
    assert sorted(path for path in folders[0].glob("*.json")) == sorted([*entries[0][:9], entries[0][-1]])
    for folder, paths in zip(folders[1:], entries[1:], strict=True):
        assert sorted(folder.glob("*.json")) == sorted(paths[:10])


def test_the_font_subset_cache_keeps_its_most_recently_used_within_its_size(tmp_path):
    from brochure_build.render import fontsubsets

    paths = aged_entries(tmp_path, 10, size=1000)
    fontsubsets.prune(tmp_path, max_bytes=4500)
    assert sorted(tmp_path.iterdir()) == paths[:4]


def test_a_hyphenation_dictionary_is_parsed_once_per_project(tmp_path, monkeypatch):
    """render/hyphenation.py: the first process to hyphenate a language keeps Pyphen's parsed
    dictionary in build/.cache/hyphenation/; the next ones read it back instead of parsing the
    .dic file, and hyphenate every word alike. A dictionary with nonstandard hyphenation
    (Hungarian: `ssz=sz`) is parsed as before."""
    import pyphen

    from brochure_build.render import hyphenation

    words = ["international", "responsibilities", "discrimination", "multilateralism", "Luxembourg"]
    parsed = pyphen.HyphDict(pyphen.LANGUAGES[pyphen.language_fallback("en")])
    monkeypatch.setattr(pyphen, "hdcache", {})
    hyphenation.kept_dictionaries(tmp_path)
    first = pyphen.Pyphen(lang="en")
    assert len(list((tmp_path / hyphenation.CACHE_DIR).glob("hyph_en*.json"))) == 1

    monkeypatch.setattr(pyphen, "hdcache", {})  # a new process: nothing parsed yet
    hyphenation.kept_dictionaries(tmp_path)

    def no_parsing(self, path):
        raise AssertionError(f"{path} parsed again")

    parse = pyphen.HyphDict.__init__
    monkeypatch.setattr(pyphen.HyphDict, "__init__", no_parsing)
    again = pyphen.Pyphen(lang="en")
    assert again.hd is not first.hd
    assert again.hd.patterns == parsed.patterns and again.hd.maxlen == parsed.maxlen
    assert [again.hd.positions(word) for word in words] == [parsed.positions(word) for word in words]
    assert [again.inserted(word) for word in words] == [first.inserted(word) for word in words]
    with pytest.raises(AssertionError, match="parsed again"):
        pyphen.Pyphen(lang="hu")  # not kept: parsed
    monkeypatch.setattr(pyphen.HyphDict, "__init__", parse)
    assert pyphen.Pyphen(lang="hu").hd.patterns
    assert not list((tmp_path / hyphenation.CACHE_DIR).glob("hyph_hu*.json"))
