"""The fonts tokhai prints with.

- Results and letters are set in a serif with the metrics of Times New Roman, the face Decree
  30/2020/NĐ-CP prescribes (Annex I: "Times New Roman, bộ mã Unicode TCVN 6909:2001"): Tokhai
  Serif, regular, bold, italic and bold italic, derived from Liberation Serif 2.1.5 (metric-
  compatible with Times New Roman) as Debian's ``fonts-liberation2`` package ships it. The
  files beside this module are cut down to the letters Vietnamese documents use and renamed,
  as the SIL Open Font License asks of a modified version (Liberation is a reserved font
  name); the licence is in ``OFL-Tokhai-Serif.txt``. Regenerate them with
  ``python -m service.fonts serif`` (needs ``apt-get install fonts-liberation2``).
- Seal images are drawn with Noto Sans (``fontpkg-noto-sans`` dependency, OFL 1.1, no reserved
  name), a static regular and bold instance cut down the same way
  (``python -m service.fonts noto``).

Nothing is read from the host at run time: the cut-down files are package data. A full font
costs tens of milliseconds of subsetting for every PDF written; these cost a few.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REGULAR = HERE / "NotoSans-Vietnamese-Regular.ttf"
BOLD = HERE / "NotoSans-Vietnamese-Bold.ttf"

#: fpdf2 style -> the serif results are set in ("" regular, "B" bold, "I" italic, "BI")
SERIF = {style: HERE / f"TokhaiSerif-{name}.ttf" for style, name in (
    ("", "Regular"), ("B", "Bold"), ("I", "Italic"), ("BI", "BoldItalic"))}
SERIF_FAMILY = "Tokhai Serif"
#: where Debian's fonts-liberation2 installs the source of the serif
LIBERATION_DIR = Path("/usr/share/fonts/truetype/liberation2")

#: Basic Latin, Latin-1, the Vietnamese letters outside it (Ă Đ Ĩ Ũ Ơ Ư and the whole Latin
#: Extended Additional block of precomposed letters), the five tone marks for text that is
#: not NFC, and the punctuation and currency signs documents use
UNICODES = [*range(0x20, 0x7F), *range(0xA0, 0x180), 0x1A0, 0x1A1, 0x1AF, 0x1B0,
            0x300, 0x301, 0x303, 0x309, 0x323, *range(0x1EA0, 0x1F00), 0x2013, 0x2014, 0x2018,
            0x2019, 0x201C, 0x201D, 0x2022, 0x2026, 0x20AB, 0x2116]


def _subset_options() -> Any:
    from fontTools import subset

    options = subset.Options()
    # no hinting and no layout tables: text is NFC, so every letter is one glyph,
    # and the smaller font is what makes writing each PDF cheap
    options.layout_features = []
    options.hinting = False
    options.name_IDs = ["*"]
    options.notdef_outline = True
    return options


def derive() -> None:
    """The Noto Sans instances the seals are drawn with."""
    import fontpkg_noto_sans
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    source = fontpkg_noto_sans.ROOT / "files" / "NotoSans[wdth,wght].ttf"
    for weight, target in ((400, REGULAR), (700, BOLD)):
        font = instancer.instantiateVariableFont(TTFont(str(source)),
                                                 {"wght": weight, "wdth": 100})
        subsetter = subset.Subsetter(_subset_options())
        subsetter.populate(unicodes=UNICODES)
        subsetter.subset(font)
        font.save(str(target))


def derive_serif(source_dir: Path = LIBERATION_DIR) -> None:
    """Tokhai Serif from Liberation Serif: subset to Vietnamese, renamed (the OFL reserves
    the name Liberation for the original), the copyright and licence kept."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    for target in SERIF.values():
        weight = target.stem.split("-", 1)[1]
        font = TTFont(str(source_dir / f"LiberationSerif-{weight}.ttf"))
        version = font["name"].getDebugName(5) or ""
        subsetter = subset.Subsetter(_subset_options())
        subsetter.populate(unicodes=UNICODES)
        subsetter.subset(font)
        names = font["name"]
        sub_family = {"Regular": "Regular", "Bold": "Bold", "Italic": "Italic",
                      "BoldItalic": "Bold Italic"}[weight]
        postscript = f"TokhaiSerif-{weight}"
        for record in list(names.names):
            if record.nameID in (1, 3, 4, 6, 16, 17, 18, 21, 22):
                names.removeNames(nameID=record.nameID)
        for name_id, text in (
                (1, SERIF_FAMILY), (2, sub_family),
                (3, f"{postscript}; derived from Liberation Serif {version}"),
                (4, f"{SERIF_FAMILY} {sub_family}"), (6, postscript),
                (10, "Derived by tokhai from Liberation Serif (metric-compatible with Times "
                     "New Roman): subset to Latin and Vietnamese and renamed, as the SIL Open "
                     "Font License 1.1 requires of a modified version.")):
            names.setName(text, name_id, 3, 1, 0x409)
            names.setName(text, name_id, 1, 0, 0)
        font.save(str(target))
