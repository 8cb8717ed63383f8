#!/usr/bin/env bash
# Experiments (issue 13), measured in one run on this machine (numbers go in
# docs/benchmarks.md):
#   1. `mvc exp save` of a workspace whose 1 GiB model changed, next to `mvc commit` of the
#      same change (each after writing a new 1 GiB model, so both hash and store 1 GiB);
#   2. `mvc exp show` (text and `--json`) of 200 experiments, each with params, a metrics
#      file and a 100-step log.
# Usage: bench/exp.sh [SIZE_MIB] [RUNS]
set -euo pipefail

size_mib="${1:-1024}"
runs="${2:-200}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo_root/target}"
if [[ -n "${MVC_BIN:-}" ]]; then
    mvc="$MVC_BIN"   # a binary already built (e.g. the dev profile, deps optimized)
else
    cargo build --release --quiet --manifest-path "$repo_root/Cargo.toml" --bin mvc
    mvc="$CARGO_TARGET_DIR/release/mvc"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/mvc-exp-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
git init -q -b main project
cd project
git config user.name Bench
git config user.email bench@example.com
"$mvc" init -q
printf 'lr: 0.1\nbatch: 32\n' > params.yaml
echo '{"auc": 0.5}' > metrics.json
head -c $((size_mib << 20)) /dev/urandom > model.bin
"$mvc" add -q model.bin --params params.yaml --metrics metrics.json
git add -A && git commit -qm base

seconds() { local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
new_model() { head -c $((size_mib << 20)) /dev/urandom > model.bin; sync; }

echo "size: $size_mib MiB" >&2
# Alternating which goes first, so page-cache and neighbour noise hits both alike.
for round in 1 2 3 4; do
    new_model
    if (( round % 2 )); then
        s=$(seconds "$mvc" exp save -q -n "big-$round")
        new_model
        c=$(seconds "$mvc" commit -q model.bin)
    else
        c=$(seconds "$mvc" commit -q model.bin)
        git checkout -q HEAD -- model.bin.mvc
        new_model
        s=$(seconds "$mvc" exp save -q -n "big-$round")
    fi
    git checkout -q HEAD -- model.bin.mvc   # back to the committed pointer, data stays new
    echo "round $round: mvc commit ${c}s, mvc exp save ${s}s" >&2
done

echo "saving $runs small experiments…" >&2
head -c 4096 /dev/urandom > model.bin && "$mvc" commit -q model.bin -m small && git add -A && git commit -qm small -q || true
"$mvc" exp remove --all > /dev/null 2>&1 || true
mkdir -p logs
for i in $(seq 1 "$runs"); do
    printf 'lr: 0.%04d\nbatch: 32\n' "$i" > params.yaml
    printf '{"auc": 0.%04d, "loss": %d.5}\n' "$i" "$i" > metrics.json
    awk -v i="$i" 'BEGIN { for (s = 1; s <= 100; s++) printf "{\"step\": %d, \"loss\": %.4f}\n", s, i / s }' > logs/train.jsonl
    "$mvc" exp save -q -n "run-$i" > /dev/null
done
for round in 1 2 3; do
    t=$(seconds "$mvc" exp show --sort-by auc)
    j=$(seconds "$mvc" exp show --json)
    echo "round $round: exp show of $runs runs ${t}s, --json ${j}s" >&2
done
