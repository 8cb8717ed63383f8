#!/usr/bin/env bash
# Chunked remotes (issue #12): bytes sent and stored for versions of one large file, and
# requests for many small files, on a local-directory remote (sent/stored bytes do not depend
# on the build). Usage: bench/chunked.sh [SIZE_MIB] [FILES] [MVC_BINARY]
set -euo pipefail
SIZE_MIB=${1:-256}
FILES=${2:-5000}
MVC=${3:-$(cd "$(dirname "$0")/.." && pwd)/target/debug/mvc}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
git init -q -b main repo && cd repo
git config user.email bench@example.com && git config user.name bench
"$MVC" init -q
"$MVC" remote add origin "$WORK/remote" --layout chunked >/dev/null 2>&1
stored() { if [ -d "$WORK/remote" ]; then du -sb "$WORK/remote" | cut -f1; else echo 0; fi; }
sent() { "$MVC" push --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes"])'; }
mib() { python3 -c "print(f'{$1/1048576:.2f} MiB')"; }
step() { "$MVC" add -q model.bin && git add -A && git commit -qm "$1"; }
head -c $((SIZE_MIB << 20)) /dev/urandom > model.bin
step v1; before=$(stored); s=$(sent); echo "v1 ${SIZE_MIB} MiB new file: sent $(mib "$s"), stored $(mib $(( $(stored) - before )))"
# v2: 25 MiB overwritten in place at 100 MiB.
python3 -c "import os; f=open('model.bin','r+b'); f.seek(100<<20); f.write(os.urandom(25<<20))"
step v2; before=$(stored); s=$(sent); echo "v2 25 MiB overwritten in place: sent $(mib "$s"), remote grew $(mib $(( $(stored) - before )))"
# v3: 1 MiB changed.
python3 -c "import os; f=open('model.bin','r+b'); f.seek(10<<20); f.write(os.urandom(1<<20))"
step v3; before=$(stored); s=$(sent); echo "v3 1 MiB changed: sent $(mib "$s"), remote grew $(mib $(( $(stored) - before )))"
# v4: 4 KiB inserted in the middle.
python3 -c "
import os; d=open('model.bin','rb').read(); m=len(d)//2
open('model.bin','wb').write(d[:m]+os.urandom(4096)+d[m:])"
step v4; before=$(stored); s=$(sent); echo "v4 4 KiB inserted in the middle: sent $(mib "$s"), remote grew $(mib $(( $(stored) - before )))"
echo "after 4 versions: remote holds $(mib "$(stored)") for $((SIZE_MIB * 4)) MiB of versions"
# Pulls in a clone that holds the previous version: downloaded vs copied from the cache.
git clone -q "$WORK/repo" "$WORK/clone"
pulled() {
  (cd "$WORK/clone" && git checkout -q "$1" && "$MVC" pull --json) |
    python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["bytes"], j["reused_bytes"])'
}
for v in 1 2 3 4; do
  read -r got reused < <(pulled "main~$((4 - v))")
  if [ "$v" = 1 ]; then from="a fresh clone"; else from="a clone with v$((v - 1)) cached"; fi
  echo "pull v$v into $from: downloaded $(mib "$got"), reused $(mib "$reused") from the cache"
done
rm -rf "$WORK/clone"
rm -f model.bin model.bin.mvc
# Many small files: requests counted with strace-free accounting: one per file written to the
# remote directory (packs, recipes, marker) is what an object store would see as PUTs.
mkdir data
python3 -c "
import os
for i in range($FILES):
    d='data/d%03d' % (i % 100); os.makedirs(d, exist_ok=True)
    open('%s/f%05d' % (d, i), 'wb').write(os.urandom(1024 + (i * 37) % 15360))"
"$MVC" add -q data && git add -A && git commit -qm files
before=$(find "$WORK/remote" -type f | wc -l)
start=$(date +%s.%N); "$MVC" push -q; end=$(date +%s.%N)
after=$(find "$WORK/remote" -type f | wc -l)
echo "$FILES files of 1-16 KiB: push wrote $((after - before)) remote objects in $(python3 -c "print(f'{$end-$start:.2f} s')")"
