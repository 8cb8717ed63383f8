#!/usr/bin/env bash
# mvc's main job end to end, in a temp dir: init, add a model file and a data directory,
# commit, delete and check out again, push to a local-directory remote, clone, pull, and
# verify every byte. Needs only the Rust toolchain and git.
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
trap 'rm -rf "$work"' EXIT
step() { printf '\n$ %s\n' "$*"; "$@"; }
fail() { echo "quickstart: FAILED: $*" >&2; exit 1; }

cd "$work"
git init -q -b main project
cd project
git config user.name "Quickstart"
git config user.email quickstart@example.com

# An 8 MiB "model" and a 100-file dataset, with copies kept aside to compare against.
head -c $((8 << 20)) /dev/urandom > model.safetensors
mkdir -p data/train data/test
for i in $(seq 1 100); do
    split=train; (( i % 5 == 0 )) && split=test
    printf 'id,value\n%d,%d\n' "$i" "$RANDOM" > "data/$split/part-$i.csv"
done
mkdir "$work/original"
cp -r model.safetensors data "$work/original/"

step mvc init
step mvc add model.safetensors data
step git commit -qm "Track the model and the dataset with mvc"
step git status --short
step mvc status

# The workspace copy can always be restored from the cache.
rm -rf model.safetensors data
step mvc status
step mvc checkout
cmp model.safetensors "$work/original/model.safetensors" || fail "checkout changed the model"
diff -r data "$work/original/data" || fail "checkout changed the dataset"

# Share: push to a remote (a local directory here; s3://, gs://, az:// work the same way).
step mvc remote add origin "$work/remote"
git add .mvc/config && git commit -qm "Add the mvc remote"
step mvc push

# A teammate (or CI) clones the code and pulls exactly the data this commit pins.
cd "$work"
step git clone -q project teammate
cd teammate
step mvc pull
cmp model.safetensors "$work/original/model.safetensors" || fail "the pulled model differs"
diff -r data "$work/original/data" || fail "the pulled dataset differs"
step mvc status --check

echo
echo "quickstart: OK (model and 100-file dataset identical after push, clone and pull)"
