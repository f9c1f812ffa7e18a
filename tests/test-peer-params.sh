#!/usr/bin/env bash
# test-peer-params.sh: the PyTorch twin of bench/speed.sh (bench/peer/dlen_twin.py) has exactly
# the engine's number of trainable parameters for DLEN and PLE on the KuaiRand log, so the speed
# comparison is between equal models. Skips (77) without ../shared/data or torch.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-/usr/bin/python3}
data=${DLEN_SHARED_DATA:-$here/../../shared/data}
log=$data/kuairand/likehate_27k.tsv
dlen=${DLEN_CLI:-$here/../build/app/dlen}
twin=$here/../bench/peer/dlen_twin.py

if [ ! -f "$log" ]; then echo "SKIP: no KuaiRand log at $log"; exit 77; fi
if [ ! -x "$python" ] || ! "$python" -c 'import torch, numpy' 2>/dev/null; then
  echo "SKIP: $python has no torch and numpy"; exit 77
fi

status=0
for arch in dlen ple; do
  engine=$("$dlen" train "$log" --arch "$arch" --epochs 1 --valid-fraction 0 --json -q \
           | "$python" -c 'import json, sys; print(json.load(sys.stdin)["parameters"])')
  peer=$("$python" "$twin" "$log" --arch "$arch" --count-only)
  if [ "$engine" = "$peer" ]; then
    echo "ok: $arch has $engine parameters in the engine and in the twin"
  else
    echo "FAIL: $arch has $engine parameters in the engine but $peer in the twin"
    status=1
  fi
done
exit $status
