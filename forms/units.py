"""The official list of administrative units (provinces and communes) after the 2025 reform,
read from the maintained ``vietnam-provinces`` package rather than copied into this project."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from vietnam_provinces import Province, Ward
from vietnam_provinces import __data_version__ as DATA_VERSION  # noqa: N812

__all__ = ["DATA_VERSION", "Unit", "provinces", "communes", "communes_by_province", "name"]


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str


@cache
def provinces() -> tuple[Unit, ...]:
    return tuple(
        sorted(
            (Unit(f"{int(p.code):02d}", p.name, p.division_type.value)
             for p in Province.iter_all()),
            key=lambda u: u.code,
        )
    )


@cache
def communes_by_province() -> dict[str, tuple[Unit, ...]]:
    grouped: dict[str, list[Unit]] = {p.code: [] for p in provinces()}
    for w in Ward.iter_all():
        grouped[f"{int(w.province_code):02d}"].append(
            Unit(f"{int(w.code):05d}", w.name, w.division_type.value)
        )
    return {k: tuple(sorted(v, key=lambda u: u.code)) for k, v in grouped.items()}


def communes(province_code: str) -> tuple[Unit, ...] | None:
    """Communes of a province, or None for an unknown province code."""
    return communes_by_province().get(province_code)


@cache
def _names() -> dict[str, str]:
    # province codes have two digits and commune codes five: one table holds both
    table = {p.code: p.name for p in provinces()}
    table.update({c.code: c.name for cs in communes_by_province().values() for c in cs})
    return table


def name(code: str) -> str | None:
    """The name of a province (2-digit code) or commune (5-digit code), or None."""
    return _names().get(code)
