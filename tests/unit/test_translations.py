"""Every Vietnamese message has its English translation, and the compiled catalogue is current."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "idp/translations/en/LC_MESSAGES"
KEYWORDS = {
    "_": None, "gettext": None, "_l": None, "lazy_gettext": None, "N_": None,
    "pgettext": ((1, "c"), 2), "NC_": ((1, "c"), 2),
}
METHODS = [("idp/**.py", "python"), ("templates/**.html", "jinja2")]


def messages_in_sources() -> set[tuple[str | None, str]]:
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS, options_map={"templates/**.html": {}}
    ):
        found.add((context, message if isinstance(message, str) else message[0]))
    return found


def test_every_message_in_the_code_and_templates_has_an_english_translation():
    with open(CATALOGUE / "messages.po", "rb") as f:
        catalogue = read_po(f)
    translated = {(m.context, m.id) for m in catalogue if m.id and m.string and not m.fuzzy}

    missing = sorted(msg for _ctx, msg in messages_in_sources() - translated)

    assert not missing, "no English for: " + "; ".join(missing) + " (add it to messages.po)"


def test_the_compiled_catalogue_matches_the_po_file():
    with open(CATALOGUE / "messages.po", "rb") as f:
        expected = BytesIO()
        write_mo(expected, read_po(f))
    with open(CATALOGUE / "messages.mo", "rb") as f:
        compiled = read_mo(f)
    expected.seek(0)

    assert {(m.context, m.id): m.string for m in compiled if m.id} == {
        (m.context, m.id): m.string for m in read_mo(expected) if m.id
    }, "messages.mo is stale: run `make translations`"
