#!/usr/bin/env bash
# Two people sync one folder through a local-directory remote: the README's quickstart,
# run end to end in a temp folder. Exits non-zero if any step does not do what it says.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bm() { "$here/bin/bm-log" "$@"; } # the launcher, as an installed `bm-log` runs it
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/alice/notes" "$work/bob"
echo "# Plan" > "$work/alice/notes/plan.md"

echo "== alice creates the team vault and syncs"
bm init --create --remote "$work/team-remote" --name alice --dir "$work/alice"
echo "== bob joins and gets alice's notes; he waits to be admitted"
bm init --remote "$work/team-remote" --name bob --dir "$work/bob"
test "$(cat "$work/bob/notes/plan.md")" = "# Plan"
echo "== alice (the vault's admin) checks bob's key fingerprint and admits him"
bm members --dir "$work/alice"
bm members add bob --dir "$work/alice"

echo "== both edit the same note, then sync: a conflict, both versions kept"
echo "alice's idea" >> "$work/alice/notes/plan.md"
echo "bob's idea" >> "$work/bob/notes/plan.md"
bm sync --dir "$work/alice"
bm sync --dir "$work/bob"
bm sync --dir "$work/alice"
bm conflicts --dir "$work/bob"
ls "$work/bob/notes" | grep -q '\.conflict-'

echo "== bob keeps his file as it is and deletes the copy: resolved everywhere"
rm "$work/bob/notes/"*.conflict-*
bm sync --dir "$work/bob"
bm sync --dir "$work/alice"
cmp "$work/alice/notes/plan.md" "$work/bob/notes/plan.md"
test -z "$(ls "$work/alice/notes" | grep '\.conflict-' || true)"

echo "== history of the note"
bm log notes/plan.md --dir "$work/alice"
bm verify --dir "$work/alice"
echo "demo: OK"
