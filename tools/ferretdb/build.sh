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
# usage: build.sh <output binary>   (GO may name the go command to use)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:?usage: build.sh <output binary>}"
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

metadata="$src_copy/internal/backends/sqlite/metadata/metadata.go"
sed -i "s|IDColumn = DefaultColumn + \"->'\\\$._id'\"|IDColumn = DefaultColumn + \`->\"_id\"\`|" "$metadata"
grep -q 'IDColumn = DefaultColumn + `->"_id"`' "$metadata" || { echo "patching IDColumn failed" >&2; exit 1; }

collection="$src_copy/internal/backends/sqlite/collection.go"
sed -i '0,/if params.Filter.Len() == 1 {/s//if params.Filter.Len() >= 1 { \/\/ any filter naming an _id (patched)/' "$collection"
grep -q 'if params.Filter.Len() >= 1 {' "$collection" || { echo "patching the _id pushdown failed" >&2; exit 1; }

cd "$here"
CGO_ENABLED=0 "$go" build -trimpath -o "$out" .
