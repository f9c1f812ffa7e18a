#!/usr/bin/env bash
# scaling.sh: how training time and peak memory grow with the log. Synthetic logs of growing
# size (same users, items and model) are imported into projects and trained from them; the same
# logs trained from the TSV file (rows held in memory) are the peer measured in the same run.
#
# Usage: bench/scaling.sh [-s SIZES] [-e EPOCHS] [-r EVAL_ROWS] [--no-file]
#   -s SIZES    comma-separated impressions per log (default 100000,1000000,10000000)
#   -e EPOCHS   training epochs (default 1)
#   -r N        --eval-rows for the trainings (default: dlen's, 500000)
#   --no-file   skip the in-memory peer (training from the TSV file)
# Environment: DLEN (default build/app/dlen), TMPDIR (logs and projects: about 250 bytes per
# impression for the log and 350 for the project).
#
# Each training is `dlen train ... --arch dlen --epochs E --seed 1 --json -q` under
# /usr/bin/time (wall seconds and peak RSS of the process, which includes reading, the scan and
# split passes, training and the test evaluation). The table gives seconds per million rows
# (flat when time is linear) and peak RSS in MiB (flat when memory does not grow with the log).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dlen=${DLEN:-$here/build/app/dlen}
sizes=100000,1000000,10000000
epochs=1
eval_rows=()
file=1
while [ $# -gt 0 ]; do
  case $1 in
    -s) sizes=$2; shift 2 ;;
    -e) epochs=$2; shift 2 ;;
    -r) eval_rows=(--eval-rows "$2"); shift 2 ;;
    --no-file) file=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "scaling.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$dlen" ] || { echo "scaling.sh: $dlen not built (ninja -C build)" >&2; exit 1; }
if [ ! -x /usr/bin/time ]; then
  echo "scaling.sh: installing GNU time" >&2
  apt-get install -y time > /dev/null
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/scaling.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
results=$tmp/results.tsv
: > "$results"

# measure NAME ROWS DATA [options]: one training, its wall time and peak RSS.
measure () {
  local name=$1 rows=$2 data=$3; shift 3
  /usr/bin/time -f '%e %M' -o "$tmp/time" "$dlen" train "$data" --arch dlen --epochs "$epochs" --seed 1 \
    --json -q ${eval_rows[@]+"${eval_rows[@]}"} "$@" > "$tmp/train.json"
  read -r secs kib < "$tmp/time"
  sps=$(sed 's/.*"samples_per_second": \([0-9.e+]*\).*/\1/' "$tmp/train.json")
  auc=$(sed 's/.*"click": {"auc": \([0-9.]*\).*/\1/' "$tmp/train.json")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rows" "$secs" "$kib" "$sps" "$auc" >> "$results"
  printf '  %-8s %10s rows  %8.1f s  %7.0f MiB  click AUC %s\n' "$name" "$rows" "$secs" "$(( kib / 1024 ))" "$auc" >&2
}

echo "scaling: sizes $sizes, $epochs epoch(s); $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')" >&2
for n in ${sizes//,/ }; do
  log=$tmp/log-$n.tsv
  project=$tmp/log-$n.dlen
  "$dlen" generate --out "$log" --impressions "$n" --seed 3 > /dev/null
  t0=$(date +%s%N)
  "$dlen" import --project "$project" "$log" --preset synthetic > /dev/null
  t1=$(date +%s%N)
  echo "  import   $n rows in $(awk -v ns=$(( t1 - t0 )) 'BEGIN { printf "%.1f", ns / 1e9 }') s" >&2
  measure project "$n" "$project"
  [ "$file" = 0 ] || measure file "$n" "$log" --preset synthetic
  rm -f "$log" "$project" "$project-wal" "$project-shm"
done

awk -F '\t' '
  { key = $1 SUBSEP $2; secs[key] = $3; mib[key] = $4 / 1024; sps[key] = $5; auc[key] = $6
    if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } if ($1 == "file") hasfile = 1 }
  END {
    printf "\n| impressions | project: s | s per 10^6 rows | peak RSS MiB | samples/s | click AUC |%s\n",
           hasfile ? " file: s | file peak RSS MiB |" : ""
    printf "|---:|---:|---:|---:|---:|---:|%s\n", hasfile ? "---:|---:|" : ""
    json = "{"
    for (i = 1; i <= n; i++) {
      r = order[i]; p = "project" SUBSEP r; f = "file" SUBSEP r
      printf "| %d | %.1f | %.1f | %.0f | %.0f | %s |", r, secs[p], secs[p] / r * 1e6, mib[p], sps[p], auc[p]
      if (hasfile) printf " %.1f | %.0f |", secs[f], mib[f]
      printf "\n"
      json = json sprintf("%s\"%d\": {\"project_seconds\": %s, \"project_peak_rss_mib\": %.1f%s}", i > 1 ? ", " : "", r,
                          secs[p], mib[p], hasfile ? sprintf(", \"file_seconds\": %s, \"file_peak_rss_mib\": %.1f", secs[f], mib[f]) : "")
    }
    print "\n" json "}"
  }' "$results"
