#!/usr/bin/env bash
# 10,000 registry tags in GTO's format: 2,500 versions (one commit each) with 3 stage events each.
set -euo pipefail
MVC=${MVC:-mvc}
dir=$(mktemp -d); cd "$dir"
git init -q -b main; git config user.name B; git config user.email b@e
$MVC init -q
head -c 1000 /dev/urandom > m.bin; $MVC add -q m.bin -m model
printf 'm:\n  type: model\n  path: m.bin\n' > artifacts.yaml; git add artifacts.yaml; git commit -qm declare
{
  prev=$(git rev-parse HEAD)
  for i in $(seq 1 2500); do
    t=$((1800000000 + i*4))
    printf 'commit refs/heads/main\nmark :%d\ncommitter B <b@e> %d +0000\ndata 2\nv\nfrom %s\n\n' "$i" "$t" "$prev"
    prev=":$i"
    msg="Register m@v$i.0.0"
    printf 'tag m@v%d.0.0\nfrom :%d\ntagger B <b@e> %d +0000\ndata %d\n%s\n' "$i" "$i" "$t" ${#msg} "$msg"
    j=1
    for s in staging production qa; do
      n=$(( (i-1)*3 + j )); msg="Assign $s"
      printf 'tag m#%s#%d\nfrom :%d\ntagger B <b@e> %d +0000\ndata %d\n%s\n' "$s" "$n" "$i" $((t + j)) ${#msg} "$msg"
      j=$((j+1))
    done
  done
} | git fast-import --quiet
git reset -q --hard main
echo "$dir"
