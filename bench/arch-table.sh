#!/usr/bin/env bash
# arch-table.sh: trains every architecture on a log with several seeds and prints the mean test
# AUC per target as a Markdown table (the README's accuracy tables come from here).
# Usage: bench/arch-table.sh LOG [SEEDS] [extra dlen train options...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dlen=${DLEN:-$here/build/app/dlen}
log=$1; shift
seeds=${1:-3}; shift || true
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for arch in shared-bottom mmoe ple dlen; do
  for seed in $(seq 1 "$seeds"); do
    "$dlen" train "$log" --arch "$arch" --seed "$seed" --json -q "$@" >> "$out"
  done
done
python3 - "$out" <<'PY'
import json, sys, statistics
runs = [json.loads(l) for l in open(sys.argv[1])]
archs = []
for r in runs:
    if r["arch"] not in archs:
        archs.append(r["arch"])
targets = [t for t, m in runs[0]["metrics"].items() if "auc" in m]
extra = ["emotion_auc"] + (["true_emotion_auc"] if any("true_emotion_auc" in r for r in runs) else [])
print("| arch | " + " | ".join(targets + extra) + " | samples/s |")
print("|---" * (len(targets) + len(extra) + 2) + "|")
for a in archs:
    rs = [r for r in runs if r["arch"] == a]
    cells = ["%.4f" % statistics.mean(r["metrics"][t]["auc"] for r in rs) for t in targets]
    for e in extra:
        vals = [r[e] for r in rs if r.get(e) is not None]
        cells.append("%.4f" % statistics.mean(vals) if vals else "–")
    sps = statistics.median(r["samples_per_second"] for r in rs)
    print("| %s | %s | %.0f |" % (a, " | ".join(cells), sps))
print()
print("Mean of %d seeds per architecture, test split %s, %d training rows." % (
    len(runs) // len(archs), runs[0]["split_date"], runs[0]["train_rows"] + runs[0]["valid_rows"]))
PY
