"""MongoDB collections in memory: the operations and filters the services' stores use, no more.

Every store that runs on these is also run against the real MongoDB-compatible server by its
service's integration tests, which is where the query semantics are checked; an operator this
does not know raises NotImplementedError rather than answering wrongly."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

Doc = dict[str, Any]


def matches(doc: Doc, query: Doc) -> bool:
    for key, want in query.items():
        if key == "$or":
            if not any(matches(doc, sub) for sub in want):
                return False
        elif isinstance(want, dict) and want and all(k.startswith("$") for k in want):
            have = doc.get(key)
            for op, value in want.items():
                if op == "$lt" and not (have is not None and have < value):
                    return False
                if op == "$gt" and not (have is not None and have > value):
                    return False
                if op == "$ne" and have == value:
                    return False
                if op not in {"$lt", "$gt", "$ne"}:
                    raise NotImplementedError(op)
        elif want is None:
            if doc.get(key) is not None:
                return False
        elif doc.get(key) != want:
            return False
    return True


def _apply(doc: Doc, update: Doc) -> None:
    doc.update(copy.deepcopy(update.get("$set", {})))
    for key, by in update.get("$inc", {}).items():
        doc[key] = doc.get(key, 0) + by


class MemoryCursor:
    def __init__(self, docs: list[Doc]):
        self.docs = docs

    def sort(self, key: str, direction: int = 1) -> "MemoryCursor":
        def value(doc: Doc) -> Any:
            return doc.get(key)

        self.docs.sort(key=value, reverse=direction < 0)
        return self

    def skip(self, n: int) -> "MemoryCursor":
        self.docs = self.docs[n:]
        return self

    def limit(self, n: int) -> "MemoryCursor":
        self.docs = self.docs[:n]
        return self

    async def to_list(self, length: int | None = None) -> list[Doc]:
        return self.docs


@dataclass
class Result:
    inserted_id: Any = None
    matched_count: int = 0
    deleted_count: int = 0


class MemoryCollection:
    """Documents by `_id`, with unique indexes enforced (DuplicateKeyError, as the server says)."""

    def __init__(self) -> None:
        self.docs: dict[Any, Doc] = {}
        self.unique: list[str] = []

    async def create_index(self, keys: Any, unique: bool = False, name: str | None = None, **_: Any) -> str | None:
        fields = [keys] if isinstance(keys, str) else [k for k, _ in keys]
        if unique:
            self.unique.extend(fields)
        return name

    async def insert_one(self, doc: Doc) -> Result:
        if doc["_id"] in self.docs or any(
                other.get(f) == doc.get(f) for f in self.unique for other in self.docs.values()):
            raise DuplicateKeyError("E11000 duplicate key")
        self.docs[doc["_id"]] = copy.deepcopy(doc)
        return Result(inserted_id=doc["_id"])

    async def find_one(self, query: Doc, projection: Any = None) -> Doc | None:
        return next((copy.deepcopy(d) for d in self.docs.values() if matches(d, query)), None)

    async def find_one_and_update(self, query: Doc, update: Doc, return_document: bool = ReturnDocument.BEFORE,
                                  upsert: bool = False, **_: Any) -> Doc | None:
        for doc in self.docs.values():
            if matches(doc, query):
                before = copy.deepcopy(doc)
                _apply(doc, update)
                return copy.deepcopy(doc) if return_document == ReturnDocument.AFTER else before
        if upsert:
            doc = {k: v for k, v in query.items() if not k.startswith("$")}
            _apply(doc, {**update, "$set": {**update.get("$setOnInsert", {}), **update.get("$set", {})}})
            self.docs[doc["_id"]] = doc
            return copy.deepcopy(doc) if return_document == ReturnDocument.AFTER else None
        return None

    async def update_one(self, query: Doc, update: Doc, upsert: bool = False) -> Result:
        found = await self.find_one_and_update(query, update, upsert=upsert)
        return Result(matched_count=int(found is not None))

    def find(self, query: Doc | None = None, projection: Any = None) -> MemoryCursor:
        return MemoryCursor([copy.deepcopy(d) for d in self.docs.values() if matches(d, query or {})])

    async def count_documents(self, query: Doc) -> int:
        return sum(1 for d in self.docs.values() if matches(d, query))

    async def delete_one(self, query: Doc) -> Result:
        doc = await self.find_one(query)
        if doc is not None:
            del self.docs[doc["_id"]]
        return Result(deleted_count=int(doc is not None))

    async def delete_many(self, query: Doc) -> Result:
        doomed = [k for k, d in self.docs.items() if matches(d, query)]
        for k in doomed:
            del self.docs[k]
        return Result(deleted_count=len(doomed))


class MemoryDatabase:
    """Collections made on first use, as a database of the PyMongo client hands them out."""

    def __init__(self) -> None:
        self.collections: dict[str, MemoryCollection] = {}

    def __getitem__(self, name: str) -> MemoryCollection:
        return self.collections.setdefault(name, MemoryCollection())
