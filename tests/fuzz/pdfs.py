"""PDF bodies for the two operations that take a PDF (verification and digitisation): real
documents, and what an attacker or a broken scanner makes of them.

The schema only says ``format: binary``; random bytes are refused at the first line, so the
interesting inputs are near misses: a signed result cut short, with bytes flipped, with junk
inside or after it, a header followed by noise.
"""

from __future__ import annotations

from hypothesis import strategies as st


def _truncate(args: tuple[bytes, float]) -> bytes:
    pdf, where = args
    return pdf[: int(len(pdf) * where)]


def _flip(args: tuple[bytes, list[tuple[float, int]]]) -> bytes:
    pdf, flips = args
    out = bytearray(pdf)
    for where, mask in flips:
        i = min(int(len(out) * where), len(out) - 1)
        out[i] ^= mask
    return bytes(out)


def _insert(args: tuple[bytes, bytes, float]) -> bytes:
    pdf, junk, where = args
    i = int(len(pdf) * where)
    return pdf[:i] + junk + pdf[i:]


def _repeat_tail(args: tuple[bytes, int]) -> bytes:
    """The last part of the file (cross-reference table, trailer) repeated: a chain of
    incremental updates pointing at one another."""
    pdf, times = args
    tail = pdf[-2048:]
    return pdf + tail * times


def pdf_bodies(samples: list[bytes]) -> st.SearchStrategy[bytes]:
    """Real PDFs and mutations of them; ``samples`` must not be empty."""
    sample = st.sampled_from(samples)
    fraction = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
    return st.one_of(
        sample,
        st.tuples(sample, fraction).map(_truncate),
        st.tuples(sample, st.lists(st.tuples(fraction, st.integers(1, 255)),
                                   min_size=1, max_size=16)).map(_flip),
        st.tuples(sample, st.binary(min_size=1, max_size=4096), fraction).map(_insert),
        st.tuples(sample, st.integers(1, 50)).map(_repeat_tail),
        st.binary(max_size=4096).map(lambda junk: b"%PDF-1.7\n" + junk),
        st.binary(max_size=1024),
    )
