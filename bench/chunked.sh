#!/usr/bin/env bash
# Chunked remotes (issue #12), measured in one run beside DVC and git-lfs; numbers go in
# docs/benchmarks.md. mvc and DVC talk to the loopback S3 server (examples/s3_server.rs, which
# logs every request, so requests are counted on the server); git-lfs pushes to a bare repo
# on disk (it needs an LFS server, not S3). Workloads:
#   1. versions of a SIZE file: v2 overwrites 25 MiB in place, v3 changes 1 MiB, v4 inserts
#      4 KiB in the middle: bytes sent and remote growth;
#   2. 10 versions of a BIG file, 5% changed each time: what the remote holds;
#   3. FILES files of 1-16 KiB: push and fresh-clone pull, time and requests;
#   4. a new BIG file pushed and pulled through a local-directory remote, chunked vs loose;
#   5. one file pulled out of a DIR_FILES-file directory: requests;
#   6. peak memory pushing and pulling a MEM file;
#   7. a compressible CSV of CSV MiB: what the remote stores.
# Usage: bench/chunked.sh [SIZE_MIB=256] [BIG_MIB=1024] [FILES=5000] [DIR_FILES=20000] [MEM_MIB=4096] [CSV_MIB=500]
# Builds with MVC_PROFILE (default `measure`: release without fat LTO, see Cargo.toml);
# MVC_BIN=path skips building mvc (then S3_SERVER_BIN=path names the server too).
set -euo pipefail

size_mib="${1:-256}"
big_mib="${2:-1024}"
nfiles="${3:-5000}"
dir_files="${4:-20000}"
mem_mib="${5:-4096}"
csv_mib="${6:-500}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo_root/target}"
if [[ -z "${MVC_BIN:-}" ]]; then
    profile="${MVC_PROFILE:-measure}"
    echo "building mvc and the loopback S3 server (profile $profile)…" >&2
    cargo build --profile "$profile" --quiet --manifest-path "$repo_root/Cargo.toml" --bin mvc --example s3_server
    MVC_BIN="$CARGO_TARGET_DIR/$profile/mvc"
    S3_SERVER_BIN="$CARGO_TARGET_DIR/$profile/examples/s3_server"
fi
mvc="$(realpath "$MVC_BIN")"
server="$(realpath "${S3_SERVER_BIN:?set S3_SERVER_BIN with MVC_BIN}")"
dvc version 2> /dev/null | grep 's3 (' > /dev/null || { echo "DVC with S3 support is not installed (pip install 'dvc[s3]')" >&2; exit 1; }
git lfs version > /dev/null 2>&1 || { echo "git-lfs is not installed (apt install git-lfs)" >&2; exit 1; }

work="$(mktemp -d)"
server_pid=""
cleanup() { [[ -n "$server_pid" ]]; kill "$server_pid" 2> /dev/null; rm -rf "$work"; }
trap cleanup EXIT
# git-lfs's filters go in a global config of this run only.
export GIT_CONFIG_GLOBAL="$work/gitconfig"
git config --global user.name bench
git config --global user.email bench@example.com
git config --global init.defaultBranch main
git lfs install > /dev/null

export AWS_ACCESS_KEY_ID=AKIAMVCTEST AWS_SECRET_ACCESS_KEY=mvc-test-secret-do-not-print
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
mkfifo "$work/ready"
"$server" --root "$work/s3" --bucket mvc --bucket mvcloose --bucket dvc --requests "$work/requests" > "$work/ready" 2>&1 &
server_pid=$!
read -r _ endpoint < "$work/ready"

rows=()
row() { rows+=("| $1 | $2 | $3 | $4 |"); echo "$1: mvc $2 | DVC $3 | git-lfs $4" >&2; }
mib() { python3 -c "print(f'{$1/1048576:.2f} MiB')"; }
bytes_under() { if [[ -e "$1" ]]; then du -sb "$1" | cut -f1; else echo 0; fi; }
requests_to() { grep -c " /$1/" "$work/requests" || true; }
# timed LABEL CMD...: runs CMD after flushing the disk; sets $secs and $peak_mib.
timed() {
    sync
    sleep 1
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out" 2> "$work/err" || {
        echo "FAILED: $*" >&2
        cat "$work/err" >&2
        exit 1
    }
    read -r secs kib < "$work/time"
    peak_mib=$((kib / 1024))
}
# One interface over the three tools, so each workload is written once. TOOL is `mvc`
# (chunked), `mvcloose` (mvc's loose layout), `dvc` or `lfs`; PREFIX names the workload.
setup() { # setup TOOL REPO PREFIX: a git repo with the tool's remote configured and committed
    local tool=$1 repo=$2 prefix=$3
    case $tool in
        lfs)
            git init -q --bare "$repo.remote.git"
            git init -q "$repo"
            git -C "$repo" lfs track '*.bin' '*.csv' 'data/**' > /dev/null
            git -C "$repo" remote add origin "$repo.remote.git"
            ;;
        dvc)
            git init -q "$repo"
            (cd "$repo" && dvc init -q)
            (cd "$repo" && dvc remote add -q -d origin "s3://dvc/$prefix")
            (cd "$repo" && dvc remote modify origin endpointurl "$endpoint")
            ;;
        mvc | mvcloose)
            local layout=chunked
            [[ $tool == mvc ]] || layout=loose
            git init -q "$repo"
            "$mvc" -C "$repo" init -q
            "$mvc" -C "$repo" remote add -q --layout "$layout" origin "s3://$tool/$prefix"
            "$mvc" -C "$repo" remote modify -q origin endpoint "$endpoint"
            ;;
    esac
    git -C "$repo" add -A
    git -C "$repo" commit -qm init
    if [[ $tool == lfs ]]; then git -C "$repo" push -q origin main; fi
}
store() { # store TOOL REPO PREFIX: where the tool's remote keeps this workload
    case $1 in
        lfs) echo "$2.remote.git/lfs" ;;
        *) echo "$work/s3/$1/$3" ;;
    esac
}
record() { # record TOOL REPO PATH MSG: version PATH and commit
    local tool=$1 repo=$2 path=$3 msg=$4
    case $tool in
        mvc | mvcloose) "$mvc" -C "$repo" add -q "$path" -m "$msg" ;;
        dvc) (cd "$repo" && dvc add -q "$path") ;;
    esac
    if [[ $tool == dvc || $tool == lfs ]]; then
        git -C "$repo" add -A
        git -C "$repo" commit -qm "$msg"
    fi
}
push() { # push TOOL REPO: timed
    case $1 in
        mvc | mvcloose) timed "$mvc" -C "$2" push --json ;;
        dvc) timed bash -c "cd '$2' && dvc push -q" ;;
        lfs) timed git -C "$2" push -q origin main ;;
    esac
}
clone_pull() { # clone_pull TOOL REPO CLONE [PATH]: a fresh clone, then a timed pull
    local tool=$1 repo=$2 clone=$3
    case $tool in
        lfs)
            GIT_LFS_SKIP_SMUDGE=1 git clone -q "$repo.remote.git" "$clone"
            timed git -C "$clone" lfs pull ${4:+--include "$4"}
            ;;
        dvc)
            git clone -q "$repo" "$clone"
            timed bash -c "cd '$clone' && dvc pull -q ${4:-}"
            ;;
        *)
            git clone -q "$repo" "$clone"
            timed "$mvc" -C "$clone" pull -q ${4:-}
            ;;
    esac
}
grew() { echo "grew $(mib $(($(bytes_under "$1") - $2)))"; }
mvc_sent() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes"])' "$work/out"; }
# change FILE KIND: the edits of workloads 1 and 2, at fixed offsets.
change() {
    python3 - "$1" "$2" << 'PY'
import os, random, sys
path, kind = sys.argv[1], sys.argv[2]
size = os.path.getsize(path)
if kind == "insert":
    data = open(path, "rb").read(); m = len(data) // 2
    open(path, "wb").write(data[:m] + os.urandom(4096) + data[m:])
    sys.exit()
with open(path, "r+b") as f:
    if kind == "overwrite25":
        f.seek(size // 3); f.write(os.urandom(25 << 20))
    elif kind == "change1":
        f.seek(10 << 20); f.write(os.urandom(1 << 20))
    elif kind.startswith("five_percent"):
        # 5% of the file in 10 blocks at places that differ from version to version.
        rng = random.Random(kind); block = size // 200
        for _ in range(10):
            f.seek(rng.randrange(0, size - block)); f.write(os.urandom(block))
PY
}
declare -A v

echo "1. versions of a ${size_mib} MiB file" >&2
head -c $((size_mib << 20)) /dev/urandom > "$work/v.bin"
for tool in mvc dvc lfs; do
    repo="$work/$tool-versions"
    setup $tool "$repo" versions
    where=$(store $tool "$repo" versions)
    cp "$work/v.bin" "$repo/model.bin"
    for step in v1 v2 v3 v4; do
        case $step in
            v2) change "$repo/model.bin" overwrite25 ;;
            v3) change "$repo/model.bin" change1 ;;
            v4) change "$repo/model.bin" insert ;;
        esac
        record $tool "$repo" model.bin "$step"
        before=$(bytes_under "$where")
        push $tool "$repo"
        v[$tool.$step]="$(grew "$where" "$before")"
        if [[ $tool == mvc ]]; then v[$tool.$step]="sent $(mib "$(mvc_sent)"), ${v[$tool.$step]}"; fi
    done
    v[$tool.total]="$(mib "$(bytes_under "$where")")"
    if [[ $tool == mvc ]]; then
        # Pulls into a clone that holds the previous version: downloaded vs copied from the cache.
        git clone -q "$repo" "$repo-clone"
        for n in 1 2 3 4; do
            git -C "$repo-clone" checkout -q "main~$((4 - n))"
            "$mvc" -C "$repo-clone" pull --json > "$work/out"
            v[pull.v$n]=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["bytes"], j["reused_bytes"])' "$work/out")
        done
        rm -rf "$repo-clone"
    fi
    rm -rf "$repo" "$repo.remote.git" "$where"
done
rm -f "$work/v.bin"
pulled() { read -r got reused <<< "${v[pull.$1]}"; echo "downloaded $(mib "$got"), $(mib "$reused") copied from the cache"; }
row "v1, new ${size_mib} MiB file" "${v[mvc.v1]}" "${v[dvc.v1]}" "${v[lfs.v1]}"
row "v2, 25 MiB overwritten in place (goal ≤ 33.5 MiB)" "${v[mvc.v2]}" "${v[dvc.v2]}" "${v[lfs.v2]}"
row "v3, 1 MiB changed (goal ≤ 2 MiB)" "${v[mvc.v3]}" "${v[dvc.v3]}" "${v[lfs.v3]}"
row "v4, 4 KiB inserted in the middle (goal ≤ 1 MiB sent)" "${v[mvc.v4]}" "${v[dvc.v4]}" "${v[lfs.v4]}"
row "remote after these 4 versions" "${v[mvc.total]}" "${v[dvc.total]}" "${v[lfs.total]}"
row "pull v2 into a clone holding v1" "$(pulled v2)" "whole file" "whole file"
row "pull v3 into a clone holding v2" "$(pulled v3)" "whole file" "whole file"
row "pull v4 into a clone holding v3" "$(pulled v4)" "whole file" "whole file"

echo "2. 10 versions of a ${big_mib} MiB file, 5% changed each time" >&2
head -c $((big_mib << 20)) /dev/urandom > "$work/v.bin"
for tool in mvc dvc lfs; do
    repo="$work/$tool-ten"
    setup $tool "$repo" ten
    where=$(store $tool "$repo" ten)
    cp "$work/v.bin" "$repo/model.bin"
    for i in 1 2 3 4 5 6 7 8 9 10; do
        if [[ $i != 1 ]]; then change "$repo/model.bin" "five_percent_$i"; fi
        record $tool "$repo" model.bin "v$i"
        push $tool "$repo"
    done
    v[$tool.ten]="$(mib "$(bytes_under "$where")")"
    rm -rf "$repo" "$repo.remote.git" "$where"
done
rm -f "$work/v.bin"
row "remote after 10 versions of ${big_mib} MiB, 5% changed each (goal ≤ 1.7 GiB)" "${v[mvc.ten]}" "${v[dvc.ten]}" "${v[lfs.ten]}"

# files DIR N MIN MAX: N random files of MIN-MAX bytes in 100 directories.
files() {
    python3 - "$@" << 'PY'
import os, random, sys
root, n, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]); rng = random.Random(n)
for i in range(n):
    d = os.path.join(root, f"d{i % 100:03d}"); os.makedirs(d, exist_ok=True)
    open(os.path.join(d, f"f{i:05d}.bin"), "wb").write(rng.randbytes(rng.randint(lo, hi)))
PY
}

echo "3. ${nfiles} files of 1-16 KiB" >&2
files "$work/small" "$nfiles" 1024 16384
for tool in mvc mvcloose dvc lfs; do
    repo="$work/$tool-small"
    setup $tool "$repo" small
    cp -r "$work/small" "$repo/data"
    record $tool "$repo" data files
    before=$(requests_to $tool)
    push $tool "$repo"
    v[$tool.push]="$secs s"
    if [[ $tool != lfs ]]; then v[$tool.push]+=", $(($(requests_to $tool) - before)) requests"; fi
    before=$(requests_to $tool)
    clone_pull $tool "$repo" "$repo-clone"
    v[$tool.pull]="$secs s"
    if [[ $tool != lfs ]]; then v[$tool.pull]+=", $(($(requests_to $tool) - before)) requests"; fi
    diff -rq "$work/small" "$repo-clone/data" > /dev/null || echo "WARNING: $tool pull did not reproduce the files" >&2
    rm -rf "$repo" "$repo-clone" "$repo.remote.git"
done
rm -rf "$work/small"
row "push ${nfiles} files of 1-16 KiB (goal ≥ 10x faster than DVC, ≤ 100 requests)" \
    "${v[mvc.push]} (loose layout: ${v[mvcloose.push]})" "${v[dvc.push]}" "${v[lfs.push]} (to a local bare repo)"
row "fresh clone + pull of them (goal ≥ 5x faster than DVC)" \
    "${v[mvc.pull]} (loose layout: ${v[mvcloose.pull]})" "${v[dvc.pull]}" "${v[lfs.pull]} (from a local bare repo)"

echo "4. a new ${big_mib} MiB file through a local-directory remote" >&2
repo="$work/mvc-new"
git init -q "$repo"
"$mvc" -C "$repo" init -q
"$mvc" -C "$repo" remote add -q --layout chunked chunked "$work/dir-chunked"
"$mvc" -C "$repo" remote add -q --layout loose loose "$work/dir-loose"
head -c $((big_mib << 20)) /dev/urandom > "$repo/model.bin"
record mvc "$repo" model.bin model
for layout in chunked loose; do
    timed "$mvc" -C "$repo" push -q -r $layout
    v[$layout.push]="$secs s"
    git clone -q "$repo" "$repo-$layout"
    timed "$mvc" -C "$repo-$layout" pull -q -r $layout
    v[$layout.pull]="$secs s"
    cmp "$repo/model.bin" "$repo-$layout/model.bin"
    rm -rf "$repo-$layout"
done
setup lfs "$work/lfs-new" new
cp "$repo/model.bin" "$work/lfs-new/"
record lfs "$work/lfs-new" model.bin model
push lfs "$work/lfs-new"
v[lfs.newpush]="$secs s"
clone_pull lfs "$work/lfs-new" "$work/lfs-new-clone"
v[lfs.newpull]="$secs s"
rm -rf "$repo" "$work/lfs-new"* "$work/dir-chunked" "$work/dir-loose"
row "push a new ${big_mib} MiB file, local-directory remote (goal: chunked within 1.3x of loose)" \
    "chunked ${v[chunked.push]}, loose ${v[loose.push]}" "—" "${v[lfs.newpush]}"
row "pull it into a fresh clone (same goal)" "chunked ${v[chunked.pull]}, loose ${v[loose.pull]}" "—" "${v[lfs.newpull]}"

echo "5. one file out of a ${dir_files}-file directory" >&2
files "$work/wide" "$dir_files" 512 2048
one="data/d007/f00007.bin"
for tool in mvc dvc; do
    repo="$work/$tool-wide"
    setup $tool "$repo" wide
    cp -r "$work/wide" "$repo/data"
    record $tool "$repo" data files
    push $tool "$repo"
    before=$(requests_to $tool)
    clone_pull $tool "$repo" "$repo-clone" "$one"
    cmp "$work/wide/${one#data/}" "$repo-clone/$one"
    v[$tool.one]="$(($(requests_to $tool) - before)) requests, $secs s"
    rm -rf "$repo" "$repo-clone"
done
rm -rf "$work/wide"
row "pull one file of a ${dir_files}-file directory (goal ≤ 4 requests)" "${v[mvc.one]}" "${v[dvc.one]}" "—"

echo "6. peak memory, a ${mem_mib} MiB file" >&2
for tool in mvc dvc lfs; do
    repo="$work/$tool-mem"
    setup $tool "$repo" mem
    head -c $((mem_mib << 20)) /dev/urandom > "$repo/model.bin"
    record $tool "$repo" model.bin model
    push $tool "$repo"
    v[$tool.mem]="push $peak_mib MiB ($secs s)"
    # Only the remote copy is needed from here on.
    rm -rf "$repo/model.bin" "$repo/.git/mvc/cache" "$repo/.dvc/cache" "$repo/.git/lfs/objects"
    clone_pull $tool "$repo" "$repo-clone"
    v[$tool.mem]+=", pull $peak_mib MiB ($secs s)"
    rm -rf "$repo" "$repo-clone" "$repo.remote.git" "$(store $tool "$repo" mem)"
done
row "peak memory, push / pull of a ${mem_mib} MiB file (goal ≤ 300 MiB)" "${v[mvc.mem]}" "${v[dvc.mem]}" "${v[lfs.mem]}"

echo "7. a compressible ${csv_mib} MiB CSV" >&2
python3 - "$work/table.csv" "$csv_mib" << 'PY'
import random, sys
path, mib = sys.argv[1], int(sys.argv[2]); rng = random.Random(7)
cities = ["berlin", "paris", "lagos", "lima", "osaka", "perth", "quito", "tunis"]
with open(path, "w") as f:
    f.write("id,timestamp,city,temperature,humidity,label\n")
    i = 0
    while f.tell() < mib << 20:
        rows = []
        for _ in range(10000):
            i += 1
            rows.append(f"{i},2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00,{rng.choice(cities)},"
                        f"{rng.gauss(15, 8):.2f},{rng.randint(20, 100)},{rng.random() < 0.1}\n")
        f.write("".join(rows))
PY
logical=$(stat -c %s "$work/table.csv")
for tool in mvc dvc lfs; do
    repo="$work/$tool-csv"
    setup $tool "$repo" csv
    where=$(store $tool "$repo" csv)
    cp "$work/table.csv" "$repo/"
    record $tool "$repo" table.csv data
    push $tool "$repo"
    stored=$(bytes_under "$where")
    v[$tool.csv]="$(mib "$stored") ($((stored * 100 / logical))%)"
    rm -rf "$repo" "$repo.remote.git" "$where"
done
row "a $(mib "$logical") CSV, stored (goal ≤ 50%)" "${v[mvc.csv]}" "${v[dvc.csv]}" "${v[lfs.csv]}"

echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), temp dir on $(df -T "$work" | awk 'NR==2 {print $2}')"
echo "mvc $("$mvc" --version | cut -d' ' -f2), $(dvc --version 2> /dev/null | sed 's/^/DVC /'), $(git lfs version | cut -d' ' -f1)"
echo
echo "| workload | mvc (chunked) | DVC | git-lfs |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
