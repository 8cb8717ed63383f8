#!/usr/bin/env bash
# History benchmark (issue 4): `mvc diff` and `mvc gc --all-commits` on a history of 100
# commits, each changing 10 files of a 20,000-file directory. Prints a Markdown table.
# Usage: bench/history.sh [FILES] [COMMITS]
set -euo pipefail

files="${1:-20000}"
commits="${2:-100}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo_root/target}"
if [[ -z "${MVC_BIN:-}" ]]; then
    cargo build --release --quiet --manifest-path "$repo_root/Cargo.toml"
fi
mvc="${MVC_BIN:-$target/release/mvc}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
git init -q -b main repo
cd repo
git config user.name bench
git config user.email bench@example.com
"$mvc" init -q
"$mvc" remote add origin "$work/store" --layout loose
mkdir data
python3 - "$files" <<'PY'
import os, sys
for i in range(int(sys.argv[1])):
    d = f"data/{i % 100:02d}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i}.txt", "w") as f:
        f.write(f"row {i}\n" * (1 + i % 50))
PY
"$mvc" add -q data -m "data v0"
for c in $(seq 1 "$commits"); do
    for k in $(seq 0 9); do
        i=$(( (c * 10 + k) % files ))
        echo "edit $c" >> "data/$(printf '%02d' $(( i % 100 )))/f$i.txt"
    done
    "$mvc" commit -q -m "data v$c"
done
"$mvc" push -q --all-commits

measure() { # measure LABEL CMD...
    local start end
    start=$(date +%s.%N)
    "$@" > /dev/null 2>&1
    end=$(date +%s.%N)
    printf '| `mvc %s` | %.2f s |\n' "${*:2}" "$(echo "$end - $start" | bc)"
}

echo "| command | wall time |"
echo "|---|---|"
measure "$mvc" diff HEAD~1 HEAD
measure "$mvc" diff "HEAD~$((commits - 1))" HEAD
measure "$mvc" diff "HEAD~$((commits - 1))" HEAD --granular
measure "$mvc" log data
measure "$mvc" gc --all-commits --dry-run
measure "$mvc" gc --keep-last 1 --dry-run
measure "$mvc" gc --keep-last 1
echo
echo "($files files, $commits commits, $(nproc) cores; cache objects after gc: $(find .git/mvc/cache/blake3 -type f | wc -l))"
