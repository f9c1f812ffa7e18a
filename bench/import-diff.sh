#!/usr/bin/env bash
# import-diff.sh: imports the same logs with two dlen builds and checks that the projects are
# identical (every table, every impression's columns with their types, messages and exit codes);
# made for checking an import optimisation against the build before it.
# Usage: bench/import-diff.sh BASELINE_DLEN [DLEN]   (DLEN defaults to build/app/dlen)
# Scenarios: KuaiRand (chunked, so every user's rows come out of time order), halves imported
# one after the other (users with earlier impressions), shuffled rows, bad rows (rejects,
# strict), re-imports, synthetic logs with session and request ids (ranks over one and several
# imports, gaps in the ids), the generic preset, and refused inputs.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
A=${1:?usage: import-diff.sh BASELINE_DLEN [DLEN]}
B=${2:-$here/build/app/dlen}
K=${KUAIRAND:-$here/../shared/data/kuairand/likehate_27k.tsv}
W=$(mktemp -d "${TMPDIR:-/tmp}/import-diff.XXXXXX")
trap 'rm -rf "$W"' EXIT
D=$W/data
fails=0
mkdir -p "$D"
( cd "$D"
  head -1 "$K" | tee ka.tsv kb.tsv kshuf.tsv kbad.tsv > /dev/null
  tail -n +2 "$K" | awk 'NR % 2 == 1' >> ka.tsv
  tail -n +2 "$K" | awk 'NR % 2 == 0' >> kb.tsv
  tail -n +2 "$K" | shuf --random-source=<(yes) >> kshuf.tsv
  tail -n +2 "$K" | awk -F '\t' 'BEGIN { OFS = "\t" } NR % 997 == 0 { $5 = "abc" } NR % 1013 == 0 { $3 = "20221340" } { print }' >> kbad.tsv
  cp "$K" kuai.tsv
  cp "$(dirname "$K")/user_features.csv" . 2>/dev/null
  "$A" generate --out syn.tsv --impressions 60000 --users 300 > /dev/null
  head -1 syn.tsv | tee sa.tsv sb.tsv ssh.tsv sgap.tsv > /dev/null
  tail -n +2 syn.tsv | awk 'NR % 3 != 0' >> sa.tsv
  tail -n +2 syn.tsv | awk 'NR % 3 == 0' >> sb.tsv
  tail -n +2 syn.tsv | shuf --random-source=<(yes) | head -20000 >> ssh.tsv
  tail -n +2 syn.tsv | awk -F '\t' 'BEGIN { OFS = "\t" } NR % 7 == 0 { $4 = "" } NR % 5 == 0 { $5 = "" } { print }' >> sgap.tsv )

dump () {
  local db=$1 cols
  sqlite3 "$db" "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"
  sqlite3 "$db" "SELECT * FROM fields ORDER BY id"
  sqlite3 "$db" "SELECT id, source, size, sha256, preset, user_features, user_features_sha256, rows_read, rows_accepted,"\
" rows_rejected, finished_ms IS NOT NULL FROM imports ORDER BY id"
  sqlite3 "$db" "SELECT * FROM import_rejects ORDER BY rowid"
  sqlite3 "$db" "SELECT * FROM users ORDER BY id"
  sqlite3 "$db" "SELECT * FROM items ORDER BY id"
  cols=$(sqlite3 "$db" "SELECT group_concat('typeof(' || name || '), ' || CASE WHEN type = 'REAL'"\
" THEN 'printf(''%.17g'', ' || name || ')' ELSE 'quote(' || name || ')' END, ', ') FROM pragma_table_info('impressions')")
  sqlite3 "$db" "SELECT $cols FROM impressions ORDER BY id"
}

scenario () {   # NAME IMPORT-ARGS [';;' IMPORT-ARGS...]
  local name=$1 bin exe p a args; shift
  for bin in A B; do
    exe=${!bin}; p=$W/$name-$bin.dlen; args=()
    : > "$W/$name-$bin.log"
    for a in "$@" ";;"; do
      if [ "$a" = ";;" ]; then
        (cd "$D" && "$exe" import --project "$p" "${args[@]}") >> "$W/$name-$bin.log" 2>&1
        echo "exit $?" >> "$W/$name-$bin.log"
        args=()
      else
        args+=("$a")
      fi
    done
    if [ -f "$p" ]; then dump "$p" > "$W/$name-$bin.dump" 2>&1; else echo none > "$W/$name-$bin.dump"; fi
    sed -i "s#$p#PROJECT#g" "$W/$name-$bin.log"
  done
  if cmp -s "$W/$name-A.dump" "$W/$name-B.dump" && cmp -s "$W/$name-A.log" "$W/$name-B.log"; then
    echo "same  $name ($(wc -l < "$W/$name-A.dump") lines)"
  else
    echo "DIFF  $name"
    diff "$W/$name-A.log" "$W/$name-B.log" | head -5
    diff "$W/$name-A.dump" "$W/$name-B.dump" | head -10
    fails=$((fails + 1))
  fi
}

k=(--preset kuairand --no-user-features)
scenario kuai kuai.tsv "${k[@]}"
scenario kuai-user-features kuai.tsv --preset kuairand
scenario kuai-halves ka.tsv "${k[@]}" ";;" kb.tsv "${k[@]}"
scenario kuai-halves-gap kb.tsv "${k[@]}" ";;" ka.tsv "${k[@]}" --session-gap 10
scenario kuai-shuffled kshuf.tsv "${k[@]}" --request-size 4
scenario kuai-rejects kbad.tsv "${k[@]}"
scenario kuai-strict kbad.tsv "${k[@]}" --strict
scenario kuai-again kuai.tsv "${k[@]}" ";;" kuai.tsv "${k[@]}"
scenario kuai-then-shuffled ka.tsv "${k[@]}" ";;" kshuf.tsv "${k[@]}"
scenario syn syn.tsv --preset synthetic
scenario syn-halves sa.tsv --preset synthetic ";;" sb.tsv --preset synthetic
scenario syn-three sb.tsv --preset synthetic ";;" ssh.tsv --preset synthetic ";;" sa.tsv --preset synthetic
scenario syn-gaps sgap.tsv --preset synthetic --session-gap 5 --request-size 3
scenario syn-then-gaps sa.tsv --preset synthetic ";;" sgap.tsv --preset synthetic --session-gap 5 --request-size 3
scenario syn-generic syn.tsv --preset generic --map user_id=user --map item_id=item --map time_ms=time \
  --map click=neutral --map like=weak-positive --map dislike=weak-negative --map stay_s=duration-s
scenario syn-generic-sessions sgap.tsv --preset generic --map user_id=user --map time_ms=time --map session_id=session \
  --map click=neutral --map like=weak-positive --map dislike=weak-negative
scenario again-strict kbad.tsv "${k[@]}" ";;" kbad.tsv "${k[@]}" --strict
scenario again-other-layout kuai.tsv "${k[@]}" ";;" kuai.tsv --preset generic --map user_id=user --map time_ms=time --map is_click=neutral
scenario again-user-features kuai.tsv --preset kuairand ";;" kuai.tsv --preset kuairand
scenario missing nothere.tsv --preset kuairand
scenario missing-user-features kuai.tsv --preset kuairand --user-features nothere.csv
echo "$fails scenario(s) differ"
[ "$fails" = 0 ]
