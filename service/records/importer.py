"""Importing records from CSV or JSON Lines.

Rows are read one at a time and written in batches, so memory stays bounded whatever the size
of the file (only the set of subjects already seen is kept, to report duplicates). Every row is
checked against the register's vocabulary; a bad row is rejected with its line number and the
reasons, and the good rows are still imported. Re-running an import updates records, never
duplicates them.

CSV: a header row naming register fields; an address field is spread over
``FIELD.province``, ``FIELD.commune`` and ``FIELD.detail`` columns, a place over
``FIELD.kind`` (``current``, the default, ``abroad`` or ``former``) and the parts of its kind
(``province``/``commune``/``detail``, ``country``/``detail``, ``text``); UTF-8 (a byte-order mark is
allowed). JSON Lines: one object per line with the same field names, addresses and places as
objects.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from forms import registers
from forms.records import RecordInvalid, check_subject, normalise_record, subject_field
from storage import records as store
from storage.db import prefer_custom_plans

BATCH = 1000
MAX_LINE_BYTES = 64 * 1024
MAX_REPORTED = 1000  # rejected rows listed in the report; the count is always complete


@dataclass
class ImportReport:
    register: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, line: int, reasons: list[str]) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_REPORTED:
            self.rejections.append({"line": line, "reasons": reasons})


class ImportError_(Exception):  # noqa: N801 - not the builtin ImportError
    """The file as a whole cannot be imported (encoding, header)."""


def _columns(register: str) -> set[str]:
    out: set[str] = set()
    for name, (kind, _) in registers.REGISTERS[register].fields.items():
        if name in registers.DERIVED_LINKS:
            continue
        if kind == "address":
            out.update(f"{name}.{part}" for part in ("province", "commune", "detail"))
        elif kind == "place":
            out.update(f"{name}.{part}" for part in
                       ("kind", "province", "commune", "detail", "country", "text"))
        else:
            out.add(name)
    return out


def _csv_rows(stream: BinaryIO, register: str) -> Iterator[tuple[int, dict[str, Any]]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportError_("Tệp rỗng: thiếu dòng tiêu đề.") from None
    except UnicodeDecodeError:
        raise ImportError_("Tệp không phải UTF-8 (dòng 1).") from None
    header = [h.strip() for h in header]
    key = subject_field(register)
    allowed = _columns(register) | {key}
    unknown = [h for h in header if h not in allowed]
    missing = [key] if key not in header else []
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if unknown or missing or duplicated:
        parts = []
        if missing:
            parts.append(f"thiếu cột {', '.join(missing)}")
        if unknown:
            parts.append(f"cột không có trong sổ '{register}': {', '.join(unknown)}")
        if duplicated:
            parts.append(f"cột lặp lại: {', '.join(duplicated)}")
        raise ImportError_("Tiêu đề không hợp lệ: " + "; ".join(parts) + ".")
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            raise ImportError_(
                f"Tệp không phải UTF-8 (gần dòng {reader.line_num + 1}); "
                "hãy lưu lại với mã hóa UTF-8.") from None
        except csv.Error as exc:
            raise ImportError_(f"CSV lỗi ở dòng {reader.line_num}: {exc}.") from None
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            yield line, {"__error__": f"có {len(cells)} ô, tiêu đề có {len(header)} cột"}
            continue
        row: dict[str, Any] = {}
        for name, value in zip(header, cells, strict=True):
            if "." in name:
                base, part = name.split(".", 1)
                if value.strip():
                    row.setdefault(base, {})[part] = value
            else:
                row[name] = value
        yield line, row


def _jsonl_rows(stream: BinaryIO) -> Iterator[tuple[int, dict[str, Any]]]:
    for line, raw in enumerate(stream, start=1):
        if len(raw) > MAX_LINE_BYTES:
            yield line, {"__error__": f"dòng dài quá {MAX_LINE_BYTES} byte"}
            continue
        try:
            text = raw.decode("utf-8-sig" if line == 1 else "utf-8")
        except UnicodeDecodeError:
            raise ImportError_(f"Tệp không phải UTF-8 (dòng {line}).") from None
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            yield line, {"__error__": "không phải JSON hợp lệ"}
            continue
        if not isinstance(row, dict):
            yield line, {"__error__": "mỗi dòng phải là một đối tượng JSON"}
            continue
        yield line, row


def import_records(session: Session, register: str, stream: BinaryIO, fmt: str, source: str,
                   progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import a file of one register's records; commits batch by batch, so an interrupted
    import keeps what it wrote and a re-run completes it."""
    if register not in registers.REGISTERS:
        raise ImportError_(f"Không có sổ '{register}'; có: {', '.join(registers.REGISTERS)}.")
    report = ImportReport(register)
    key = subject_field(register)
    seen: dict[str, int] = {}
    batch: list[tuple[str, dict[str, Any]]] = []
    rows = _csv_rows(stream, register) if fmt == "csv" else _jsonl_rows(stream)
    position = 0
    for line, row in rows:
        report.read += 1
        if "__error__" in row:
            report.reject(line, [row["__error__"]])
            continue
        key_is_field = key in registers.REGISTERS[register].fields
        problems = []
        try:
            subject = check_subject(register, row.get(key))
        except RecordInvalid as exc:
            problems += exc.problems
        try:
            data = normalise_record(register, {k: v for k, v in row.items()
                                               if k != key or key_is_field})
        except RecordInvalid as exc:
            problems += [p for p in exc.problems if p.field != key]
        if problems:
            report.reject(line, [f"{p.field}: {p.message}" for p in problems])
            continue
        if subject in seen:
            report.reject(line, [f"{key} '{subject}' trùng với dòng {seen[subject]}"])
            continue
        seen[subject] = line
        if key_is_field:
            data[key] = subject
        batch.append((subject, data))
        if len(batch) >= BATCH:
            _flush(session, register, batch, source, report)
            batch = []
        if progress is not None:
            new_position = stream.tell() if stream.seekable() else 0
            progress(new_position - position)
            position = new_position
    if batch:
        _flush(session, register, batch, source, report)
    return report


def _flush(session: Session, register: str, batch: list[tuple[str, dict[str, Any]]],
           source: str, report: ImportReport) -> None:
    prefer_custom_plans(session)
    counts = store.upsert_many(session, register, batch, source)
    session.commit()
    session.expunge_all()  # keep memory bounded: nothing from a written batch is needed again
    report.inserted += counts["inserted"]
    report.updated += counts["updated"]
    report.unchanged += counts["unchanged"]


def import_file(session: Session, register: str, path: Path, fmt: str | None = None,
                progress: Callable[[int], None] | None = None) -> ImportReport:
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    with path.open("rb") as stream:
        return import_records(session, register, stream, fmt, f"import:{path.name}", progress)
