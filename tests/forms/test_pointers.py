"""forms.pointers: the one JSON-pointer walker (RFC 6901, with list indices)."""

from __future__ import annotations

import pytest

from forms import pointers

DATA = {"a": {"b": [{"c": 1}, {"c": 2}], "x/y": 3, "m~n": 4, "": 5}, "list": [10, 20]}


@pytest.mark.parametrize(("pointer", "expected"), [
    ("", DATA),
    ("/a/b/0/c", 1),
    ("/a/b/1/c", 2),
    ("/a/x~1y", 3),  # RFC 6901 section 4: ~1 is '/', ~0 is '~'
    ("/a/m~0n", 4),
    ("/a/", 5),
    ("/list/1", 20),
])
def test_get_finds(pointer: str, expected: object) -> None:
    assert pointers.get(DATA, pointer) == expected


@pytest.mark.parametrize("pointer", [
    "/missing", "/a/b/2/c", "/list/01", "/list/-", "/list/-1", "/list/x", "/a/b/0/c/d",
    "/list/1/0",
])
def test_get_finds_nothing_without_raising(pointer: str) -> None:
    assert pointers.get(DATA, pointer) is None
    assert pointers.get(DATA, pointer, "none") == "none"


def test_a_pointer_starts_with_a_slash() -> None:
    with pytest.raises(ValueError):
        pointers.get(DATA, "a/b")


def test_join_escapes_and_round_trips() -> None:
    tokens = ["a", "x/y", "m~n", 0]
    assert pointers.join(tokens) == "/a/x~1y/m~0n/0"
    assert pointers.parse(pointers.join(tokens)) == ["a", "x/y", "m~n", "0"]


def test_each_follows_every_item_of_a_repeated_group() -> None:
    data = {"s": {"g": [{"f": [1]}, {}, {"f": [2, 3]}], "top": []}}
    assert list(pointers.each(data, ("s", "g", "f"))) == [("/s/g/0/f", [1]), ("/s/g/2/f", [2, 3])]
    assert list(pointers.each(data, ("s", "top"))) == [("/s/top", [])]
    assert list(pointers.each(data, ("s", "none"))) == []
