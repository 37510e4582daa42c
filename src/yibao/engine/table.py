"""The claims table of the batch path: rows laid out for gathering, grouped into chunks, put in canonical order.

A claims table (`ClaimTable`) stays in its input order (as a bureau sends it: by day). Its
rows are grouped into chunks of whole persons without sorting the table (`Partition`);
each chunk is then gathered and put in canonical order on its own (`ClaimTable.sorted`),
ready for the rule (yibao.core.batch.settle_sorted). yibao.engine.build makes the table
from frames; yibao.engine.run settles it on threads.

A claim's row (`ClaimTable.rows`, ROW_WORDS int32 words = 32 bytes; WIDE_ROW_WORDS when an
amount of the table needs int64), so that gathering a claim reads one place:

    word:  0        1        2                         3        4 .. 7 (int32 x 4, or 4 .. 11: int64 x 4)
          +--------+--------+-------------------------+--------+-----------------------------------------+
          | person | day    | facility care area  -   | unused | class_a class_b self_pay special_drugs  |
          +--------+--------+-------------------------+--------+-----------------------------------------+
           row in   days     int8 codes of CLAIM_DIMENSIONS     amounts in fen
           persons  since 1970

A chunk: input rows of whole persons, ascending (group j of the partition), gathered into
ClaimColumns in canonical order; persons' attributes (codes, birth) gathered only then:

    input rows  0 1 2 3 4 5 6 7 8 9 ...      (by day; persons interleaved)
    chunk 0:    0 2 3 7 9 ...                (persons of chunk 0, ascending rows)
    sorted:     person 1: 2 7 | person 4: 0 3 9 | ...   (by person, day, claim id)
"""

from __future__ import annotations

import itertools
import mmap
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from yibao.core.errors import SchemeError
from yibao.core.rows import I64, ClaimColumns, PolicyIndex, yyyymmdd
from yibao.core.scheme import CLAIM_DIMENSIONS, PERSON_DIMENSIONS
from yibao.engine.threads import map_on

AMOUNTS = ("class_a", "class_b", "self_pay", "special_drugs")  # the columns of ClaimTable.amounts


# words (int32) of a claim's row in ClaimTable.rows: person, day, codes (int8 x 4), unused, then the amounts (int32 x 4
# when every amount of the table fits, else int64 x 4); a row of int32 amounts is 32 bytes, as four int64 payments
ROW_WORDS, WIDE_ROW_WORDS = 8, 12
_PERSON, _DAY, _CODES, _AMOUNTS = 0, 1, 2, 4


@dataclass(frozen=True)
class Chunked:
    """A column held in pieces, one after another (as a frame holds a column it has read): NumPy arrays."""

    parts: tuple[npt.NDArray[np.integer[Any]], ...]

    def views(self, a: int, b: int) -> Iterator[tuple[int, npt.NDArray[np.integer[Any]]]]:
        """Rows a..b as (offset from a, view of one piece), in order."""
        at = 0
        for part in self.parts:
            lo, hi = max(a - at, 0), min(b - at, len(part))
            if lo < hi:
                yield at + lo - a, part[lo:hi]
            at += len(part)
            if at >= b:
                break

    def slice(self, a: int, b: int) -> npt.NDArray[np.integer[Any]]:
        """Rows a..b: a view when they lie in one piece."""
        views = [view for _, view in self.views(a, b)]
        if len(views) == 1:
            return views[0]
        return np.concatenate(views) if views else np.zeros(0, dtype=np.int64)

    def copy_to(self, a: int, b: int, out: npt.NDArray[Any]) -> None:
        """Rows a..b written into `out` piece by piece (no joined copy in between)."""
        for offset, view in self.views(a, b):
            out[offset:offset + len(view)] = view


@dataclass
class ClaimTable:
    """A claims table in its input order with its persons, as NumPy columns (amounts in fen):
    `yibao.engine.build.claim_table` makes it from frames.

    A claim's person, day, codes and amounts sit side by side in one row of `rows` (ROW_WORDS int32 = 32 bytes),
    so that gathering a claim reads one place; person attributes stay one row per person (`person_codes`,
    `birth`) and are gathered only for the rows being settled. No sorted copy is made: the input rows are grouped
    into runs of whole persons (`grouped`, made with the table for the batch path's chunks; `chunks` for any other
    count), and `sorted` puts one group in canonical order (person, service date, claim id) and gathers it. `inputs` are the amounts as the frame holds them, in input order (for the sums of
    amounts made in input order after settling). Settling a table may reuse the memory of `rows` for its results
    (`settle_columns(..., reuse=True)`): the table is then spent."""

    rows: npt.NDArray[np.int32]  # [claim, word]: see ROW_WORDS
    person_codes: npt.NDArray[np.int8]  # [person, i]: code of PERSON_DIMENSIONS[i]
    birth: npt.NDArray[np.int32]  # birth date per person, yyyymmdd
    inputs: tuple[Chunked, ...]  # AMOUNTS in fen, in input order
    # (input rows, their group numbers) -> positions sorting them by (group, claim id); None: by input row
    by_claim_id: Callable[[npt.NDArray[np.intp], I64], npt.NDArray[np.intp]] | None = None
    # the rows already grouped into chunks (made while the table was made; see `grouped_in_pieces`), else None
    grouped: Partition | None = None
    spent: bool = False  # its rows' memory now holds results
    # [person, 0 / 1]: first and last day of the person's public cover (day numbers, open ends as
    # yibao.core.rows.OPEN_START / OPEN_END); None: every person covered every day
    cover: npt.NDArray[np.int32] | None = None
    policies: PolicyIndex | None = None  # the persons' policies, by person row; None: none

    @staticmethod
    def group_piece(person: npt.NDArray[np.int32], persons: int, count: int, perm: npt.NDArray[np.int32]) -> I64:
        """One piece of rows (their person rows among `persons`) grouped into `count` chunks by runs of equal
        numbers of persons: their positions by chunk written into `perm` (the piece's part of it), and where
        each chunk starts in it (for `grouped_in_pieces`)."""
        return Partition.group(Partition.by_range(person, persons, count), count, perm)

    @staticmethod
    def grouped_in_pieces(
        pieces: list[tuple[int, int]], bounds: list[I64], perm: npt.NDArray[np.int32], count: int
    ) -> Partition:
        """`grouped` from consecutive pieces of rows, each grouped by `group_piece`."""
        return Partition([a for a, _ in pieces], [perm[a:b] for a, b in pieces], bounds, count)

    @staticmethod
    def new_rows(n: int, wide: bool) -> npt.NDArray[np.int32]:
        """Uninitialised rows for n claims (`wide`: int64 amounts)."""
        words = WIDE_ROW_WORDS if wide else ROW_WORDS
        return new_column(n * words, np.int32).reshape(n, words)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def person(self) -> npt.NDArray[np.int32]:
        """Row in the persons' columns."""
        return self.rows[:, _PERSON]

    @property
    def day(self) -> npt.NDArray[np.int32]:
        """Service date as days since 1970-01-01."""
        return self.rows[:, _DAY]

    @property
    def codes(self) -> npt.NDArray[np.int8]:
        """[claim, i]: code of CLAIM_DIMENSIONS[i] (= index into DIMENSION_KEYS); i = 3 unused."""
        return self.rows[:, _CODES:_CODES + 1].view(np.int8)

    @property
    def amounts(self) -> npt.NDArray[np.int32] | I64:
        """[claim, i]: AMOUNTS[i] in fen (int32, or int64 in wide rows)."""
        if self.rows.shape[1] == ROW_WORDS:
            return self.rows[:, _AMOUNTS:_AMOUNTS + 4]
        return self.rows[:, _AMOUNTS:_AMOUNTS + 8].view(np.int64)

    def check_unspent(self) -> None:
        if self.spent:
            raise SchemeError("this claims table was settled with reuse: its memory holds the results",
                              code="batch.table_spent")

    def chunks(self, count: int) -> list[npt.NDArray[np.intp]]:
        """The input rows cut into about `count` groups of whole persons, about equal in claims, each ascending
        (empty groups left out)."""
        self.check_unspent()
        partition = Partition.of(self.person, len(self.birth), count, None, 1)
        return [partition.rows(j) for j in range(partition.count) if partition.size(j)]

    def sorted(self, rows: npt.NDArray[np.intp]) -> tuple[ClaimColumns, npt.NDArray[np.intp]]:
        """The claims at input rows `rows` (ascending, whole persons) in canonical order, and their input rows in
        that order. The claims' rows are read at the ascending rows (in address order) and then put in order."""
        self.check_unspent()
        return self.gather(rows)

    def gather(self, rows: npt.NDArray[np.intp], ages: bool = True) -> tuple[ClaimColumns, npt.NDArray[np.intp]]:
        """`ages`: False when nothing will look at them (ClaimColumns.age is then empty)."""
        block = np.take(self.rows, rows, axis=0)
        order = self._order(block[:, _PERSON].copy(), block[:, _DAY].copy())
        if order is not None:  # whole rows moved at once (a row is 32 bytes): cheaper than column by column
            block, rows = np.take(block, order, axis=0), np.take(rows, order)
        person, day = block[:, _PERSON].copy(), block[:, _DAY].copy()
        tied = _tied(person, day)
        if tied is not None:  # claims of the same person and day: by claim id
            by = self._tie_order(np.take(rows, tied), np.take(person, tied), np.take(day, tied))
            if by is not None:  # moved within each tie: person and day stay as they are
                moved = np.take(tied, by)
                np.put(row_items(block), tied, np.take(row_items(block), moved))
                rows[tied] = np.take(rows, moved)
        code_words = block[:, _CODES].copy()
        amounts: npt.NDArray[np.int32] | I64
        if block.shape[1] == ROW_WORDS:  # kept in int32: half the bytes to gather for each part
            amounts = block[:, _AMOUNTS:_AMOUNTS + 4].T.copy()
        else:
            amounts = block[:, _AMOUNTS:_AMOUNTS + 8].copy().view(np.int64).T.copy()
        del block
        codes = code_words.view(np.int8).reshape(-1, 4).T.copy()
        theirs = np.take(self.person_codes.view(np.int32)[:, 0], person).view(np.int8).reshape(-1, 4).T.copy()
        dates = day.astype("datetime64[D]")
        columns = ClaimColumns(
            person=person,
            day=dates,
            # completed years: (service yyyymmdd - birth yyyymmdd) // 10000
            age=((yyyymmdd(dates) - np.take(self.birth, person)) // 10_000).astype(np.int16) if ages
            else np.zeros(0, np.int16),
            # each column on its own (contiguous) for the many comparisons and sums that follow
            keys={dim: codes[i] for i, dim in enumerate(CLAIM_DIMENSIONS)}
            | {dim: theirs[i] for i, dim in enumerate(PERSON_DIMENSIONS)},
            class_a=amounts[0],
            class_b=amounts[1],
            self_pay=amounts[2],
            special_drugs=amounts[3],
            cover_start=None if self.cover is None else np.take(self.cover[:, 0], person),
            cover_end=None if self.cover is None else np.take(self.cover[:, 1], person),
            policies=self.policies,
        )
        return columns, rows

    @staticmethod
    def _order(person: npt.NDArray[np.int32], day: npt.NDArray[np.int32]) -> npt.NDArray[np.intp] | None:
        """The stable order of the claims by person and day (claims of the same person and day keep their
        order); None when they are in it."""
        if len(person) < 2:
            return None
        first_person, first_day = int(person.min()), int(day.min())
        persons, days = int(person.max()) - first_person + 1, int(day.max()) - first_day + 1
        by_day = bool(np.all(day[1:] >= day[:-1]))  # the rows come by day, as a bureau's do
        if by_day and bool(np.all(person[1:] >= person[:-1])):
            return None  # by person too
        if persons <= 1 << 16 and days <= 1 << 16:
            # stable radix sorts of 16-bit numbers: by day (unless the rows come by day), then by person
            by_person = (person - first_person).astype(np.uint16)
            if by_day:
                return np.argsort(by_person, kind="stable")
            order = np.argsort((day - first_day).astype(np.uint16), kind="stable")
            return np.take(order, np.argsort(np.take(by_person, order), kind="stable"))
        return np.lexsort((day, person))

    def _tie_order(
        self, rows: npt.NDArray[np.intp], person: npt.NDArray[np.int32], day: npt.NDArray[np.int32]
    ) -> npt.NDArray[np.intp] | None:
        """The order by (person, day, claim id) of tied claims given in order by person and day (their input
        rows); None when they are in it. Without `by_claim_id` ties stay in input order (as the stable sorts
        left them)."""
        if self.by_claim_id is None:
            return None
        group = person.astype(np.int64) << 32 | day.astype(np.int64) - np.iinfo(np.int32).min
        by = self.by_claim_id(rows, group)
        return None if bool(np.all(by[1:] > by[:-1])) else by


def _tied(person: npt.NDArray[np.int32], day: npt.NDArray[np.int32]) -> npt.NDArray[np.intp] | None:
    """Positions of the claims (in order by person and day) sharing their person and day with another; None if
    none does."""
    same = np.zeros(len(person), dtype=np.bool_)
    if len(person) > 1:
        np.equal(person[1:], person[:-1], out=same[1:])
        same[1:] &= day[1:] == day[:-1]
    if not same.any():
        return None
    same[:-1] |= same[1:]
    return np.flatnonzero(same)



@dataclass(frozen=True)
class Partition:
    """Input rows grouped by runs of whole persons, without sorting them: the rows are cut into pieces and each
    piece is grouped on its own (a stable sort of small group numbers), so group j is the concatenation over
    pieces of `offsets[p] + perms[p][bounds[p][j]:bounds[p][j + 1]]`: ascending input rows."""

    offsets: list[int]
    perms: list[npt.NDArray[np.int32]]
    bounds: list[I64]
    count: int

    @classmethod
    def of(
        cls, person: npt.NDArray[np.int32], persons: int, count: int, pool: ThreadPoolExecutor | None, workers: int
    ) -> Partition:
        """`count` groups of the rows of `person` (row numbers among `persons` persons), on `workers` threads."""
        n = len(person)
        count = max(1, min(count, n))
        parts = list(itertools.pairwise(np.linspace(0, n, max(1, min(workers, n)) + 1).astype(np.int64).tolist()))
        claims = np.zeros(persons, dtype=np.int64)
        for counted in map_on(pool, lambda ab: np.bincount(person[ab[0]:ab[1]], minlength=persons), parts):
            claims += counted
        # a person's group: where the person's first claim falls among `count` equal runs of the claims
        before = np.cumsum(claims) - claims
        group_of = (before * count // max(n, 1)).astype(np.uint16 if count <= 1 << 16 else np.int32)
        del claims, before
        # grouped in pieces small enough for their temporaries to be reused from piece to piece
        spans = list(itertools.pairwise([*range(0, n, _GROUPED_ROWS), n])) if n else [(0, 0)]
        perm = new_column(n, np.int32)

        done = map_on(pool, lambda ab: cls.group(np.take(group_of, person[ab[0]:ab[1]]), count, perm[ab[0]:ab[1]]), spans)
        return cls([a for a, _ in spans], [perm[a:b] for a, b in spans], done, count)

    @staticmethod
    def group(group: npt.NDArray[np.integer[Any]], count: int, perm: npt.NDArray[np.int32]) -> I64:
        """One piece's rows grouped: their positions by group into `perm` (stable), and the bounds of each
        group in it."""
        perm[:] = np.argsort(group, kind="stable")  # a radix sort for 16-bit groups
        bounds = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(np.bincount(group, minlength=count), out=bounds[1:])
        return bounds

    @staticmethod
    def by_range(person: npt.NDArray[np.int32], persons: int, count: int) -> npt.NDArray[np.integer[Any]]:
        """The group of each row when the persons are cut into `count` runs of equal numbers of persons (what
        a piece of rows can be grouped by on its own, before the claims of every person are counted)."""
        group = person.astype(np.int64) * count // max(persons, 1)
        return group.astype(np.uint16 if count <= 1 << 16 else np.int32)

    def size(self, j: int) -> int:
        return sum(int(b[j + 1] - b[j]) for b in self.bounds)

    def rows(self, j: int) -> npt.NDArray[np.intp]:
        parts = [perm[b[j]:b[j + 1]].astype(np.intp) + offset
                 for offset, perm, b in zip(self.offsets, self.perms, self.bounds, strict=True)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


_GROUPED_ROWS = 1 << 20


def new_column(n: int, dtype: type[Any] = np.int64, *, populate: bool = False) -> npt.NDArray[Any]:
    """A column to be written once and handed on (uninitialised).

    A large one is mapped with the kernel's ordinary pages: NumPy asks for 2 MiB pages for large arrays, and
    on a virtual machine that hands freed memory back to its host, every such page is zeroed afresh when
    first written (measured here 2-5 times the cost of ordinary pages, and erratic; bench/settle.py).
    `populate`: the kernel maps every page now, in one call (cheaper than a fault per page later)."""
    size = n * np.dtype(dtype).itemsize
    if size < _LARGE:
        return np.empty(n, dtype=dtype)
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | (_POPULATE if populate else 0)
    return np.frombuffer(mmap.mmap(-1, size, flags=flags), dtype=dtype)


_POPULATE = getattr(mmap, "MAP_POPULATE", 0)  # Linux


_LARGE = 1 << 22  # bytes from which NumPy asks for huge pages



def row_items(rows: npt.NDArray[Any]) -> npt.NDArray[np.void]:
    """A contiguous [row, column] array as one item a row."""
    return rows.view(np.dtype((np.void, rows.shape[1] * rows.itemsize))).reshape(len(rows))

