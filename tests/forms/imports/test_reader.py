"""forms.imports.reader: a printed form's PDF read into lines and tables, and every kind of
input it refuses. The PDFs are generated here (fpdf2, Pillow, by hand)."""

from __future__ import annotations

import io
import time
import unicodedata
import zlib
from pathlib import Path
from typing import Any

import pytest
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from forms.imports import reader
from forms.imports.reader import ImportRefused, Layout, Limits, read_pdf

FONTS = Path(__file__).resolve().parents[3] / "service" / "fonts"


def _box_font(path: Path) -> Path:
    """A font with only box glyphs (□ ☐ ○): the Vietnamese fonts have none."""
    def shape(circle: bool) -> object:
        pen = TTGlyphPen(None)
        points = ([(450, 0), (750, 100), (850, 350), (750, 600), (450, 700), (150, 600),
                   (50, 350), (150, 100)] if circle else
                  [(100, 0), (100, 700), (800, 700), (800, 0)])
        pen.moveTo(points[0])
        for point in points[1:]:
            pen.lineTo(point)
        pen.closePath()
        return pen.glyph()

    names = [".notdef", "space", "box", "ballot", "circle"]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({32: "space", 0x25A1: "box", 0x2610: "ballot", 0x25CB: "circle"})
    builder.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "space": TTGlyphPen(None).glyph(),
                       "box": shape(False), "ballot": shape(False), "circle": shape(True)})
    builder.setupHorizontalMetrics({name: (900, 0) for name in names})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Boxes", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=800, usWinAscent=800, usWinDescent=200)
    builder.setupPost()
    builder.save(str(path))
    return path


def _pdf(tmp_path: Path) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.add_font("serif", "", str(FONTS / "TokhaiSerif-Regular.ttf"))
    pdf.add_font("serif", "B", str(FONTS / "TokhaiSerif-Bold.ttf"))
    pdf.add_font("boxes", "", str(_box_font(tmp_path / "boxes.ttf")))
    pdf.set_fallback_fonts(["boxes"])
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("serif", size=12)
    return pdf


def _text(pdf: FPDF, y: float, text: str, *, x: float = 20, bold: bool = False,
          size: float = 12) -> None:
    pdf.set_font("serif", "B" if bold else "", size)
    pdf.set_xy(x, y)
    pdf.cell(text=text)


def _form(tmp_path: Path) -> bytes:
    """One page with what printed forms print."""
    pdf = _pdf(tmp_path)
    _text(pdf, 15, "TỜ KHAI ĐĂNG KÝ GIÁM HỘ", x=60, bold=True, size=14)
    _text(pdf, 30, "I. THÔNG TIN NGƯỜI YÊU CẦU", bold=True)
    _text(pdf, 40, "1. Họ, chữ đệm, tên người yêu cầu: " + "." * 40)
    _text(pdf, 50, "2. Ngày, tháng, năm sinh: " + "…" * 8 + " Giới tính: " + "_" * 10
          + " Dân tộc: " + ". . . . . . .")
    _text(pdf, 60, "3. Giới tính: Nam □ Nữ ○ Khác ☐")
    _text(pdf, 70, "4. Có giấy tờ tùy thân:")
    pdf.rect(75, 70, 3.5, 3.5)  # drawn boxes, after the label and after "Không"
    _text(pdf, 70, "Không", x=82)
    pdf.ellipse(97, 70, 3.5, 3.5)
    _text(pdf, 80, "5. Nơi cư trú")
    pdf.set_font("serif", "", 12)
    pdf.set_xy(47, 80)
    pdf.char_vpos = "SUP"
    pdf.cell(text="(2)")
    pdf.char_vpos = "LINE"
    _text(pdf, 80, ": " + "." * 30, x=53)
    _text(pdf, 90, "II. NHỮNG THÀNH VIÊN CÙNG THAY ĐỔI", bold=True)
    pdf.set_xy(20, 100)
    pdf.set_font("serif", "", 11)
    with pdf.table(width=170, col_widths=(15, 95, 60)) as table:
        for cells in (("STT", "Họ, chữ đệm, tên", "Quan hệ với chủ hộ"), ("1", "", ""),
                      ("2", "", "." * 20)):
            row = table.row()
            for cell in cells:
                row.cell(cell)
    _text(pdf, 140, "Tôi cam đoan những nội dung khai trên đây là đúng sự thật.")
    _text(pdf, 270, "(2) Ghi theo nơi thường trú; nếu không có thì ghi nơi tạm trú.", size=8)
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def form(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    return read_pdf(_form(tmp_path_factory.mktemp("form")))


def _line(layout: Layout, start: str) -> reader.Line:
    found = [line for line in layout.lines if line.text.startswith(start)]
    assert found, [line.text for line in layout.lines]
    return found[0]


def test_title_and_section_headings_are_bold_lines(form: Layout) -> None:
    title = _line(form, "TỜ KHAI")
    assert title.text == "TỜ KHAI ĐĂNG KÝ GIÁM HỘ" and title.bold and title.page == 1
    assert title.spans[0].size == pytest.approx(14, abs=0.5)
    assert _line(form, "I. THÔNG TIN").bold and _line(form, "II. NHỮNG").bold
    assert not _line(form, "1. Họ").bold


def test_dot_leaders_and_underscores_become_one_ellipsis(form: Layout) -> None:
    assert _line(form, "1. Họ").text == "1. Họ, chữ đệm, tên người yêu cầu: …"
    assert (_line(form, "2. Ngày").text
            == "2. Ngày, tháng, năm sinh: … Giới tính: … Dân tộc: …")


def test_box_glyphs_become_one_box(form: Layout) -> None:
    assert _line(form, "3. Giới tính").text == "3. Giới tính: Nam ☐ Nữ ☐ Khác ☐"


def test_drawn_squares_and_circles_become_boxes_in_place(form: Layout) -> None:
    line = _line(form, "4. Có")
    assert line.text == "4. Có giấy tờ tùy thân: ☐ Không ☐"
    assert line.spans[-1].x1 == pytest.approx((97 + 3.5) * 72 / 25.4, abs=1)  # the circle


def test_a_raised_footnote_mark_stays_on_its_line_and_the_footnote_is_small(
        form: Layout) -> None:
    assert _line(form, "5. Nơi cư trú").text.replace(" ", "") == "5.Nơicưtrú(2):…"
    footnote = _line(form, "(2) Ghi theo")
    assert footnote.spans[0].size < 9 and footnote is form.lines[-1]


def test_ruled_table_is_a_table_and_its_text_is_not_in_the_lines(form: Layout) -> None:
    [table] = form.tables
    assert table.rows == (("STT", "Họ, chữ đệm, tên", "Quan hệ với chủ hộ"), ("1", "", ""),
                          ("2", "", "…"))
    assert table.page == 1
    assert not [line for line in form.lines if "STT" in line.text or "Quan hệ" in line.text]
    heading, after = _line(form, "II. NHỮNG"), _line(form, "Tôi cam đoan")
    assert heading.bottom <= table.top < after.top


def test_lines_are_in_reading_order(form: Layout) -> None:
    tops = [line.top for line in form.lines]
    assert tops == sorted(tops)
    assert [line.text[:2] for line in form.lines[:3]] == ["TỜ", "I.", "1."]
    assert form.pages == 1 and not form.from_ocr


def test_several_fields_far_apart_on_a_line_are_separate_spans(tmp_path: Path) -> None:
    pdf = _pdf(tmp_path)
    _text(pdf, 20, "Số điện thoại:")
    _text(pdf, 20, "Thư điện tử:", x=120)
    line = read_pdf(bytes(pdf.output())).lines[0]
    assert [span.text for span in line.spans] == ["Số điện thoại:", "Thư điện tử:"]
    assert line.spans[1].x0 == pytest.approx(120 * 72 / 25.4, abs=3)


def test_text_is_nfc(tmp_path: Path) -> None:
    pdf = _pdf(tmp_path)
    # decomposed as some writers print them: a letter, then its mark (the font has these marks)
    _text(pdf, 20, "Ho\u0323 va\u0300 tên người khai, nơi cư tru\u0301")
    text = read_pdf(bytes(pdf.output())).lines[0].text
    assert text == "Họ và tên người khai, nơi cư trú" and unicodedata.is_normalized("NFC", text)


# -- OCR --------------------------------------------------------------------------------------

def _scan(text_lines: list[str]) -> bytes:
    """An image-only PDF (no text layer) of the lines, as a scanner makes."""
    image = Image.new("L", (2480, 1200), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONTS / "TokhaiSerif-Regular.ttf"), 60)
    for index, text in enumerate(text_lines):
        draw.text((200, 200 + 150 * index), text, font=font, fill=0)
    out = io.BytesIO()
    image.save(out, format="PDF", resolution=300)
    return out.getvalue()


SCANNED = ["TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ", "Họ, chữ đệm và tên người khai",
           "Số điện thoại liên hệ của người khai"]


def test_a_scan_is_read_by_ocr() -> None:
    layout = read_pdf(_scan(SCANNED))
    assert layout.from_ocr and layout.pages == 1
    texts = [line.text for line in layout.lines]
    assert texts == SCANNED
    assert all(not span.bold for line in layout.lines for span in line.spans)
    assert layout.lines[1].top == pytest.approx(350 * 72 / 300, abs=8)


def test_a_scan_without_ocr_has_no_text() -> None:
    with pytest.raises(ImportRefused) as refused:
        read_pdf(_scan(SCANNED), limits=Limits(ocr=False))
    assert refused.value.code == "no_text"


def test_ocr_words_grouped_by_tesseract_lines() -> None:
    tsv = ("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight"
           "\tconf\ttext\n"
           "5\t1\t1\t1\t1\t1\t300\t600\t120\t40\t90\tNơi\n"
           "5\t1\t1\t1\t1\t2\t440\t600\t100\t40\t90\tở:\n"
           "5\t1\t1\t1\t1\t3\t560\t600\t400\t40\t90\t............\n"
           "5\t1\t1\t1\t2\t1\t300\t300\t160\t40\t90\tTên\n"
           "4\t1\t1\t1\t2\t0\t300\t300\t160\t40\t-1\t\n")
    lines = reader._ocr_lines(2, tsv, 72 / 300)
    assert [line.text for line in lines] == ["Tên", "Nơi ở: …"]
    assert lines[0].page == 2 and lines[0].top == pytest.approx(72)



def _tsv(*lines: list[tuple[str, int]]) -> str:
    """Tesseract TSV of the given lines of (word, confidence)."""
    rows = ["level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth"
            "\theight\tconf\ttext"]
    for n, words in enumerate(lines, start=1):
        left = 100
        for k, (word, conf) in enumerate(words, start=1):
            width = 30 * len(word)
            rows.append(f"5\t1\t1\t1\t{n}\t{k}\t{left}\t{100 * n}\t{width}\t40\t{conf}\t{word}")
            left += width + 20
    return "\n".join(rows) + "\n"


def test_ocr_leader_debris_becomes_one_leader() -> None:
    # what Tesseract made of dot leaders on a scanned form (words and confidences as read)
    tsv = _tsv(
        [("Họ,", 96), ("chữ", 96), ("đệm,", 96), ("tên", 64), ("người", 91), ("yêu", 96),
         ("cầu:", 95), ("sào", 10), ("_—", 31), ("đườnnngen", 0), ("“..", 20), ("¬.", 9)],
        [("Ngày,", 96), ("tháng,", 96), ("năm", 96), ("sinh:", 95), ("_", 29), ("Giới", 96),
         ("tính):", 4), ("sgeszsosv", 17), ("|", 53)],
        [("Quốc", 93), ("tịch(2):", 90), (".", 90), ("kuiDd6-;&gkgöcji", 0), ("Xã", 64),
         ("xui", 0), (".gaaxã36", 0)],
        [("_", 14), ("Nơi", 94), ("cư", 87), ("trÚ(2):...........ccc.c", 0), ("S221", 0)],
        [("'Giấy", 59), ("tờ", 89), ("tùy", 89), ("thân(3)", 78), ("So.", 1), ("1.1.1,", 27),
         ("111...", 42), ("mm.", 27)],
        [("Người", 69), ("yêu", 76), ("cầu", 96), ("-", 36), ("|", 62), ("c4", 45)],
        [("ngày..", 90), (".", 90), ("tháng...", 90), (".", 91), ("năm", 93)],
        [("..:...-", 3), ("-‹", 0), ("--+-", 0), ("<<<<s<<>+*+", 0)],
    )
    assert [line.text for line in reader._ocr_lines(1, tsv, 72 / 300)] == [
        "Họ, chữ đệm, tên người yêu cầu: …",
        "Ngày, tháng, năm sinh: … Giới tính: …",
        "Quốc tịch(2): …",
        "Nơi cư trú(2): …",
        "Giấy tờ tùy thân(3) …",
        "Người yêu cầu",
        "ngày … tháng … năm",
        "…",
    ]


def test_tesseract_runs_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def run(args: list[str], **kwargs: Any) -> Any:
        seen.update(kwargs)
        raise OSError("no tesseract here")

    monkeypatch.setattr(reader.subprocess, "run", run)
    with pytest.raises(ImportRefused):
        read_pdf(_scan(SCANNED))
    assert seen["env"]["OMP_THREAD_LIMIT"] == "1"

# -- what is refused --------------------------------------------------------------------------

def _refusal(data: bytes, limits: Limits = Limits()) -> ImportRefused:  # noqa: B008
    with pytest.raises(ImportRefused) as refused:
        read_pdf(data, limits=limits)
    error = refused.value
    assert error.message and error.message_en and error.message != error.message_en
    return error


def _simple(tmp_path: Path, pages: int = 1) -> bytes:
    pdf = _pdf(tmp_path)
    _text(pdf, 20, "Họ, chữ đệm, tên: ……")
    for _ in range(pages - 1):
        pdf.add_page()
        _text(pdf, 20, "Nơi cư trú: ……")
    return bytes(pdf.output())


def test_not_a_pdf() -> None:
    assert _refusal("Họ và tên: ……\n".encode()).code == "not_pdf"


def test_a_truncated_pdf_is_damaged(tmp_path: Path) -> None:
    data = _simple(tmp_path)
    assert _refusal(data[: len(data) // 2]).code == "damaged"
    # without its end the parsers would read the file backwards, then scan all of it
    assert _refusal(data.replace(b"%%EOF", b"")).code == "damaged"


def test_a_pdf_whose_objects_are_garbage_is_damaged() -> None:
    assert _refusal(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\n"
                    b"trailer\n<< /Root 1 0 R >>\nstartxref\n0\n%%EOF\n").code == "damaged"


@pytest.mark.parametrize("user_password", ["mat-khau", ""])
def test_encrypted_pdfs_are_refused(tmp_path: Path, user_password: str) -> None:
    pdf = _pdf(tmp_path)
    _text(pdf, 20, "Họ, chữ đệm, tên: ……")
    pdf.set_encryption(owner_password="chu-so-huu", user_password=user_password)
    assert _refusal(bytes(pdf.output())).code == "encrypted"


def test_too_large(tmp_path: Path) -> None:
    data = _simple(tmp_path)
    assert _refusal(data, Limits(max_bytes=len(data) - 1)).code == "too_large"
    assert read_pdf(data, limits=Limits(max_bytes=len(data))).lines


def test_too_many_pages_is_refused_before_any_page_is_parsed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _simple(tmp_path, pages=3)
    assert len(read_pdf(data, limits=Limits(max_pages=3)).lines) == 3
    import pdfplumber

    def parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(pdfplumber, "open", parse)
    assert _refusal(data, Limits(max_pages=2)).code == "too_many_pages"


def _pdf_with_content(content: bytes, *, flate: bool = True) -> bytes:
    """A one-page PDF written by hand with this content stream."""
    stream = zlib.compress(content, 9) if flate else content
    filters = b"/Filter /FlateDecode " if flate else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< " + filters + b"/Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


TEXT = b"BT /F1 12 Tf 50 800 Td (Employer name and address) Tj ET\n"


def test_a_compression_bomb_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _pdf_with_content(b" " * (3 * 1024 * 1024) + TEXT)
    assert len(data) < 10_000
    import pypdfium2  # type: ignore[import-untyped]

    def parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(pypdfium2, "PdfDocument", parse)
    assert _refusal(data, Limits(max_stream_bytes=2 * 1024 * 1024)).code == "bomb"
    assert _refusal(data, Limits(max_inflated_bytes=2 * 1024 * 1024)).code == "bomb"


def test_the_bomb_guard_counts_every_stream_of_the_file() -> None:
    data = _pdf_with_content(b" " * (600 * 1024) + TEXT)
    # one stream of 600 KiB passes a cap of 1 MiB per stream, not of 1 MiB in all when the
    # file holds two such streams
    limits = Limits(max_stream_bytes=1024 * 1024, max_inflated_bytes=1024 * 1024)
    assert _refusal(data, limits).code == "not_vietnamese"  # read through, then judged
    extra = b"9 0 obj\n<< /Filter /FlateDecode >>\nstream\n" + zlib.compress(
        b" " * (600 * 1024)) + b"\nendstream\nendobj\n"
    doubled = data[:9] + extra + data[9:]
    assert _refusal(doubled, limits).code == "bomb"


def test_a_form_in_another_language_is_refused() -> None:
    error = _refusal(_pdf_with_content(TEXT, flate=False))
    assert error.code == "not_vietnamese"


def test_a_pdf_without_pages_is_empty() -> None:
    data = _pdf_with_content(TEXT).replace(b"/Kids [3 0 R] /Count 1", b"/Kids [] /Count 0     ")
    data = data.replace(b"/Type /Page /Parent", b"/Type /Void /Parent")  # no stray page either
    assert _refusal(data).code == "empty"


def test_a_page_without_text_or_image_has_no_text() -> None:
    assert _refusal(_pdf_with_content(b"0 0 m 100 100 l S\n")).code == "no_text"


def test_the_reading_has_a_deadline(tmp_path: Path) -> None:
    assert _refusal(_simple(tmp_path), Limits(max_seconds=0)).code == "too_slow"


def test_the_deadline_holds_while_a_page_is_interpreted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = _pdf(tmp_path)
    for row in range(40):
        _text(pdf, 10 + 6 * row, "Họ, chữ đệm, tên người khai: ……", size=9)
    data = bytes(pdf.output())
    # time runs out once the page's content is being interpreted, not before
    monkeypatch.setattr(reader._Deadline, "check", lambda self: None)
    monkeypatch.setattr(reader._Deadline, "left", lambda self: -1.0)
    assert _refusal(data).code == "too_slow"


def test_a_page_with_too_many_objects_is_refused(tmp_path: Path) -> None:
    pdf = _pdf(tmp_path)
    _text(pdf, 20, "Họ, chữ đệm, tên người khai: ……")
    data = bytes(pdf.output())
    assert _refusal(data, Limits(max_page_objects=10)).code == "too_slow"
    assert read_pdf(data, limits=Limits(max_page_objects=100)).lines


def test_vietnamese_is_told_from_other_languages() -> None:
    assert reader.is_vietnamese("Họ, chữ đệm, tên người yêu cầu")
    assert not reader.is_vietnamese("Nom, prénom et adresse du déclarant à l'étranger")
    assert not reader.is_vietnamese("Full name and date of birth")


def test_a_word_drawn_in_two_fonts_stays_one_word(tmp_path: Path) -> None:
    """Chromium prints a letter its font lacks (Ộ, ư, ọ) in a fallback font, in the middle of
    a word: the word is one word, whatever the fonts its letters are drawn in."""
    pdf = _pdf(tmp_path)
    pdf.add_font("fallback", "", str(FONTS / "NotoSans-Vietnamese-Regular.ttf"))
    pdf.add_font("fallback", "B", str(FONTS / "NotoSans-Vietnamese-Bold.ttf"))
    pdf.add_font("other", "", str(FONTS / "TokhaiSerif-Regular.ttf"))  # same TTF, new name
    pdf.c_margin = 0

    def word(parts: list[tuple[str, str, str]], y: float, x: float = 20) -> float:
        pdf.set_xy(x, y)
        for family, style, text in parts:
            pdf.set_font(family, style, 12)
            pdf.cell(text=text)  # each cell starts where the last ended: no gap
        return pdf.get_x()

    x = word([("serif", "", "C"), ("fallback", "", "ộ"), ("serif", "", "ng")], 20)
    word([("serif", "", "hòa")], 20, x + 3)
    x = word([("serif", "", "H"), ("other", "", "ọ")], 30)
    x = word([("serif", "", " và tên: "), ("serif", "", "……")], 30, x)
    # a word is bold when most of its letters are (a fallback font may have no bold face)
    word([("serif", "B", "CH"), ("fallback", "", "Ủ"), ("serif", "B", " NGHĨA")], 40)
    layout = read_pdf(bytes(pdf.output()))
    texts = [line.text for line in layout.lines]
    assert texts == ["Cộng hòa", "Họ và tên: …", "CHỦ NGHĨA"], texts
    assert layout.lines[2].bold and not layout.lines[1].bold
    assert [len(line.spans) for line in layout.lines] == [1, 1, 1]


@pytest.fixture(scope="module")
def zeros() -> bytes:
    """300 MB of zeros, deflated (about 300 KB), built piece by piece."""
    deflater = zlib.compressobj(9)
    piece = b"\0" * (1024 * 1024)
    out = [deflater.compress(piece) for _ in range(286)]
    return b"".join(out) + deflater.flush()


def _bomb(zeros: bytes, trick: str) -> bytes:
    """A one-page PDF whose content stream is ``zeros``, its filter hidden by ``trick``."""
    content = {
        # the filter is an indirect object
        "indirect": b"<< /Filter 6 0 R /Length %d >>\nstream\n",
        # "stream" ends with CR alone
        "cr": b"<< /Filter /FlateDecode /Length %d >>\nstream\r",
        # a dictionary longer than the window the guard looked back in
        "long": b"<< /Filter /FlateDecode /Length %d /Pad [" + b" 0" * 4000 + b"] >>\nstream\n",
        # a /Filter inside a nested dictionary before the stream's own
        "decoy": b"<< /DecodeParms << /Filter /DCTDecode >> /Filter /FlateDecode /Length %d >>"
                 b"\nstream\n",
        # a name with a #xx escape
        "escaped": b"<< /Filter /Flat#65Decode /Length %d >>\nstream\n",
        # the bytes "endstream" early in the data (a stored block), /Length telling the rest
        "endstream": b"<< /Filter /FlateDecode /Length %d >>\nstream\n",
    }[trick] % len(zeros)
    data = zeros
    if trick == "endstream":
        # a zlib stream: header, a stored block holding "endstream", then the deflated zeros
        raw = zlib.compressobj(9, zlib.DEFLATED, -15)
        body = raw.compress(b"\0" * (286 * 1024 * 1024)) + raw.flush()
        stored = b"\x00" + (9).to_bytes(2, "little") + (0xFFFF ^ 9).to_bytes(2, "little")
        data = b"\x78\xda" + stored + b"endstream" + body + b"\0\0\0\0"
        content = content.replace(b"%d" % len(zeros), b"%d" % len(data))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        content + data + b"\nendstream",
        b"<< >>",
        b"/FlateDecode",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


@pytest.mark.parametrize("trick", ["indirect", "cr", "long", "decoy", "escaped", "endstream"])
def test_a_bomb_whose_filter_is_hidden_is_refused_before_parsing(
        zeros: bytes, trick: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import pypdfium2

    def parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(pypdfium2, "PdfDocument", parse)
    data = _bomb(zeros, trick)
    started = time.monotonic()
    assert _refusal(data).code == "bomb"
    assert time.monotonic() - started < 5


def test_running_out_of_memory_while_a_page_is_read_is_a_bomb(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pdfminer.pdfinterp import PDFPageInterpreter

    def process_page(*args: object) -> None:
        raise MemoryError

    monkeypatch.setattr(PDFPageInterpreter, "process_page", process_page)
    assert _refusal(_simple(tmp_path)).code == "bomb"
