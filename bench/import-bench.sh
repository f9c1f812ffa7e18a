#!/usr/bin/env bash
# import-bench.sh: `dlen import` throughput (rows/s, validation on) against the sqlite3 shell's
# `.import` of the same file, measured in the same run; the dlen/sqlite3 ratio is the headline.
#
# Usage: bench/import-bench.sh [-n RUNS] [-i IMPRESSIONS] [--no-synthetic] [--baseline DLEN] [LOG]
#   LOG          a KuaiRand log (TSV with header; default ../shared/data/kuairand/likehate_27k.tsv
#                relative to the project root), imported with --preset kuairand --no-user-features
#   -n RUNS      runs per contender and file (default 5, at least 5 for the report)
#   -i N         impressions of the synthetic log made with `dlen generate` (default 1000000),
#                imported with --preset synthetic; --no-synthetic skips it
#   --baseline D another dlen binary (say, a build of the previous commit) run as a fourth
#                contender, for a before/after comparison measured in the same run
# Environment: DLEN (default build/app/dlen), SQLITE3 (default sqlite3 on PATH; installed with
# apt-get when missing), TMPDIR (where the fresh projects and databases go).
#
# Contenders, each into a fresh file every run (what a user waits for, process start to exit):
#   dlen         dlen import --project FRESH.dlen LOG --preset P [--no-user-features]: sha256 of the
#                file, parsing and validation of every row, keys, derived features, one
#                transaction; the project, created by the import, is built as FRESH.dlen.partial,
#                synced once and renamed into place, and left in WAL.
#   sqlite3      sqlite3 FRESH.db '.mode tabs' '.import LOG t' with the shell's defaults
#                (rollback journal DELETE, synchronous=FULL): every column TEXT, no validation.
#   sqlite3-wal  the same after PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL (the project's
#                journal settings).
# The machine may be shared and noisy, so the contenders alternate (the order rotates every run)
# and the table shows medians (with --baseline, also the speed-up of dlen over the baseline). Ratios are dlen rows/s over sqlite3 rows/s: >= 1 means dlen is at
# least as fast.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dlen=${DLEN:-$here/build/app/dlen}
runs=5
impressions=1000000
synthetic=1
baseline=
log=$here/../shared/data/kuairand/likehate_27k.tsv

while [ $# -gt 0 ]; do
  case $1 in
    -n) runs=$2; shift 2 ;;
    -i) impressions=$2; shift 2 ;;
    --no-synthetic) synthetic=0; shift ;;
    --baseline) baseline=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "import-bench.sh: unknown option $1" >&2; exit 2 ;;
    *) log=$1; shift ;;
  esac
done

if [ -n "${SQLITE3:-}" ]; then
  sqlite3=$SQLITE3
elif command -v sqlite3 >/dev/null; then
  sqlite3=$(command -v sqlite3)
else
  echo "import-bench.sh: installing the sqlite3 shell" >&2
  apt-get install -y sqlite3 >/dev/null
  sqlite3=$(command -v sqlite3)
fi
[ -x "$dlen" ] || { echo "import-bench.sh: $dlen not built (ninja -C build)" >&2; exit 1; }
[ -r "$log" ] || { echo "import-bench.sh: cannot read $log" >&2; exit 1; }
[ -z "$baseline" ] || [ -x "$baseline" ] || { echo "import-bench.sh: $baseline is not executable" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/import-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
times=$tmp/times.tsv   # file contender seconds
: > "$times"

now () { date +%s%N; }

# Each contender gets a fresh target and writes nothing to the terminal; a failure stops the
# benchmark (a fast failure must never count as a fast import).
run_dlen () {   # BINARY LOG PRESET [extra options...]
  local exe=$1 f=$2 preset=$3; shift 3
  rm -f "$tmp/p.dlen" "$tmp/p.dlen-wal" "$tmp/p.dlen-shm"
  "$exe" import --project "$tmp/p.dlen" "$f" --preset "$preset" "$@" > "$tmp/dlen.out"
}
run_sqlite () {   # LOG [wal]
  local f=$1 mode=${2:-}
  rm -f "$tmp/p.db" "$tmp/p.db-wal" "$tmp/p.db-shm" "$tmp/p.db-journal"
  if [ "$mode" = wal ]; then
    "$sqlite3" "$tmp/p.db" "PRAGMA journal_mode=WAL" "PRAGMA synchronous=NORMAL" \
      ".mode tabs" ".import \"$f\" t" > /dev/null
  else
    "$sqlite3" "$tmp/p.db" ".mode tabs" ".import \"$f\" t" > /dev/null
  fi
}

# bench NAME LOG ROWS PRESET [dlen options...]
bench () {
  local name=$1 f=$2 rows=$3 preset=$4; shift 4
  local contenders=(dlen sqlite3 sqlite3-wal) i k c t0 t1 got
  [ -z "$baseline" ] || contenders+=(dlen-baseline)
  # The row counts each contender stored are checked once, outside the timings.
  run_dlen "$dlen" "$f" "$preset" "$@"
  got=$("$sqlite3" "$tmp/p.dlen" "SELECT count(*) FROM impressions")
  [ "$got" = "$rows" ] || { echo "import-bench.sh: dlen stored $got of $rows rows of $f" >&2; exit 1; }
  run_sqlite "$f"
  got=$("$sqlite3" "$tmp/p.db" "SELECT count(*) FROM t")
  [ "$got" = "$rows" ] || { echo "import-bench.sh: sqlite3 stored $got of $rows rows of $f" >&2; exit 1; }
  for i in $(seq 1 "$runs"); do
    for k in $(seq 0 $(( ${#contenders[@]} - 1 ))); do
      c=${contenders[$(( (i + k) % ${#contenders[@]} ))]}
      t0=$(now)
      case $c in
        dlen) run_dlen "$dlen" "$f" "$preset" "$@" ;;
        dlen-baseline) run_dlen "$baseline" "$f" "$preset" "$@" ;;
        sqlite3) run_sqlite "$f" ;;
        sqlite3-wal) run_sqlite "$f" wal ;;
      esac
      t1=$(now)
      printf '%s\t%s\t%d\t%s\n' "$name" "$c" "$rows" "$(( t1 - t0 ))" >> "$times"
      printf '  %-10s run %d/%d %-13s %7.3f s\n' "$name" "$i" "$runs" "$c" \
        "$(awk -v ns=$(( t1 - t0 )) 'BEGIN { print ns / 1e9 }')" >&2
    done
  done
}

rows_of () { echo $(( $(wc -l < "$1") - 1 )); }   # data rows: lines minus the header

echo "dlen import vs sqlite3 .import, $runs runs each, alternating; $(nproc) CPUs," \
  "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); $("$sqlite3" --version | cut -d' ' -f1-2)" >&2
bench kuairand "$log" "$(rows_of "$log")" kuairand --no-user-features
if [ "$synthetic" = 1 ]; then
  "$dlen" generate --out "$tmp/synthetic.tsv" --impressions "$impressions" > /dev/null
  bench synthetic "$tmp/synthetic.tsv" "$(rows_of "$tmp/synthetic.tsv")" synthetic
fi

# Medians per file and contender, the table and one JSON line.
sort -t $'\t' -k1,1 -k2,2 -k4,4n "$times" | awk -F '\t' -v runs="$runs" -v baseline="$baseline" '
  function median(key,   n) { n = cnt[key]; return n % 2 ? v[key, (n + 1) / 2] : (v[key, n / 2] + v[key, n / 2 + 1]) / 2 }
  { key = $1 SUBSEP $2; v[key, ++cnt[key]] = $4 / 1e9; rows[$1] = $3; if (!($1 in seen)) { seen[$1] = 1; order[++nf] = $1 } }
  END {
    printf "\n| file | rows | dlen rows/s | sqlite3 rows/s | ratio | sqlite3 WAL+NORMAL rows/s | ratio (WAL) | dlen s | sqlite3 s | sqlite3 WAL s |%s\n",
           baseline != "" ? " baseline rows/s | baseline ratio | speed-up |" : ""
    printf "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|%s\n", baseline != "" ? "---:|---:|---:|" : ""
    json = "{\"runs\": " runs
    for (i = 1; i <= nf; i++) {
      f = order[i]
      d = median(f SUBSEP "dlen"); s = median(f SUBSEP "sqlite3"); w = median(f SUBSEP "sqlite3-wal")
      printf "| %s | %d | %.0f | %.0f | **%.2f** | %.0f | %.2f | %.3f | %.3f | %.3f |",
             f, rows[f], rows[f] / d, rows[f] / s, s / d, rows[f] / w, w / d, d, s, w
      json = json sprintf(", \"%s\": {\"rows\": %d, \"dlen_rows_per_s\": %.0f, \"sqlite3_rows_per_s\": %.0f, \"ratio\": %.3f, \"sqlite3_wal_rows_per_s\": %.0f, \"ratio_wal\": %.3f",
                          f, rows[f], rows[f] / d, rows[f] / s, s / d, rows[f] / w, w / d)
      if (baseline != "") {
        b = median(f SUBSEP "dlen-baseline")
        printf " %.0f | %.2f | %.2fx |", rows[f] / b, s / b, b / d
        json = json sprintf(", \"baseline_rows_per_s\": %.0f, \"baseline_ratio\": %.3f, \"speedup\": %.3f", rows[f] / b, s / b, b / d)
      }
      printf "\n"
      json = json "}"
    }
    printf "\nMedians of %d runs; ratio = dlen rows/s / sqlite3 rows/s (>= 1: dlen at least as fast).\n\n", runs
    print json "}"
  }'
