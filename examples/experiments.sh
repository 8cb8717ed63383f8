#!/usr/bin/env bash
# Experiments end to end, in a temp dir: a small shell training script writes a model,
# metrics and a step log; five runs with different learning rates; the runs sorted by a
# metric; their loss curves in one chart; the best run applied and registered; the runs
# pushed, then pulled into a fresh clone that lists the same table. Needs the Rust
# toolchain, git and awk (python3, when present, checks the SVG parses as XML).
# EXPERIMENTS_SVG=PATH keeps a copy of the chart (docs/experiments-example.svg is one).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo_root/target}"
if [[ -n "${MVC_BIN:-}" ]]; then
    export PATH="$(dirname "$MVC_BIN"):$PATH"
elif [[ "${MVC_DEBUG:-}" == 1 ]]; then
    cargo build --quiet --manifest-path "$repo_root/Cargo.toml" --bin mvc
    export PATH="$target/debug:$PATH"
else
    cargo build --release --quiet --manifest-path "$repo_root/Cargo.toml" --bin mvc
    export PATH="$target/release:$PATH"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
step() { printf '\n$ %s\n' "$*"; "$@"; }
fail() { echo "experiments: FAILED: $*" >&2; exit 1; }

cd "$work"
git init -q --bare -b main origin.git
git init -q -b main project
cd project
git config user.name "Experimenter"
git config user.email exp@example.com
git remote add origin "$work/origin.git"

# The training script: reads lr from params.yaml, appends one JSON line per step to
# logs/train.jsonl, writes metrics.json and the "weights". Any language can do this.
cat > train.sh <<'EOF'
#!/bin/sh
set -e
lr=$(awk '/^lr:/ {print $2}' params.yaml)
epochs=$(awk '/^epochs:/ {print $2}' params.yaml)
mkdir -p logs
: > logs/train.jsonl
awk -v lr="$lr" -v n="$epochs" 'BEGIN {
    for (s = 1; s <= n; s++) {
        loss = 0.1 + 1 / (1 + lr * 40 * s) + (lr > 0.05 ? 0.3 * (s % 2) * lr * 10 / s : 0)
        printf "{\"step\": %d, \"loss\": %.4f}\n", s, loss
    }
}' >> logs/train.jsonl
awk -v lr="$lr" 'BEGIN { d = log(lr) / log(10) + 2; printf "{\"auc\": %.4f}\n", 0.92 - d * d * 0.04 }' > metrics.json
awk -v lr="$lr" 'BEGIN { for (i = 0; i < 4096; i++) printf "w%s-%d\n", lr, i }' > model.bin
EOF
chmod +x train.sh
printf '# training parameters\nlr: 0.02  # learning rate\nepochs: 12\n' > params.yaml
printf 'model.bin\n' > .gitignore

step mvc init -q
step mvc remote add storage "$work/storage"
./train.sh
step mvc add -q model.bin --params params.yaml --metrics metrics.json
git add -A && git commit -qm "Baseline model" && git push -q origin main
step mvc push -q

# Five runs, none of them a commit on main.
for lr in 0.001 0.003 0.01 0.03 0.1; do
    step mvc exp run -q -n "lr-$lr" --set "lr=$lr" -- ./train.sh
done
[[ "$(git rev-list --count main)" == 1 && -z "$(git diff --cached --name-only)" ]] || fail "the runs moved the branch or staged files"

step mvc exp show --sort-by auc --sort-order desc | tee "$work/table.txt"
best="$(mvc exp show --sort-by auc --sort-order desc --csv | sed -n 2p | cut -d, -f1)"
[[ "$best" == "lr-0.01" ]] || fail "best run is $best"

step mvc plots loss --steps --rev lr-0.001 --rev lr-0.003 --rev lr-0.01 --rev lr-0.03 --rev lr-0.1 -o loss.svg
series="$(grep -c '<path class="series"' loss.svg)"
[[ "$series" == 5 ]] || fail "loss.svg has $series series, not 5"
if command -v python3 > /dev/null; then
    python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' loss.svg || fail "loss.svg is not XML"
fi
if [[ -n "${EXPERIMENTS_SVG:-}" ]]; then cp loss.svg "$EXPERIMENTS_SVG"; fi

# The best run into the workspace (code, params, pointer, data), then into the registry.
step mvc exp apply "$best"
grep -q '^lr: 0.01  # learning rate$' params.yaml || fail "params.yaml is not the best run's"
[[ "$(head -1 model.bin)" == "w0.01-0" ]] || fail "model.bin is not the best run's"
# Share the runs: refs to git's origin, data to the mvc remote; a teammate sees them all.
step mvc exp push -q
step mvc register -q churn model.bin --rev "$best"
step mvc metrics show churn@latest
git push -q origin main --tags
cd "$work"
git clone -q origin.git teammate
cd teammate
step mvc exp pull -q
step mvc exp show --sort-by auc --sort-order desc | tee "$work/table2.txt"
diff "$work/table.txt" "$work/table2.txt" || fail "the teammate's table differs"
step mvc exp apply lr-0.01
[[ "$(head -1 model.bin)" == "w0.01-0" ]] || fail "the teammate's model.bin is not the best run's"
echo "experiments: OK (5 runs, best $best applied and registered, same table after push and pull)"
