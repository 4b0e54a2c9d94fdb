"""Every text of the pages goes through the catalog, and the catalogs are complete."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2 import Environment

from tests.helpers import ROOT

TEMPLATES = ROOT / "templates"
TRANSLATIONS = ROOT / "fedipanel" / "translations"
# Names, not words: the same in every language.
NAMES = ("FediPanel", "Garage")
# Attributes whose value a person reads (screen readers read aria-label and title).
READ_ATTRIBUTES = ("title", "aria-label", "alt")
# Placeholders that are sample values, not sentences, carry no spaces; these few have one.
SAMPLE_PLACEHOLDERS = {"NixOS 25.11", "ssh-ed25519 AAAA..."}
MARK = "\x00"  # where a Jinja expression or tag stood


def _templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def _outside_the_catalog(source: str) -> str:
    """Return the template's literal HTML with expressions and {% trans %} blocks blanked.

    Lines are kept where they were, so a finding names its line.
    """
    out: list[str] = []
    line, in_trans, expect_tag = 1, False, False
    # Only lexed, never rendered: autoescaping does not apply.
    for lineno, kind, value in Environment(autoescape=True).lex(source):
        if lineno > line:
            out.append("\n" * (lineno - line))
            line = lineno
        if kind == "block_begin":
            expect_tag = True  # blocks steer, they show nothing; they may sit inside a tag
        elif kind == "name" and expect_tag:
            in_trans = {"trans": True, "endtrans": False}.get(value, in_trans)
            expect_tag = False
        elif kind in ("variable_begin",):
            out.append(MARK)
        elif kind == "data":
            out.append(re.sub(r"[^\n]", " ", value) if in_trans else value)
            line += value.count("\n")
    return "".join(out)


class _TextFinder(HTMLParser):
    """Collect (line, text) of every text node and read attribute outside code samples."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self.in_code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("code", "pre"):
            self.in_code += 1
        for name, value in attrs:
            if value and (
                name in READ_ATTRIBUTES
                or (name == "placeholder" and " " in value and value not in SAMPLE_PLACEHOLDERS)
            ):
                self._check(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("code", "pre") and self.in_code:
            self.in_code -= 1

    def handle_data(self, data: str) -> None:
        if not self.in_code:
            self._check(data)

    def _check(self, text: str) -> None:
        for name in NAMES:
            text = text.replace(name, "")
        if re.search(r"[^\W\d_]", text):
            self.found.append((self.getpos()[0], " ".join(text.replace(MARK, "…").split())))


def untranslated_text(path: Path, root: Path = TEMPLATES) -> list[str]:
    """Return "file:line: text" for each text of `path` outside _() and {% trans %}."""
    finder = _TextFinder()
    finder.feed(_outside_the_catalog(path.read_text()))
    name = path.relative_to(root)
    return [f"{name}:{line}: {text}" for line, text in finder.found]


@pytest.mark.parametrize(
    "path",
    _templates(),
    ids=lambda p: str(p.relative_to(TEMPLATES)),
)
def test_template_text_goes_through_the_catalog(path: Path) -> None:
    assert untranslated_text(path) == []


def test_the_check_finds_text_outside_the_catalog(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        '<h1>{{ _("Fine") }}</h1>\n<p>{% trans %}Also fine{% endtrans %}</p>\n'
        '<p title="A tip">{{ n }} used</p>\n<code>flask run</code> FediPanel\n'
    )
    assert untranslated_text(page, tmp_path) == ["page.html:3: A tip", "page.html:3: … used"]


def _msgids(path: Path) -> set[str]:
    with path.open("rb") as handle:
        return {str(m.id) for m in read_po(handle) if m.id}


def test_the_catalog_holds_exactly_the_texts_of_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
         "-k", "N_", "-k", "lazy_gettext", "--no-location", "-o", str(fresh),
         "fedipanel", "jobs", "templates"],
        cwd=ROOT, check=True,
    )  # fmt: skip
    expected = _msgids(fresh)
    assert _msgids(TRANSLATIONS / "messages.pot") == expected, "run `make translations`"
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        assert _msgids(po) == expected, f"{po}: run `make translations` and translate"


@pytest.mark.parametrize("po", sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")))
def test_every_text_is_translated_with_the_same_placeholders(po: Path) -> None:
    with po.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(forms), f"{po.parent.parent.name}: no translation of {message.id!r}"
        assert not message.fuzzy, f"fuzzy: {message.id!r}"
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        expected = {tuple(sorted(re.findall(r"%\(\w+\)[sd]", str(text)))) for text in ids}
        for form in forms:
            found = tuple(sorted(re.findall(r"%\(\w+\)[sd]", str(form))))
            assert found in expected, f"placeholders differ: {message.id!r}"
