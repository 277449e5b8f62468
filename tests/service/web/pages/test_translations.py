"""The areas' English catalogues agree with each other: one Vietnamese string, one English
translation (Flask-Babel merges the catalogues, so a second translation would be silently
lost, and the page would read the other area's words)."""

from __future__ import annotations

from service.web.pages import i18n


def test_no_string_is_translated_two_ways() -> None:
    assert i18n.conflicts() == {}


def test_a_conflict_is_found(tmp_path, monkeypatch) -> None:
    """The check itself: two areas giving one string different English are reported."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    for area, english in (("a", "Procedure"), ("b", "Administrative procedures")):
        po = tmp_path / "i18n" / area / "en" / "LC_MESSAGES" / "messages.po"
        po.parent.mkdir(parents=True)
        catalogue = Catalog(locale="en")
        catalogue.add("Thủ tục hành chính", english)
        with po.open("wb") as f:
            write_po(f, catalogue)
    monkeypatch.setattr(i18n, "HERE", tmp_path)
    assert i18n.conflicts() == {"Thủ tục hành chính": {
        "a": "Procedure", "b": "Administrative procedures"}}
