#!/usr/bin/env bash
# The model registry end to end: train (a stand-in script), record metrics, register,
# promote to staging then production, register a better version, promote it, roll back,
# and pull the production model by name in a fresh clone. Runs in a temp dir.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo_root/target}"
if [[ -n "${MVC_BIN:-}" ]]; then
    # A binary already built (the test suite passes its own).
    export PATH="$(dirname "$MVC_BIN"):$PATH"
elif [[ "${MVC_DEBUG:-}" == 1 ]]; then
    cargo build --quiet --manifest-path "$repo_root/Cargo.toml" --bin mvc
    export PATH="$target/debug:$PATH"
else
    cargo build --release --quiet --manifest-path "$repo_root/Cargo.toml" --bin mvc
    export PATH="$target/release:$PATH"
fi

work="$(mktemp -d)"
[[ -n "${KEEP:-}" ]] || trap 'rm -rf "$work"' EXIT
echo "working in $work"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

cd "$work"
git init -q -b main project
cd project
git config user.name "Registry Example"
git config user.email example@example.com
step mvc init -q
step mvc remote add origin "$work/store"
git add -A && git commit -qm "mvc init"

# A stand-in for training: writes a model and its metrics.
train() { # train VERSION AUC
    printf 'weights of %s\n' "$1" > churn.pkl
    printf '{"auc": %s, "loss": {"train": 0.3}}\n' "$2" > metrics.json
}

mkdir -p data && printf 'x,y\n1,0\n2,1\n' > data/train.csv
step mvc add -q data -m "training data"
train v1 0.81
step mvc add -q churn.pkl --metrics metrics.json --param lr=0.1 --dep data --desc "churn classifier" -m "churn model v1"
step mvc push -q
step mvc register churn churn.pkl
step mvc promote churn v0.1.0 --to staging
step mvc promote churn v0.1.0 --to production

train v2 0.86
step mvc commit -q churn.pkl -m "churn model v2: better features"   # re-reads metrics.json
step mvc push -q
step mvc register churn --bump minor -m "better features"
step mvc promote churn v0.2.0 --to production
step mvc models
step mvc show churn#production

# Production misbehaves: put v0.1.0 back in one command.
step mvc rollback churn --stage production -m "v0.2.0 misbehaves on new customers"
step mvc models
step mvc show churn
step mvc history churn
step mvc lineage churn#production

cd "$work"
step git clone -q project clone
cd clone
step mvc pull -q churn#production
grep -q "weights of v1" churn.pkl
echo
echo "registry example: OK (production is v0.1.0 in a fresh clone)"
