#!/usr/bin/env bash
# mvc benchmarks, measured in one run on this machine (numbers go in docs/benchmarks.md):
#   1. `mvc add` and a clean / touched `mvc status` on a 1 GiB file and a 20,000-file
#      directory, next to `b3sum` + `cp` of the same files;
#   2. `mvc push` / `mvc pull` of both to an S3 server on loopback, next to `dvc push` /
#      `dvc pull` against the same server.
# Installs b3sum (cargo) and DVC (pip, in a venv) under $BENCH_HOME when they are missing.
# Usage: bench/run.sh [SIZE_MIB] [FILES]; MVC_PROFILE picks the cargo profile (default `measure`).
set -euo pipefail

size_mib="${1:-1024}"
nfiles="${2:-20000}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo_root/target}"
BENCH_HOME="${BENCH_HOME:-$HOME/.cache/mvc-bench}"
mkdir -p "$BENCH_HOME"

profile="${MVC_PROFILE:-measure}"
echo "building mvc and the loopback S3 server (profile $profile: release without fat LTO)…" >&2
cargo build --profile "$profile" --quiet --manifest-path "$repo_root/Cargo.toml" --bin mvc --example s3_server
mvc="$CARGO_TARGET_DIR/$profile/mvc"
server="$CARGO_TARGET_DIR/$profile/examples/s3_server"
if ! command -v b3sum > /dev/null; then
    [[ -x "$BENCH_HOME/bin/b3sum" ]] || cargo install --quiet b3sum --root "$BENCH_HOME"
    export PATH="$BENCH_HOME/bin:$PATH"
fi
if ! command -v dvc > /dev/null; then
    if [[ ! -x "$BENCH_HOME/dvc/bin/dvc" ]]; then
        python3 -m venv "$BENCH_HOME/dvc"
        "$BENCH_HOME/dvc/bin/pip" install --quiet 'dvc[s3]'
    fi
    export PATH="$PATH:$BENCH_HOME/dvc/bin"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() { [[ -n "$server_pid" ]] && kill "$server_pid" 2> /dev/null; rm -rf "$work"; }
trap cleanup EXIT

export AWS_ACCESS_KEY_ID=AKIAMVCTEST AWS_SECRET_ACCESS_KEY=mvc-test-secret-do-not-print
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
mkfifo "$work/ready"
"$server" --root "$work/s3" --bucket mvc --bucket dvc > "$work/ready" &
server_pid=$!
read -r _ endpoint < "$work/ready"

rows=()
# measure LABEL CMD...: wall seconds and peak RSS of one run. Dirty pages are flushed and
# the disk given a moment first, so no run pays for the previous one's writeback.
measure() {
    local label="$1"
    shift
    sync
    sleep 2
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" > /dev/null 2> "$work/stderr" || {
        echo "FAILED: $label" >&2
        cat "$work/stderr" >&2
        rows+=("| $label | failed | |")
        return 0
    }
    read -r secs kib < "$work/time"
    rows+=("| $label | $secs s | $((kib / 1024)) MiB |")
    echo "$label: $secs s, $((kib / 1024)) MiB" >&2
}

git_repo() { # git_repo DIR
    git init -q -b main "$1"
    git -C "$1" config user.name bench
    git -C "$1" config user.email bench@example.com
}

echo "making workloads: ${size_mib} MiB file, ${nfiles} files…" >&2
mkdir -p "$work/src/many"
head -c $((size_mib << 20)) /dev/urandom > "$work/src/big.bin"
python3 - "$work/src/many" "$nfiles" << 'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
for i in range(n):
    d = os.path.join(root, f"{i % 200:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i}.bin"), "wb") as f:
        f.write(rng.randbytes(rng.randint(1024, 4096)))
PY

for workload in big.bin many; do
    label="$workload"
    [[ "$workload" == big.bin ]] && label="${size_mib} MiB file" || label="${nfiles} files"
    # Reference: hash and copy the same bytes.
    # mvc makes its cache durable (fsync/syncfs), so the fair reference syncs too.
    sync
    if [[ "$workload" == big.bin ]]; then
        measure "b3sum, $label" b3sum "$work/src/big.bin"
        measure "cp + sync, $label" bash -c "cp '$work/src/big.bin' '$work/copy.bin' && sync"
    else
        measure "b3sum, $label" bash -c "cd '$work/src' && find many -type f -print0 | xargs -0 b3sum"
        measure "cp -r + sync, $label" bash -c "cp -r '$work/src/many' '$work/copy-many' && sync"
    fi
    sync
    rm -rf "$work/copy.bin" "$work/copy-many"

    # mvc: add, clean status, status after touching 10 files, push, clone + pull.
    repo="$work/mvc-$workload"
    git_repo "$repo"
    (cd "$repo" && "$mvc" init -q && "$mvc" remote add -q origin "s3://mvc/$workload" \
        && "$mvc" remote modify -q origin endpoint "$endpoint" && git add -A && git commit -qm init)
    cp -r "$work/src/$workload" "$repo/"
    measure "mvc add, $label" "$mvc" -C "$repo" add -q "$workload"
    git -C "$repo" add -A
    git -C "$repo" commit -qm data
    measure "mvc status (clean), $label" "$mvc" -C "$repo" status
    if [[ "$workload" == many ]]; then
        mapfile -t touched < <(find "$repo/many" -type f | sort | sed -n 1,10p)
        touch "${touched[@]}"
        measure "mvc status (10 touched), $label" "$mvc" -C "$repo" status
    fi
    measure "mvc push, $label" "$mvc" -C "$repo" push -q
    git clone -q "$repo" "$repo-clone"
    measure "mvc pull (fresh clone), $label" "$mvc" -C "$repo-clone" pull -q
    if [[ -d "$repo/$workload" ]]; then
        diff -rq "$repo/$workload" "$repo-clone/$workload"
    else
        cmp "$repo/$workload" "$repo-clone/$workload"
    fi || echo "WARNING: mvc pull did not reproduce $workload" >&2

    # DVC against the same server.
    repo="$work/dvc-$workload"
    git_repo "$repo"
    (cd "$repo" && dvc init -q && dvc remote add -q -d origin "s3://dvc/$workload" \
        && dvc remote modify origin endpointurl "$endpoint" && git add -A && git commit -qm init)
    cp -r "$work/src/$workload" "$repo/"
    measure "dvc add, $label" bash -c "cd '$repo' && dvc add -q '$workload'"
    (cd "$repo" && git add -A && git commit -qm data)
    measure "dvc push, $label" bash -c "cd '$repo' && dvc push -q"
    git clone -q "$repo" "$repo-clone"
    measure "dvc pull (fresh clone), $label" bash -c "cd '$repo-clone' && dvc pull"
    rm -rf "$work/mvc-$workload" "$work/mvc-$workload-clone" "$work/dvc-$workload" "$work/dvc-$workload-clone"
done

echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), temp dir on $(df -T "$work" | awk 'NR==2 {print $2}')"
echo "mvc $("$mvc" --version | cut -d' ' -f2), $(b3sum --version), $(dvc --version 2> /dev/null | sed 's/^/dvc /')"
echo
echo "| operation | wall time | peak RSS |"
echo "|---|---|---|"
printf '%s\n' "${rows[@]}"
