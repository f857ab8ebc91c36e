#!/usr/bin/env bash
# Build the local MongoDB-compatible server: FerretDB 1.24.2 (SQLite storage) with writes serialised.
#
# Why the extra step: FerretDB 1.24 runs update, findAndModify and delete as "query, then write back"
# in Go without a lock, so two concurrent updates of one document both read the old value: `$inc`s
# are lost and a guarded update ({status: "A"} -> "B") can win twice. MongoDB applies every
# single-document update atomically and the platform relies on that (tier limits, state guards,
# outboxes). So the build copies the module and adds one lock around the write commands.
# tests/integration/test_mongodb_features.py proves the guarantee against the built server.
#
# A second change: the SQLite backend looks documents up by `_id` with the path `->'$._id'` while the
# `_id` index is built on `->"_id"`, so SQLite never uses the index and every lookup by id scans the
# table (1,000 workers heartbeating into one collection: 25 writes/s instead of 100). The build makes
# the lookup use the indexed expression; both return the same value. And it only narrows a query to
# the `_id` when the filter holds nothing else, so a guarded update ({_id, status: ...}) scans the whole
# collection under the write lock; the build narrows any filter that names an `_id` string (every
# caller filters the rows again with the whole filter, as they must when pushdown is disabled).
#
# A third: the write lock must never wait on something that waits for a write. The SQLite backend has
# 100 connections per database, and the write holding the lock needs one or two (its read of the
# matching documents, then its transaction). Upstream, two things held connections for longer than a
# command: an open cursor keeps its read, and so its connection, until the client exhausts or kills it
# (there is no idle timeout; a client reading a batch, then waiting for its own write before asking for
# the next, is the common case); and an update command keeps every statement's read open until the
# whole command ends, so one grouped update of 100 statements or more waits for a connection it holds
# itself. With the pool gone, the lock holder waited forever and every other write behind it: the
# server answered pings, no writes. The build closes each statement's read when that statement is done,
# and reads a normal cursor's documents in full when it is opened (its connection goes straight back;
# tailable cursors, unused here, are left as they were). Connections are then only ever held during a
# command, by work that does not wait for a write, so the lock holder always gets one. The cost is
# memory for a cursor's remaining documents, and reading them all even if the client stops early.
# tests/integration/test_mongodb_server_under_parallel_load.py reproduces both hangs on its own server.
#
# A fourth: the SQLite backend narrows nothing but an `_id`, so every other query decodes every
# document of its collection (FerretDB's JSON decoding is most of its CPU) and no index is ever used.
# The orchestrator's paced-release loop asks for due sends four times a second; with a few thousand
# messages stored, that scan was half of the server's CPU in `make bench` and it grows with the history.
# The build narrows the equalities of a filter on plain strings ({status: "queued"}) in SQL, on the
# expression the field's index is built on, keeping rows where the field is an array (MongoDB's
# equality matches an array holding the value). And for a range on a member of an embedded value
# (the outbox relays' {"outbox.at": {$lt: t}}, every 5 s) it keeps only the rows where that value is
# not missing, null or empty, which SQLite decides without FerretDB decoding anything (with 20,000
# messages stored: 192 ms a scan instead of 1.7 s). The whole filter still decides every row.
# tests/integration/test_mongodb_features.py checks each command kind agrees, with and without an index.
#
# usage: build.sh <output binary>   (GO may name the go command to use)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$(realpath -m "${1:?usage: build.sh <output binary>}")" # the build runs from this folder
go="${GO:-go}"
version="v1.24.2"
src_copy="$root/.local/build/ferretdb-src"

module_dir="$(cd "$here" && "$go" mod download -json "github.com/FerretDB/FerretDB@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[ -d "$module_dir" ] || { echo "cannot download FerretDB $version" >&2; exit 1; }

rm -rf "$src_copy"
mkdir -p "$(dirname "$src_copy")"
cp -r "$module_dir" "$src_copy"
chmod -R u+w "$src_copy"

handler="$src_copy/internal/handler"
cat > "$handler/serialized_writes.go" <<'GO'
package handler

import "sync"

// writeMu makes every write command atomic with respect to the others, as MongoDB's
// single-document updates are. Added by the project's build (tools/ferretdb/build.sh).
var writeMu sync.Mutex
GO
for command in MsgUpdate MsgFindAndModify MsgDelete MsgInsert; do
    file="$(grep -l "^func (h \*Handler) $command(" "$handler"/msg_*.go)"
    sed -i "/^func (h \*Handler) $command(/a\\
\twriteMu.Lock()\\
\tdefer writeMu.Unlock()\\
" "$file"
    grep -q "writeMu.Lock" "$file" || { echo "patching $command failed" >&2; exit 1; }
done

update="$handler/msg_update.go"
sed -i '/^\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)$/a\
\t\tcloser.Close() // this statement'"'"'s read goes back to the pool now, not when the command ends (patched)
' "$update"
grep -q "closer.Close() // this statement's read" "$update" || { echo "patching the update's reads failed" >&2; exit 1; }

cat > "$handler/buffered_cursors.go" <<'GO'
package handler

import (
	"context"

	"github.com/FerretDB/FerretDB/internal/clientconn/cursor"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/iterator"
)

// newBufferedCursor registers a cursor whose documents are already read, so that it holds no storage
// connection while its client is away between batches: a writer holding writeMu must never wait for a
// connection that only the client of an open cursor, itself waiting for a write, can give back.
// Added by the project's build (tools/ferretdb/build.sh).
func newBufferedCursor(ctx context.Context, r *cursor.Registry, iter types.DocumentsIterator,
	params *cursor.NewParams,
) *cursor.Cursor {
	if params.Type != cursor.Normal { // tailable cursors read again on each getMore
		return r.NewCursor(ctx, iter, params)
	}

	docs, err := iterator.ConsumeValues(iter) // closes iter: its connection goes back to the pool
	buffered := iterator.Values(iterator.ForSlice(docs))

	if err != nil {
		buffered.Close()
		buffered = iterator.ForFunc(func() (struct{}, *types.Document, error) { return struct{}{}, nil, err })
	}

	return r.NewCursor(ctx, buffered, params)
}
GO
for file in "$handler/msg_find.go" "$handler/msg_aggregate.go"; do
    sed -i 's/h\.cursors\.NewCursor(ctx, /newBufferedCursor(ctx, h.cursors, /' "$file"
    grep -q "newBufferedCursor(ctx, h.cursors, " "$file" || { echo "patching the cursors of $file failed" >&2; exit 1; }
done
! grep -rq "h\.cursors\.NewCursor(" "$handler" || { echo "a cursor is left unbuffered" >&2; exit 1; }

metadata="$src_copy/internal/backends/sqlite/metadata/metadata.go"
sed -i "s|IDColumn = DefaultColumn + \"->'\\\$._id'\"|IDColumn = DefaultColumn + \`->\"_id\"\`|" "$metadata"
grep -q 'IDColumn = DefaultColumn + `->"_id"`' "$metadata" || { echo "patching IDColumn failed" >&2; exit 1; }

collection="$src_copy/internal/backends/sqlite/collection.go"
sed -i '0,/if params.Filter.Len() == 1 {/s//if params.Filter.Len() >= 1 { \/\/ any filter naming an _id (patched)/' "$collection"
grep -q 'if params.Filter.Len() >= 1 {' "$collection" || { echo "patching the _id pushdown failed" >&2; exit 1; }

sqlite_backend="$src_copy/internal/backends/sqlite"
registry_sqlite="$src_copy/internal/handler/registry/sqlite.go"
sed -i 's/^\t\t\tEnableNestedPushdown:    opts.EnableNestedPushdown,$/\t\t\tEnableNestedPushdown:    true, \/\/ dotted keys reach the prefilter (patched)/' "$registry_sqlite"
grep -q "EnableNestedPushdown:    true," "$registry_sqlite" || { echo "patching the dotted keys' pushdown failed" >&2; exit 1; }
cat > "$sqlite_backend/prefilter.go" <<'GO'
package sqlite

import (
	"fmt"
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/types"
)

// prefilter narrows a query to the rows that can match the filter's equalities on
// top-level fields with plain string values ({status: "queued"}), so that SQLite uses the field's
// index (created on the same expression) and the rows it rules out are never decoded; and, for a range
// on a member of an embedded value ({"outbox.at": {$lt: t}}), to the rows where that value is not
// empty. It is a superset of what the filter matches: a row whose field is an array is kept (MongoDB's
// equality matches an array holding the value), and the caller filters every row with the whole
// filter again. Only field names and values whose JSON text is unambiguous are used; anything else is
// left to that filter. Added by the project's build (tools/ferretdb/build.sh).
func prefilter(filter *types.Document) (string, []any) {
	var where string
	var args []any

	add := func(clause string) {
		if where == "" {
			where = " WHERE " + clause
		} else {
			where += " AND " + clause
		}
	}

	for _, key := range filter.Keys() {
		value, _ := filter.Get(key)

		if top, _, dotted := strings.Cut(key, "."); dotted {
			if plainText(top, false) && onlyRanges(value) {
				add(fmt.Sprintf(`%s->%q NOT IN ('[]', '{}')`, metadata.DefaultColumn, top))
			}

			continue
		}

		s, ok := value.(string)
		if !ok || key == "_id" || !plainText(key, false) || !plainText(s, true) {
			continue
		}

		column := fmt.Sprintf(`%s->%q`, metadata.DefaultColumn, key) // the expression indexes are built on
		add(fmt.Sprintf(`(%[1]s = ? OR (%[1]s >= '[' AND %[1]s < '\'))`, column))
		args = append(args, fmt.Sprintf(`"%s"`, s))
	}

	return where, args
}

// onlyRanges reports whether value is an operator document of $lt, $lte, $gt and $gte on values other
// than null: such a condition on "a.b" matches nothing where "a" is missing, null, an empty array or an
// empty document (there is no "a.b" to compare), so those rows can be left out.
func onlyRanges(value any) bool {
	ops, ok := value.(*types.Document)
	if !ok || ops.Len() == 0 {
		return false
	}

	for _, op := range ops.Keys() {
		v, _ := ops.Get(op)
		if _, null := v.(types.NullType); null || v == nil {
			return false
		}

		switch op {
		case "$lt", "$lte", "$gt", "$gte":
		default:
			return false
		}
	}

	return true
}

// plainText reports whether s is made of characters JSON writes as themselves (a value may also hold
// a few punctuation marks found in identifiers, addresses and phone numbers); a key must not start
// with "$" (an operator).
func plainText(s string, value bool) bool {
	if s == "" {
		return false
	}

	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
		case value && (r == '-' || r == '.' || r == ':' || r == '@' || r == '+'):
		default:
			return false
		}
	}

	return true
}
GO
sed -i '0,/^\tq += whereClause$/s//\tif whereClause == "" { \/\/ the rest of the filter narrows the scan (patched)\n\t\twhereClause, args = prefilter(params.Filter)\n\t}\n\n\tq += whereClause/' "$collection"
grep -q 'whereClause, args = prefilter(params.Filter)' "$collection" || { echo "patching the prefilter failed" >&2; exit 1; }

cd "$here"
CGO_ENABLED=0 "$go" build -trimpath -o "$out" .
