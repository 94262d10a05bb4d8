"""A recipient, and a sheet's recipients held compactly: about 150 bytes an address instead of about 2 KB.

A send of 100,000 addresses looks up one recipient at a time (the ledger
sync, then each due row's letter), so ``Recipients`` keeps each one as a
line of UTF-8 text in chunks of bytes and builds the :class:`Recipient` when
asked; strings that repeat (county, role, greeting, sheet) are kept once.
``KeyIndex`` maps an address key to a number without a Python object per
address: two arrays, open addressing, every hit checked against the real key.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import overload

from lgp_mailer.hungarian import DEFAULT_ROLE

SEP, SUB = "\x1f", "\x1e"  # between fields, between a field's items; cleaned cells never hold them
_FREE = -1
_LOW = 0xFFFFFFFF  # the bits of a hash a KeyIndex keeps: the slot comes from them too (fewer than 2**32 slots)


def first_field(line: bytes) -> str:
    """The first field of a compact line: the send address, in a sheet's lines and in the loaded store's."""
    return line[: line.index(b"\x1f")].decode("utf-8")


@dataclass(frozen=True, slots=True)  # slots: a sheet may hold 200,000 of these
class Recipient:
    """One address, and everything the letter to it needs.

    ``email`` is the normalised send address (domain lower-cased, IDNA) and is
    the ledger key; ``municipalities`` lists every municipality this address
    stands for (a joint office serves several).
    """

    email: str
    municipalities: tuple[str, ...]
    salutation: str
    county: str | None = None
    name: str | None = None
    role: str = DEFAULT_ROLE
    gender: str | None = None  # "female", "male" or None when unknown
    rows: tuple[int, ...] = ()
    sheet: str | None = None
    salutation_kind: str = "neutral"  # "female" | "male" | "neutral" | "explicit"
    # A reminder to an invited address for someone who registered under another one: that address.
    registered_as: str | None = None


class KeyIndex:
    """Key → number (numbers given by the caller), in arrays of hashes (their low 32 bits) and numbers.

    A hash match is confirmed by ``key_of(number)``, so two keys with the same
    hash never mix.  Half the slots stay free: a miss ends at the first one."""

    def __init__(self) -> None:
        self._hashes = array("I", bytes(4 * 16))
        self._numbers = array("i", [_FREE]) * 16
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def find(self, key: str, key_of: Callable[[int], str]) -> int:
        """The number stored for ``key``, or -1."""
        hashes, numbers = self._hashes, self._numbers
        mask = len(numbers) - 1
        h = hash(key) & _LOW
        i = h & mask
        while (n := numbers[i]) != _FREE:
            if hashes[i] == h and key_of(n) == key:
                return n
            i = (i + 1) & mask
        return -1

    def add(self, key: str, number: int) -> None:
        """Store ``number`` for ``key``, which the caller found absent."""
        if 2 * (self._count + 1) > len(self._numbers):
            self._grow()
        self._put(hash(key) & _LOW, number)
        self._count += 1

    def _put(self, h: int, number: int) -> None:
        mask = len(self._numbers) - 1
        i = h & mask
        while self._numbers[i] != _FREE:
            i = (i + 1) & mask
        self._hashes[i], self._numbers[i] = h, number

    def _grow(self) -> None:
        hashes, numbers = self._hashes, self._numbers  # read straight from the arrays: no list of 65,536 pairs
        size = 2 * len(numbers)
        self._hashes = array("I", bytes(4 * size))
        self._numbers = array("i", [_FREE]) * size
        for h, n in zip(hashes, numbers, strict=True):
            if n != _FREE:
                self._put(h, n)


class Chunks:
    """Byte strings by number, ``SIZE`` to a zlib-compressed chunk (one object per chunk, not per record).

    Sheet lines repeat themselves (domains, places, names): a chunk keeps a
    quarter of their size.  Readers mostly go in sheet order, so the last
    chunk read is kept unpacked.  ``drop_before`` frees the chunks wholly
    below a number: a reader that goes once through in order gives the
    memory back as it goes."""

    SIZE = 256

    def __init__(self) -> None:
        self._blobs: list[bytes | None] = []
        self._ends: list[array[int] | None] = []
        self._open: list[bytes] = []
        self._unpacked: tuple[int, bytes] = (-1, b"")  # (chunk, its bytes): replaced whole, so threads may share it

    def __len__(self) -> int:
        return len(self._blobs) * self.SIZE + len(self._open)

    def append(self, record: bytes) -> int:
        number = len(self)
        self._open.append(record)
        if len(self._open) == self.SIZE:
            self._ends.append(array("I", accumulate(map(len, self._open))))
            self._blobs.append(zlib.compress(b"".join(self._open), 1))
            self._open = []
        return number

    def __getitem__(self, number: int) -> bytes:
        chunk, i = divmod(number, self.SIZE)
        if chunk == len(self._blobs):
            return self._open[i]
        unpacked_chunk, blob = self._unpacked
        packed, ends = self._blobs[chunk], self._ends[chunk]
        assert packed is not None and ends is not None, "a chunk read after it was dropped"
        if unpacked_chunk != chunk:
            blob = zlib.decompress(packed)
            self._unpacked = (chunk, blob)
        return blob[ends[i - 1] if i else 0 : ends[i]]

    def drop_before(self, number: int) -> None:
        chunk = number // self.SIZE - 1
        if 0 <= chunk < len(self._blobs) and self._blobs[chunk] is not None:
            self._blobs[chunk] = self._ends[chunk] = None
            if self._unpacked[0] == chunk:
                self._unpacked = (-1, b"")


class Strings:
    """One copy of each repeated string (and None), numbered; past ``LIMIT`` distinct ones, none are added."""

    LIMIT = 50_000

    def __init__(self) -> None:
        self._items: list[str | None] = [None]
        self._numbers: dict[str | None, int] = {None: 0}

    def encode(self, text: str | None) -> str:
        """The field for ``text``: its number, or "=" and the text when the table is full."""
        number = self._numbers.get(text)
        if number is None:
            if len(self._items) >= self.LIMIT:
                return "=" + (text or "")
            number = self._numbers[text] = len(self._items)
            self._items.append(text)
        return str(number)

    def decode(self, field: str) -> str | None:
        return field[1:] if field.startswith("=") else self._items[int(field)]


class Recipients(Sequence[Recipient]):
    """A sheet's recipients in order, built one at a time from compact lines; ``find`` looks one up by address.

    Compared equal to a list of the same recipients.  A recipient whose text
    holds a separator (it never comes from a cleaned cell) is kept as it is."""

    def __init__(self, items: Sequence[Recipient] = ()) -> None:
        self._lines = Chunks()
        self._odd: dict[int, Recipient] = {}
        self._strings = Strings()
        self._keys = KeyIndex()
        for item in items:
            self.append(item)

    def append(self, r: Recipient) -> None:
        s = self._strings
        rows = ",".join(map(str, r.rows))
        munis = SUB.join(r.municipalities)
        line = SEP.join(
            (
                r.email,
                munis,
                r.name or "",
                rows,
                s.encode(r.salutation),
                s.encode(r.county),
                s.encode(r.role),
                s.encode(r.gender),
                s.encode(r.sheet),
                s.encode(r.salutation_kind),
            )
        )
        exact = (  # else the line would not split back into the same recipient
            line.count(SEP) == 9
            and all(m and SUB not in m for m in r.municipalities)
            and r.name != ""
            and r.registered_as is None
        )
        number = self._lines.append(line.encode("utf-8") if exact else b"")
        if not exact:
            self._odd[number] = r
        key = r.email.lower()
        if self._keys.find(key, self._key_of) < 0:  # the first of an address wins, as the sheet's order says
            self._keys.add(key, number)

    def _key_of(self, number: int) -> str:
        odd = self._odd.get(number)
        if odd is not None:
            return odd.email.lower()
        return first_field(self._lines[number]).lower()

    def _get(self, number: int) -> Recipient:
        odd = self._odd.get(number)
        if odd is not None:
            return odd
        email, munis, name, rows, salutation, county, role, gender, sheet, kind = (
            self._lines[number].decode("utf-8").split(SEP)
        )
        d = self._strings.decode
        return Recipient(
            email=email,
            municipalities=tuple(munis.split(SUB)) if munis else (),
            salutation=d(salutation) or "",
            county=d(county),
            name=name or None,
            role=d(role) or "",
            gender=d(gender),
            rows=tuple(map(int, rows.split(","))) if rows else (),
            sheet=d(sheet),
            salutation_kind=d(kind) or "",
        )

    def find(self, address: str) -> Recipient | None:
        """The recipient whose address is ``address`` (case-insensitively), or None."""
        number = self._keys.find(address.lower(), self._key_of)
        return None if number < 0 else self._get(number)

    def __contains__(self, item: object) -> bool:
        """An address (case-insensitively) or a recipient."""
        if isinstance(item, str):
            return self._keys.find(item.lower(), self._key_of) >= 0
        return any(r == item for r in self)

    def __len__(self) -> int:
        return len(self._lines)

    @overload
    def __getitem__(self, index: int) -> Recipient: ...
    @overload
    def __getitem__(self, index: slice) -> list[Recipient]: ...
    def __getitem__(self, index: int | slice) -> Recipient | list[Recipient]:
        if isinstance(index, slice):
            return [self._get(n) for n in range(len(self))[index]]
        n = range(len(self))[index]  # negative indices, and IndexError past the end
        return self._get(n)

    def __iter__(self) -> Iterator[Recipient]:
        return (self._get(n) for n in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Recipients | list | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"Recipients({list(self)!r})"
