"""The fonts tokhai prints with: Noto Sans, cut down to Latin and Vietnamese.

The files beside this module are derived from the variable Noto Sans of the
``fontpkg-noto-sans`` dependency (SIL Open Font License 1.1): a static regular and a bold
instance, subset to the letters Vietnamese documents use. A full variable font costs some
80 ms of subsetting for every PDF written; these cost a few. Regenerate them with
``python -m service.fonts`` after upgrading the dependency.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
REGULAR = HERE / "NotoSans-Vietnamese-Regular.ttf"
BOLD = HERE / "NotoSans-Vietnamese-Bold.ttf"

#: Basic Latin, Latin-1, the Vietnamese letters outside it (Ă Đ Ĩ Ũ Ơ Ư and the whole Latin
#: Extended Additional block of precomposed letters), the five tone marks for text that is
#: not NFC, and the punctuation and currency signs documents use
UNICODES = [*range(0x20, 0x7F), *range(0xA0, 0x180), 0x1A0, 0x1A1, 0x1AF, 0x1B0,
            0x300, 0x301, 0x303, 0x309, 0x323, *range(0x1EA0, 0x1F00), 0x2013, 0x2014, 0x2018,
            0x2019, 0x201C, 0x201D, 0x2022, 0x2026, 0x20AB, 0x2116]


def derive() -> None:
    import fontpkg_noto_sans
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    source = fontpkg_noto_sans.ROOT / "files" / "NotoSans[wdth,wght].ttf"
    for weight, target in ((400, REGULAR), (700, BOLD)):
        font = instancer.instantiateVariableFont(TTFont(str(source)),
                                                 {"wght": weight, "wdth": 100})
        options = subset.Options()
        # no hinting and no layout tables: text is NFC, so every letter is one glyph,
        # and the smaller font is what makes writing each PDF cheap
        options.layout_features = []
        options.hinting = False
        options.name_IDs = ["*"]
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=UNICODES)
        subsetter.subset(font)
        font.save(str(target))

