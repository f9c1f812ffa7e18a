#!/usr/bin/env bash
# speed.sh: the engine against its PyTorch twin on the KuaiRand log (DESIGN §8), in one run.
#
#   bench/speed.sh [--runs N] [--arch ARCH] [--threads "1 2"] [--variants "plain fused"] [--log LOG]
#
# Needs the build (build/app/dlen, build/bench/score-bench, build/bench/sgemm-limit: `ninja -C
# build`), /usr/bin/python3 with torch and numpy (Debian: python3-torch) and ../shared/data.
# For each of N runs (default 5) and each thread count T (default 1 and 2), alternating which
# side goes first:
#   engine  `dlen train LOG --arch ARCH --epochs 1 --valid-fraction 0 --threads T --json --out M`
#           -> samples_per_second (optimisation steps only); `score-bench M LOG --threads T`
#           -> rows/s of dlen_model_predict on T scoring threads over every row (best of 5
#           passes after a warm-up);
#   twin    `bench/peer/dlen_twin.py LOG --arch ARCH --threads T --json` -> the same two numbers,
#           same definitions (see its docstring), for each variant: "plain" (one module per
#           expert, gate and tower, like the engine) and "fused" (--fused: one GEMM for all
#           level-0 first layers, batched towers). The peer's better variant is the one compared.
# Then `sgemm-limit M` (twice; the higher limit counts) measures this machine's OpenBLAS on the
# step's exact GEMM shapes at one thread and gives the training rate they allow. Prints a table
# of medians and one JSON line:
#   train_1t, train_2t      engine / best twin variant, training samples/s at 1 and 2 threads
#                           (targets 2, 3)
#   train_best              best engine median / best twin median over thread counts and
#                           variants (target 3)
#   score_best              the same for scoring rows/s (target 3)
#   sgemm_fraction          engine 1-thread training samples/s / the sgemm limit (target 0.6)
# A busy machine skews everything (above all the 2-thread runs on a 2-CPU machine): the 1-minute
# load average before and after is printed and kept in the JSON; run it on an idle machine.
# Takes about 5 minutes with 5 runs on an idle 2-CPU machine.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$here/build}
python=${PYTHON:-/usr/bin/python3}
runs=5
arch=dlen
threads_list="1 2"
variants="plain fused"
log=$here/../shared/data/kuairand/likehate_27k.tsv
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    --threads) threads_list=$2; shift 2 ;;
    --variants) variants=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "speed.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

for exe in "$build/app/dlen" "$build/bench/score-bench" "$build/bench/sgemm-limit"; do
  [ -x "$exe" ] || { echo "speed.sh: $exe is missing; run 'ninja -C $build'" >&2; exit 1; }
done
[ -f "$log" ] || { echo "speed.sh: no log at $log (../shared/data)" >&2; exit 1; }
"$python" -c 'import torch, numpy' 2>/dev/null || { echo "speed.sh: $python has no torch/numpy (apt-get install python3-torch)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
results=$tmp/results.jsonl
start=$(date +%s)
load_before=$(cut -d' ' -f1 /proc/loadavg)
echo "speed.sh: $runs runs x threads {$threads_list}, arch $arch, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

engine () {
  local t=$1 run=$2 model=$tmp/model-$1.safetensors
  "$build/app/dlen" train "$log" --arch "$arch" --epochs 1 --valid-fraction 0 --threads "$t" --json -q \
      --out "$model" > "$tmp/train.json"
  "$build/bench/score-bench" "$model" "$log" --threads "$t" > "$tmp/score.json"
  "$python" - "$tmp/train.json" "$tmp/score.json" "$t" "$run" >> "$results" <<'PY'
import json, sys
tr, sc = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print(json.dumps({"side": "engine", "threads": int(sys.argv[3]), "run": int(sys.argv[4]),
                  "parameters": tr["parameters"], "train": tr["samples_per_second"],
                  "score": sc["rows_per_second"]}))
PY
}

twin () {
  local t=$1 run=$2 v
  for v in $variants; do
    "$python" "$here/bench/peer/dlen_twin.py" "$log" --arch "$arch" --threads "$t" --json \
        $([ "$v" = fused ] && echo --fused) > "$tmp/twin.json"
    "$python" - "$tmp/twin.json" "$t" "$run" "$v" >> "$results" <<'PY'
import json, sys
tw = json.load(open(sys.argv[1]))
print(json.dumps({"side": "twin-" + sys.argv[4], "threads": int(sys.argv[2]), "run": int(sys.argv[3]),
                  "parameters": tw["parameters"], "train": tw["samples_per_second"],
                  "score": tw["score_rows_per_second"]}))
PY
  done
}

for run in $(seq 1 "$runs"); do
  for t in $threads_list; do
    if [ $((run % 2)) -eq 1 ]; then engine "$t" "$run"; twin "$t" "$run"; else twin "$t" "$run"; engine "$t" "$run"; fi
    echo "  run $run/$runs, $t thread(s): $(tail -n $((1 + $(echo $variants | wc -w))) "$results" | tr '\n' ' ')" >&2
  done
done

# The GEMM limit is measured twice, after the runs and once more, and the higher (the machine
# at its least disturbed) counts, so that load from elsewhere cannot flatter the engine.
first_t=${threads_list%% *}
for i in 1 2; do
  "$build/bench/sgemm-limit" "$tmp/model-$first_t.safetensors" --threads 1 >> "$tmp/limit.jsonl" 2> "$tmp/limit-$i.txt"
done
best_limit=$("$python" -c 'import json, sys; ls = [json.loads(l) for l in open(sys.argv[1])]; print(max(range(len(ls)), key=lambda i: ls[i]["train_limit_samples_per_second"]) + 1)' "$tmp/limit.jsonl")
cat "$tmp/limit-$best_limit.txt" >&2
end=$(date +%s)
load_after=$(cut -d' ' -f1 /proc/loadavg)
echo "speed.sh: took $((end - start)) s, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

"$python" - "$results" "$tmp/limit.jsonl" "$arch" "$runs" "$((end - start))" "$load_before" "$load_after" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
limit = max((json.loads(l) for l in open(sys.argv[2])), key=lambda x: x["train_limit_samples_per_second"])
arch, runs, secs = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
load = [float(sys.argv[6]), float(sys.argv[7])]
threads = sorted({r["threads"] for r in rows})
sides = sorted({r["side"] for r in rows}, key=lambda x: (x != "engine", x))
twins = [x for x in sides if x != "engine"]
med = {}
for side in sides:
    for t in threads:
        for what in ("train", "score"):
            med[side, t, what] = statistics.median(r[what] for r in rows if r["side"] == side and r["threads"] == t)
# The peer at its best: the better variant per thread count.
for t in threads:
    for what in ("train", "score"):
        med["twin", t, what] = max(med[x, t, what] for x in twins)
params = {side: sorted({r["parameters"] for r in rows if r["side"] == side}) for side in sides}
head = ["engine"] + twins
print("| %s, medians of %d runs | %s | train ratio | %s | score ratio |" % (
    arch, runs, " | ".join(h + " train/s" for h in head), " | ".join(h + " score/s" for h in head)))
print("|---" + "|---:" * (2 * len(head) + 2) + "|")
for t in threads:
    tr = " | ".join("%.0f" % med[h, t, "train"] for h in head)
    sc = " | ".join("%.0f" % med[h, t, "score"] for h in head)
    print("| %d thread%s | %s | %.2f | %s | %.2f |" % (t, "" if t == 1 else "s", tr,
          med["engine", t, "train"] / med["twin", t, "train"], sc, med["engine", t, "score"] / med["twin", t, "score"]))
best = lambda side, what: max(med[side, t, what] for t in threads)
lim = limit["train_limit_samples_per_second"]
print("\nratios against the better twin variant; sgemm limit at 1 thread: %.0f samples/s (%.2f MFLOP/sample; "
      "1024^3 sgemm %.1f GFLOPS); parameters %s" % (lim, limit["train_flops_per_sample"] * 1e-6,
                                                   limit["peak_gflops"], params))
out = {"arch": arch, "runs": runs, "seconds": secs,
       "train_1t": med["engine", 1, "train"] / med["twin", 1, "train"] if 1 in threads else None,
       "train_2t": med["engine", 2, "train"] / med["twin", 2, "train"] if 2 in threads else None,
       "train_best": best("engine", "train") / best("twin", "train"),
       "score_best": best("engine", "score") / best("twin", "score"),
       "sgemm_fraction": med["engine", 1, "train"] / lim if 1 in threads else None,
       "sgemm_limit": lim, "score_sgemm_limit": limit["score_limit_rows_per_second"],
       "load_average": load,
       "parameters_equal": len({tuple(v) for v in params.values()}) == 1,
       "medians": {"%s_%s_%dt" % (s, w, t): round(v, 1) for (s, t, w), v in sorted(med.items())}}
print(json.dumps(out))
PY
