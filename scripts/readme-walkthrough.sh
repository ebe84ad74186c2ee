#!/usr/bin/env bash
# readme-walkthrough.sh — a maintainers' check, not part of `npm test`: runs every command FinSecure's README.md shows, literally, as a newcomer would on a
# fresh clone right after the README's set-up commands (`npm install && npm start`, `npm test`).
#
#   git clone <this repository> /tmp/fresh && cd /tmp/fresh && npm install
#   cd /tmp/fresh && bash scripts/readme-walkthrough.sh > /tmp/readme.log 2>&1
#
# It takes about 10 minutes on 2 cores and uses the README's ports (8080–8083): run it on a machine
# where nothing else holds them. Update it when the README's commands change.
#
# One line per check: `OK <name>`, `FAIL <name>: <why>` (followed by the last lines of output, indented
# with "|"), or `SKIP <name>: <why>`; totals at the end. Exit code 1 when anything failed.
#
# Rules it follows:
# - commands run from the clone's root, exactly as written, under `timeout`; where the README has a
#   placeholder (<token>, <id>, a file the user must bring, a host name) the value is made by an earlier
#   README command and the substitution is commented next to the command;
# - long-running servers (npm start, finsecure-aggregator, finsecure-bank start|console) run one at a
#   time in the background, in their own process group, on the README's ports (8080, consoles 8081..);
#   the script waits for their ready sign, checks something meaningful, then sends SIGINT to the group
#   (what Ctrl-C does) and expects them gone within 20 s with exit status 0 (or 130, npm's status for
#   Ctrl-C) and nothing of their group left;
# - nothing needing the internet, Docker or MongoDB is run (SKIP with the reason), nor `npm test` (CI);
# - real data (../shared/datasets, not in a clone) is used only when present;
# - temporary files go to one mktemp -d directory (removed at exit) or to git-ignored places the README
#   commands themselves write; at the end `git status --porcelain` must be empty and nothing may have
#   been written to $HOME outside npm's cache (~/.npm).
set -u -o pipefail

ROOT=$(pwd)
if [ ! -f "$ROOT/README.md" ] || ! grep -q '"name": "finsecure"' "$ROOT/package.json" 2>/dev/null; then
  echo "FAIL setup: run this from the root of a FinSecure clone (cd /tmp/fresh)"
  exit 2
fi
T0=$SECONDS
WORK=$(mktemp -d "${TMPDIR:-/tmp}/readme-all.XXXXXX")
LOGS=$WORK/logs
mkdir -p "$LOGS"
touch "$WORK/start-mark"
SHARED=""
# The real datasets, when this machine has them (README_WALKTHROUGH_DATASETS names another place).
for d in "${README_WALKTHROUGH_DATASETS:-}" "$ROOT/../shared/datasets"; do
  [ -n "$d" ] && [ -d "$d" ] && { SHARED=$(cd "$d" && pwd); break; }
done

# Nothing the user's shell would not have: only what the README tells them to export.
unset TOKEN FINSECURE_ADMIN_TOKEN FINSECURE_VIEWER_TOKEN FINSECURE_BANK_TOKEN FINSECURE_STATE_KEY_FILE \
  FINSECURE_STATE_KEY MONGODB_URI FINSECURE_CONFIG 2>/dev/null

N_OK=0 N_FAIL=0 N_SKIP=0 NLOG=0
ALL_BG=()

ok() { echo "OK $1"; N_OK=$((N_OK + 1)); }
skip() { echo "SKIP $1: $2"; N_SKIP=$((N_SKIP + 1)); }
# fail NAME WHY [LOG...]: the last lines of each log, indented
fail() {
  local name=$1 why=$2 f
  shift 2
  echo "FAIL $name: $why"
  N_FAIL=$((N_FAIL + 1))
  for f in "$@"; do
    [ -s "$f" ] && tail -n "${TAIL_LINES:-12}" "$f" | cut -c1-400 | sed 's/^/    | /'
  done
  return 0
}
newlog() { NLOG=$((NLOG + 1)); printf '%s/%03d-%s.log' "$LOGS" "$NLOG" "$(printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '_' | cut -c1-60)"; }

cleanup() {
  local p
  for p in "${ALL_BG[@]}"; do
    if kill -0 "$p" 2>/dev/null || pgrep -g "$p" >/dev/null 2>&1; then kill -KILL -- "-$p" 2>/dev/null; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM HUP

# run NAME TIMEOUT COMMAND [REGEX]: COMMAND (the README's text) through bash -c from the clone root;
# OK when it exits 0 within TIMEOUT seconds and, if REGEX is given, its output matches it.
# Sets OUT (stdout file), ERR (stderr file), RC.
run() {
  local name=$1 t=$2 cmd=$3 expect=${4:-} log s
  log=$(newlog "$name")
  OUT=$log.out ERR=$log.err
  printf '$ %s\n' "$cmd" > "$log"
  s=$SECONDS
  (cd "$ROOT" && timeout -k 10 "$t" bash -c "$cmd" > "$OUT" 2> "$ERR" < /dev/null)
  RC=$?
  if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
    fail "$name" "timed out after $t s" "$OUT" "$ERR"
    return 1
  elif [ "$RC" -ne 0 ]; then
    fail "$name" "exit code $RC" "$OUT" "$ERR"
    return 1
  elif [ -n "$expect" ] && ! cat "$OUT" "$ERR" | grep -Eq -- "$expect"; then
    fail "$name" "exit code 0 but the output does not match /$expect/" "$OUT" "$ERR"
    return 1
  fi
  ok "$name ($((SECONDS - s)) s)"
}

# bg_start NAME COMMAND: starts COMMAND in the background in its own session and process group
# (so that SIGINT can go to all of it, as Ctrl-C does). Sets BG_PID and BG_LOG.
bg_start() {
  BG_LOG=$(newlog "$1")
  printf '$ %s\n' "$2" > "$BG_LOG"
  (cd "$ROOT" && exec setsid bash -c "$2" >> "$BG_LOG" 2>&1 < /dev/null) &
  BG_PID=$!
  ALL_BG+=("$BG_PID")
}

# bg_stop NAME PID LOG [PORT...]: SIGINT to the process group; clean when it is gone within 20 s,
# with exit status 0 or 130, nothing of its group left and its ports free.
bg_stop() {
  local name=$1 pid=$2 log=$3 i rc left port busy=""
  shift 3
  kill -INT -- "-$pid" 2> /dev/null
  for ((i = 0; i < 40; i++)); do
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2> /dev/null; then
    kill -KILL -- "-$pid" 2> /dev/null
    wait "$pid" 2> /dev/null
    fail "$name" "still running 20 s after SIGINT (killed it)" "$log"
    return 1
  fi
  wait "$pid" 2> /dev/null
  rc=$?
  sleep 1
  left=$(pgrep -g "$pid" -a 2> /dev/null | cut -c1-200 | tr '\n' ';')
  for port in "$@"; do port_busy "$port" && busy="$busy $port"; done
  if [ -n "$left" ]; then
    kill -KILL -- "-$pid" 2> /dev/null
    fail "$name" "exited ($rc) but left processes behind: $left" "$log"
  elif [ -n "$busy" ]; then
    fail "$name" "exited ($rc) but port(s)$busy still listen" "$log"
  elif [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ]; then
    fail "$name" "exit status $rc after SIGINT (expected 0, or 130 from npm)" "$log"
  else
    ok "$name (exit $rc$([ "$rc" = 130 ] && echo ": npm/npx's status for Ctrl-C"))"
  fi
}

alive() { kill -0 "$1" 2> /dev/null; }
port_busy() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
# ports_free NAME PORT...: FAIL NAME (and return 1) when a port is taken by something else
ports_free() {
  local name=$1 p
  shift
  for p in "$@"; do
    if port_busy "$p"; then
      fail "$name" "port $p is already in use by another process; not started"
      return 1
    fi
  done
}
# wait_log PID LOG REGEX TIMEOUT: 0 when LOG matches, 1 on timeout, 2 when the process ended first
wait_log() {
  local pid=$1 log=$2 re=$3 t=$4 end=$((SECONDS + $4))
  while ((SECONDS < end)); do
    grep -Eq -- "$re" "$log" 2> /dev/null && return 0
    alive "$pid" || { grep -Eq -- "$re" "$log" 2> /dev/null && return 0; return 2; }
    sleep 1
  done
  return 1
}
wait_why() { case $1 in 1) echo "not within $2 s" ;; 2) echo "the process exited first" ;; *) echo "?" ;; esac; }
# wait_http URL TIMEOUT [PID] [CURL OPTIONS...]: 0 once URL answers 2xx
wait_http() {
  local url=$1 t=$2 pid=${3:-} end=$((SECONDS + $2))
  shift 3 2> /dev/null || shift $#
  while ((SECONDS < end)); do
    curl -sf -o /dev/null --max-time 5 "$@" "$url" && return 0
    [ -n "$pid" ] && ! alive "$pid" && return 2
    sleep 1
  done
  return 1
}
# jget EXPR: evaluates EXPR (JavaScript, the parsed JSON is `j`) on stdin; prints strings as they are
jget() {
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let j;try{j=JSON.parse(s)}catch{process.exit(3)}
    const v=(new Function("j","return ("+process.argv[1]+")"))(j);
    if(v===undefined||v===null)process.exit(4);process.stdout.write(typeof v==="string"?v:JSON.stringify(v))})' "$1"
}
# api METHOD PATH TOKEN [BODY]: a helper request (not a README command) to the aggregator on 8080
api() {
  local m=$1 p=$2 t=$3 b=${4:-}
  if [ -n "$b" ]; then
    curl -s --max-time 30 -X "$m" "http://127.0.0.1:8080$p" -H "Authorization: Bearer $t" -H 'content-type: application/json' -d "$b"
  else
    curl -s --max-time 30 -X "$m" "http://127.0.0.1:8080$p" -H "Authorization: Bearer $t"
  fi
}
# html_title URL: the page's <title>
html_title() { curl -s --max-time 10 "$1" | grep -o '<title>[^<]*</title>' | head -1; }

echo "# readme-all: $(git -C "$ROOT" log -1 --format='%h %s' | cut -c1-100)"
echo "# clone: $ROOT   temp: $WORK   shared datasets: ${SHARED:-none}   $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# node $(node --version), npm $(npm --version) (the README requires Node.js >= 20.19 and npm >= 10)"
[ -e "$ROOT/data" ] && echo "# note: ./data already exists: this script expects a fresh clone (first-run output may differ)"

# ======================================================================================================
# Quick start: `npm install && npm start`, `npm test`
# ======================================================================================================
if [ -d "$ROOT/node_modules" ]; then
  skip "npm install" "already run on this clone before the script (node_modules present); not repeated"
else
  run "npm install" 900 'npm install' || { echo "npm install failed: nothing else can run"; exit 1; }
fi
skip "npm test" "the CI runs it; this script must not"
skip "apt-get install -y chromium" "needs root and the internet (a prerequisite of npm test's browser tests)"
skip "MONGODB_URI=mongodb://localhost:27017 npm test" "no MongoDB on this machine (and npm test is the CI's)"

TOKEN_OK=0
BANK_TOKEN=""
NPM_START_OK=0
if ports_free "npm start" 8080 8081 8082 8083; then
  bg_start "npm start" 'npm start'
  P=$BG_PID L=$BG_LOG
  s=$SECONDS
  wait_log "$P" "$L" '^Press Ctrl-C to stop' 900
  w=$?
  if [ $w -ne 0 ]; then
    fail "npm start: ready" "no 'Press Ctrl-C to stop.' line: $(wait_why $w 900)" "$L"
  else
    NPM_START_OK=1
    ok "npm start: builds and starts ($((SECONDS - s)) s)"
    if grep -q 'Dashboard and API: http://127.0.0.1:8080' "$L" && grep -Eq 'One-time password: +[^ ]+' "$L" &&
      grep -Eq 'Admin token: +[^ ]+' "$L"; then
      ok "npm start: prints the dashboard URL, an admin token and the first admin's one-time password"
    else
      fail "npm start: prints URL, admin token, one-time password" "a line is missing" "$L"
    fi
    if wait_http http://127.0.0.1:8080/api/health 60 "$P" && curl -s http://127.0.0.1:8080/api/health | grep -q '"status":"ok"'; then
      ok "npm start: /api/health ok"
    else
      fail "npm start: /api/health" "$(curl -s http://127.0.0.1:8080/api/health | head -c 300)" "$L"
    fi
    page=$(curl -s --max-time 10 http://127.0.0.1:8080/)
    asset=$(printf '%s' "$page" | grep -o 'src="/assets/[^"]*\.js"' | head -1 | sed 's/^src="//; s/"$//')
    if printf '%s' "$page" | grep -q '<title>FinSecure · Consortium dashboard</title>' && [ -n "$asset" ] &&
      curl -sf -o /dev/null "http://127.0.0.1:8080$asset"; then
      ok "npm start: dashboard HTML and its script served at http://127.0.0.1:8080"
    else
      fail "npm start: dashboard at http://127.0.0.1:8080" "title or script missing: $(printf '%s' "$page" | head -c 300)"
    fi
    if [ "$(curl -s -o /dev/null -w '%{http_code}' -L http://127.0.0.1:8080/docs)" = 200 ]; then
      ok "npm start: API docs at /docs"
    else
      fail "npm start: /docs" "HTTP $(curl -s -o /dev/null -w '%{http_code}' -L http://127.0.0.1:8080/docs)"
    fi
    # The consoles come up with their banks, a little after the launcher's summary: up to 120 s each.
    bad=""
    for port in 8081 8082 8083; do
      wait_http "http://127.0.0.1:$port/api/health" 120 "$P" && html_title "http://127.0.0.1:$port/" | grep -q 'Bank console' || bad="$bad $port"
    done
    if [ -z "$bad" ] && grep -q 'Bank consoles: *bank-1 http://127.0.0.1:8081, bank-2 http://127.0.0.1:8082, bank-3 http://127.0.0.1:8083' "$L"; then
      ok "npm start: one bank console per bank on 8081-8083, URLs printed"
    else
      fail "npm start: bank consoles" "not serving the console on:$bad" "$L"
    fi
    # The README: the demo trains (20 rounds by default), then runs one segmentation and prints a line about it.
    s=$SECONDS
    wait_log "$P" "$L" '^Training finished: 20 rounds are committed' 900
    w=$?
    committed=$(grep -Ec '^ +round +[0-9]+ committed' "$L")
    failed=$(grep -Ec '^ +round +[0-9]+ FAILED' "$L")
    if [ $w -eq 0 ] && [ "$committed" -eq 20 ] && [ "$failed" -eq 0 ]; then
      ok "npm start: 20 rounds commit, none fails ($((SECONDS - s)) s) [$(grep -E '^ +round +20 committed' "$L" | sed 's/^ *//; s/  */ /g' | cut -c1-80)]"
    else
      fail "npm start: 20 rounds" "$committed committed, $failed failed; 'Training finished' $(wait_why $w 900)" "$L"
    fi
    wait_log "$P" "$L" '^Segmentation \(job [0-9]+\): [0-9]+ segments' 300
    w=$?
    if [ $w -eq 0 ]; then
      ok "npm start: one segmentation after training, reported in one line"
    else
      fail "npm start: segmentation after training" "no 'Segmentation (job N): K segments' line: $(wait_why $w 300)" "$L"
    fi

    # --- "export TOKEN=<the admin token npm start printed>" ------------------------------------------
    # Substitution: <the admin token npm start printed> = the value of npm start's "Admin token:" line.
    export TOKEN
    TOKEN=$(sed -n 's/^  Admin token: *//p' "$L" | head -1)
    if [ -n "$TOKEN" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/api/status -H "Authorization: Bearer $TOKEN")" = 200 ]; then
      TOKEN_OK=1
      ok "export TOKEN=<the admin token npm start printed> (GET /api/status with it: 200)"
    else
      fail "export TOKEN=<admin token>" "no token in npm start's output, or GET /api/status with it is not 200" "$L"
    fi
    if api GET /api/audit/verify "$TOKEN" | grep -q '"ok":true'; then
      ok "GET /api/audit/verify: the chain verifies"
    else
      fail "GET /api/audit/verify" "$(api GET /api/audit/verify "$TOKEN" | head -c 300)"
    fi

    # --- Users, roles and sign-in: named API tokens (```text block) --------------------------------
    if run "curl -X POST /api/tokens (named API token)" 60 'curl -X POST http://localhost:8080/api/tokens -H "Authorization: Bearer $TOKEN" \
     -H '"'"'content-type: application/json'"'"' -d '"'"'{"name": "nightly export", "role": "auditor", "expiresInDays": 30}'"'"'' '"token":"[^"]+"'; then
      API_TOKEN=$(jget 'j.token' < "$OUT")
      TOKEN_ID=$(jget 'j.record.id' < "$OUT")
      c1=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/api/audit -H "Authorization: Bearer $API_TOKEN")
      # Substitution: <id> = the id (record.id) the POST above returned.
      if run "curl -X DELETE /api/tokens/<id>" 60 "curl -X DELETE http://localhost:8080/api/tokens/$TOKEN_ID -H \"Authorization: Bearer \$TOKEN\""; then
        c2=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/api/audit -H "Authorization: Bearer $API_TOKEN")
        if [ "$c1" = 200 ] && [ "$c2" = 401 ]; then
          ok "API token: the auditor token reads /api/audit (200), refused once revoked (401)"
        else
          fail "API token before/after DELETE" "GET /api/audit with it: $c1 before, $c2 after (expected 200, 401)"
        fi
      fi
    fi

    # --- Analytics jobs (```bash block) -------------------------------------------------------------
    J1="" J2=""
    if run "curl -X POST /api/jobs/segmentation" 60 'curl -X POST http://localhost:8080/api/jobs/segmentation -H "Authorization: Bearer $TOKEN" \
  -H '"'"'content-type: application/json'"'"' \
  -d '"'"'{"k": 4, "maxIterations": 20, "minCustomers": 20, "privacy": {"clip": 4, "noiseMultiplier": 2}}'"'"'' '"kind":"segmentation"'; then
      J1=$(jget 'j.id' < "$OUT")
    fi
    if run "curl -X POST /api/jobs/calibration" 60 'curl -X POST http://localhost:8080/api/jobs/calibration -H "Authorization: Bearer $TOKEN" \
  -H '"'"'content-type: application/json'"'"' -d '"'"'{"contamination": 0.01}'"'"'' '"kind":"calibration"'; then
      J2=$(jget 'j.id' < "$OUT")
    fi
    run "curl http://localhost:8080/api/jobs" 60 'curl http://localhost:8080/api/jobs -H "Authorization: Bearer $TOKEN"        # status, stages, results' '"kind":"(segmentation|calibration)"'
    if [ -n "$J1$J2" ]; then
      end=$((SECONDS + 300))
      st=""
      while ((SECONDS < end)); do
        st=$(api GET /api/jobs "$TOKEN" | jget "j.filter(x=>[$J1${J1:+${J2:+,}}$J2].includes(x.id)).map(x=>x.kind+':'+x.status+(x.failureReason?' ('+x.failureReason+')':'')).join(', ')")
        echo "$st" | grep -Eq 'queued|running' || break
        sleep 2
      done
      if [ -z "$st" ] || echo "$st" | grep -Eq 'queued|running|failed|cancel'; then
        fail "jobs complete" "after 300 s: ${st:-no such jobs in GET /api/jobs}"
      else
        ok "jobs complete: $st"
      fi
    fi

    # --- Development: datasets (used below as the files a bank must bring) --------------------------
    run "npm run datasets -- generate --rows 100000 --seed 1 --out data/synthetic.csv" 300 \
      'npm run datasets -- generate --rows 100000 --seed 1 --out data/synthetic.csv'
    run "npm run datasets -- partition ... --scheme dirichlet --out data/shards" 300 \
      'npm run datasets -- partition --input data/synthetic.csv --banks 5 --scheme dirichlet --alpha 0.5 --seed 42 --out data/shards' \
      'wrote data/shards/manifest.json'

    # --- Running a bank ----------------------------------------------------------------------------
    # Inline: curl -X POST http://<aggregator>:8080/api/banks -H "Authorization: Bearer $TOKEN" ... -d '{"id": "bank-a"}'
    # Substitution: <aggregator> = localhost (the aggregator is npm start's).
    if run "curl -X POST http://<aggregator>:8080/api/banks (register bank-a)" 60 'curl -X POST http://localhost:8080/api/banks -H "Authorization: Bearer $TOKEN" -H '"'"'content-type: application/json'"'"' -d '"'"'{"id": "bank-a"}'"'"'' '"token":"fst_'; then
      BANK_TOKEN=$(jget 'j.token' < "$OUT")
    fi
    # export FINSECURE_BANK_TOKEN=...   # issued once by POST /api/banks   (Substitution: ... = that token)
    export FINSECURE_BANK_TOKEN=$BANK_TOKEN
    run "finsecure-bank state-key new --out state.key" 60 \
      'npx --no-install finsecure-bank state-key new --out state.key   # once: the key the bank'"'"'s state is encrypted under' \
      'wrote a new state key to state.key'
    if [ -f "$ROOT/state.key" ] && [ "$(stat -c %a "$ROOT/state.key")" != 600 ]; then
      fail "state.key mode" "is $(stat -c %a "$ROOT/state.key"), the README says 0600"
    fi
    export FINSECURE_STATE_KEY_FILE=$PWD/state.key # as in the README (the script runs from the clone root)
    # Inline (Secure aggregation, "The banks' roster"): the bank's roster entry; makes ./bank-state/identity.key.
    run "finsecure-bank identity --bank-id bank-a" 60 'npx --no-install finsecure-bank identity --bank-id bank-a' '"bank-a":"'

    # npx --no-install finsecure-bank start --server ws://aggregator:8080/ws/bank --bank-id bank-a --data transactions.csv \
    #   [--test test.csv | --test-fraction 0.2] [--dp-clip 1 --dp-noise-multiplier 1.1 --dp-epsilon-budget 8]
    # Substitutions: aggregator = localhost (the README: replace it with the aggregator's host);
    # transactions.csv = data/shards/bank-1.csv (made by the README's `npm run datasets` commands);
    # of the optional parts, --test-fraction 0.2 and the DP flags.
    BANK_START='npx --no-install finsecure-bank start --server ws://localhost:8080/ws/bank --bank-id bank-a --data data/shards/bank-1.csv \
  --test-fraction 0.2 --dp-clip 1 --dp-noise-multiplier 1.1 --dp-epsilon-budget 8'
    if [ -n "$BANK_TOKEN" ] && [ -f "$ROOT/data/shards/bank-1.csv" ]; then
      bg_start "finsecure-bank start (bank-a)" "$BANK_START"
      BP=$BG_PID BL=$BG_LOG
      wait_log "$BP" "$BL" 'joined the federation' 180
      w=$?
      if [ $w -ne 0 ]; then
        fail "finsecure-bank start: joins npm start's federation" "no 'joined the federation': $(wait_why $w 180)" "$BL"
      else
        ok "finsecure-bank start: joins npm start's federation"
        # The README ("More rounds"): POST /api/training/start with {"additionalRounds": n} trains n more.
        before=$(api GET /api/status "$TOKEN" | jget 'j.roundsCompleted')
        want=$((${before:-20} + 2))
        r=$(api POST /api/training/start "$TOKEN" '{"additionalRounds": 2}')
        wait_log "$P" "$L" "^ +round +$want (committed|FAILED)" 300
        w=$?
        sleep 2
        parts=$(api GET /api/banks "$TOKEN" | jget 'j.find(b=>b.id==="bank-a").roundsParticipated')
        if [ $w -eq 0 ] && [ -d "$ROOT/bank-state/models/v$want" ] && [ -d "$ROOT/bank-state/model" ] && [ "${parts:-0}" -ge 1 ]; then
          ok "finsecure-bank start: trains in rounds $((want - 1))-$want ($parts as participant) and keeps each model (bank-state/models/v$want, model/)"
        else
          fail "finsecure-bank start: trains and keeps models" "POST additionalRounds: $r; round $want: $(wait_why $w 300); bank-a participated in ${parts:-?} round(s); bank-state/models: $(ls "$ROOT/bank-state/models" 2> /dev/null | tr '\n' ' ')" "$BL"
        fi
      fi
      bg_stop "finsecure-bank start: Ctrl-C stops it" "$BP" "$BL"
    else
      fail "finsecure-bank start (bank-a)" "not run: no bank token or no data/shards/bank-1.csv from the commands above"
    fi

    # npx --no-install finsecure-bank score --model ./bank-state/model --data new-transactions.csv --out scores.csv
    # Substitution: new-transactions.csv = data/shards/test.csv (transactions the bank did not train on).
    if run "finsecure-bank score --model ./bank-state/model" 180 \
      'npx --no-install finsecure-bank score --model ./bank-state/model --data data/shards/test.csv --out scores.csv' \
      '^scored [0-9,]+ transactions'; then
      rows=$(($(wc -l < "$ROOT/data/shards/test.csv") - 1))
      lines=$(($(wc -l < "$ROOT/scores.csv") - 1))
      if [ "$rows" -eq "$lines" ]; then ok "scores.csv: one score per transaction ($lines)"; else fail "scores.csv" "$lines scores for $rows transactions"; fi
    fi
    # `score --model ./bank-state/models/v12`. Substitution: v12 = the oldest version the bank kept.
    V=$(ls "$ROOT/bank-state/models" 2> /dev/null | sed -n 's/^v\([0-9]*\)$/\1/p' | sort -n | head -1)
    if [ -n "$V" ]; then
      run "finsecure-bank score --model ./bank-state/models/v<N>" 180 \
        "npx --no-install finsecure-bank score --model ./bank-state/models/v$V --data data/shards/test.csv --out scores.csv" \
        "with global model v$V\\b"
    else
      fail "finsecure-bank score --model ./bank-state/models/v<N>" "the bank kept no model version"
    fi
    run "finsecure-bank start --help" 60 'npx --no-install finsecure-bank start --help' '--dp-epsilon-budget'
    # "`npx --no-install finsecure-bank --version` prints the version, and Node's"
    run "finsecure-bank --version" 60 'npx --no-install finsecure-bank --version' '^finsecure-bank [0-9][^ ]* \(node v[0-9.]+\)$'
    run "finsecure-bank accounts --help" 60 'npx --no-install finsecure-bank accounts --help' 'Usage'
    run "finsecure-bank anonymise --help" 60 'npx --no-install finsecure-bank anonymise --help' 'Usage'
    # Bank state at rest: `npx --no-install finsecure-bank audit-heads > heads.jsonl`
    if run "finsecure-bank audit-heads > heads.jsonl" 60 'npx --no-install finsecure-bank audit-heads > heads.jsonl'; then
      if [ -s "$ROOT/heads.jsonl" ]; then ok "heads.jsonl holds $(wc -l < "$ROOT/heads.jsonl") audit head(s)"; else fail "heads.jsonl" "empty"; fi
    fi
  fi
  bg_stop "npm start: Ctrl-C stops everything" "$P" "$L" 8080 8081 8082 8083
fi

# `npx --no-install finsecure-aggregator audit verify --data-dir ./data --bank-heads heads.jsonl`
run "finsecure-aggregator audit verify --data-dir ./data --bank-heads heads.jsonl" 180 \
  'npx --no-install finsecure-aggregator audit verify --data-dir ./data --bank-heads heads.jsonl' \
  '[1-9][0-9]* heads kept by banks'

# `npm start -- --help lists the options`
run "npm start -- --help" 600 'npm start -- --help' '--rounds <n>'
run "npm start -- --version" 600 'npm start -- --version' '^finsecure-local [0-9][^ ]* \(node v[0-9.]+\)$'

# `FINSECURE_NORMALIZE_STEPS=true FINSECURE_LOSS_EXPONENT=0.5 FINSECURE_SERVER_LEARNING_RATE=0.3 npm start`:
# the defaults; "running it again resumes from the last committed round", and a federation that has
# committed all its rounds "resumes with nothing left to train: add --rounds".
HINT=""
if ports_free "npm start (again, with the default FINSECURE_* settings)" 8080 8081 8082 8083; then
  bg_start "npm start again" 'FINSECURE_NORMALIZE_STEPS=true FINSECURE_LOSS_EXPONENT=0.5 FINSECURE_SERVER_LEARNING_RATE=0.3 npm start'
  P=$BG_PID L=$BG_LOG
  wait_log "$P" "$L" 'To train more: npm start -- --rounds [0-9]+|^ +round +[0-9]+ committed' 600
  w=$?
  if [ $w -eq 0 ] && grep -Eq '^  Resuming: .*[1-9][0-9]* committed' "$L" && grep -q 'To train more: npm start -- --rounds' "$L"; then
    HINT=$(sed -n 's/.*To train more: \(npm start -- --rounds [0-9]*\).*/\1/p' "$L" | head -1)
    ok "FINSECURE_NORMALIZE_STEPS=true ... npm start: resumes, nothing left to train, says '$HINT'"
  else
    fail "FINSECURE_NORMALIZE_STEPS=true ... npm start (resume)" "expected a 'Resuming:' line and 'To train more: npm start -- --rounds N': $(wait_why $w 600)" "$L"
  fi
  bg_stop "npm start again: Ctrl-C stops it" "$P" "$L" 8080 8081 8082 8083
fi
# The hint it printed (the README: "add --rounds").
if [ -n "$HINT" ] && ports_free "$HINT" 8080 8081 8082 8083; then
  N=${HINT##* }
  bg_start "$HINT" "$HINT"
  P=$BG_PID L=$BG_LOG
  wait_log "$P" "$L" "^Training finished: $N rounds are committed" 900
  w=$?
  if [ $w -eq 0 ] && ! grep -Eq '^ +round +[0-9]+ FAILED' "$L"; then
    ok "$HINT: trains on up to $N committed rounds ($(grep -Ec '^ +round +[0-9]+ committed' "$L") new)"
  else
    fail "$HINT" "no 'Training finished: $N rounds are committed': $(wait_why $w 900)" "$L"
  fi
  bg_stop "$HINT: Ctrl-C stops it" "$P" "$L" 8080 8081 8082 8083
fi

# ======================================================================================================
# Running the aggregator
# ======================================================================================================
export FINSECURE_ADMIN_TOKEN
FINSECURE_ADMIN_TOKEN=$(openssl rand -base64 32)
if [ ${#FINSECURE_ADMIN_TOKEN} -ge 40 ]; then ok 'export FINSECURE_ADMIN_TOKEN=$(openssl rand -base64 32)'; else fail 'export FINSECURE_ADMIN_TOKEN=$(openssl rand -base64 32)' "got '$FINSECURE_ADMIN_TOKEN'"; fi
AGG='npx --no-install finsecure-aggregator --host 0.0.0.0 --port 8080 --rounds 50 --min-banks 3 --quorum 2'
if ports_free "finsecure-aggregator --host 0.0.0.0 --port 8080 ..." 8080 8081; then
  bg_start "finsecure-aggregator" "$AGG"
  P=$BG_PID L=$BG_LOG
  if ! wait_http http://127.0.0.1:8080/api/health 180 "$P"; then
    fail "finsecure-aggregator --host 0.0.0.0 --port 8080 --rounds 50 --min-banks 3 --quorum 2" "/api/health did not answer" "$L"
  else
    cfg=$(api GET /api/config "$FINSECURE_ADMIN_TOKEN" | jget '[j.rules.rounds,j.rules.minBanks,j.rules.quorum].join(",")')
    banks=$(api GET /api/banks "$FINSECURE_ADMIN_TOKEN" | jget 'j.map(b=>b.id).sort().join(",")')
    mv=$(curl -s http://127.0.0.1:8080/api/health | jget 'j.modelVersion')
    if [ "$cfg" = "50,3,2" ] && [ "$banks" = "bank-1,bank-2,bank-3,bank-a" ] && [ "${mv:-0}" -ge 20 ]; then
      ok "finsecure-aggregator --host 0.0.0.0 --port 8080 --rounds 50 --min-banks 3 --quorum 2: up, carries on with the demo's ./data (banks $banks, model v$mv)"
    else
      fail "finsecure-aggregator --host 0.0.0.0 --port 8080 ..." "rules rounds,minBanks,quorum = '$cfg' (want 50,3,2); banks '$banks'; model v$mv" "$L"
    fi
    if api GET /api/models "$FINSECURE_ADMIN_TOKEN" | jget 'j.length>0 && j.filter(m=>m.best).length===1' | grep -q true; then
      ok "GET /api/models: every version listed, one marked best"
    else
      fail "GET /api/models" "$(api GET /api/models "$FINSECURE_ADMIN_TOKEN" | head -c 300)"
    fi
    # The body first: under pipefail, grep -q leaving at its match makes curl fail with SIGPIPE (exit 23)
    # whenever the rest of the body was still being written, a failure of the check, not of /metrics.
    metrics=$(curl -s http://127.0.0.1:8080/metrics)
    if grep -q '^finsecure_process_nodejs_eventloop_lag_p99_seconds' <<<"$metrics"; then
      ok "GET /metrics: Prometheus text with the event-loop lag gauges"
    else
      fail "GET /metrics" "no finsecure_process_nodejs_eventloop_lag_p99_seconds"
    fi

    # --- The bank console ------------------------------------------------------------------------
    run "finsecure-bank users add admin --role admin --state-dir ./bank-state --state-key-file state.key" 120 \
      'npx --no-install finsecure-bank users add admin --role admin --state-dir ./bank-state --state-key-file state.key   # prints a one-time password' \
      'one-time password'
    # `npx --no-install finsecure-bank start ... --console-port 8081     # beside the daemon`
    # Substitution: ... = the arguments of the bank's start command above (bank-a, this aggregator).
    if [ -n "$BANK_TOKEN" ]; then
      bg_start "finsecure-bank start ... --console-port 8081" "$BANK_START --console-port 8081"
      BP=$BG_PID BL=$BG_LOG
      wait_log "$BP" "$BL" 'joined the federation' 180
      w=$?
      sleep 1
      t=$(html_title http://127.0.0.1:8081/)
      if [ $w -eq 0 ] && echo "$t" | grep -q 'Bank console' && curl -s http://127.0.0.1:8081/api/health | grep -q '"ok":true'; then
        ok "finsecure-bank start ... --console-port 8081: joins and serves the console ($t)"
      else
        fail "finsecure-bank start ... --console-port 8081" "joined: $(wait_why $w 180); console title: '$t'" "$BL"
      fi
      bg_stop "finsecure-bank start ... --console-port 8081: Ctrl-C stops it" "$BP" "$BL" 8081
    else
      fail "finsecure-bank start ... --console-port 8081" "not run: no bank token from the registration above"
    fi
  fi
  bg_stop "finsecure-aggregator: Ctrl-C stops it" "$P" "$L" 8080
fi
if ports_free "finsecure-bank console --state-dir ./bank-state --console-port 8081" 8081; then
  bg_start "finsecure-bank console" 'npx --no-install finsecure-bank console --state-dir ./bank-state --console-port 8081'
  P=$BG_PID L=$BG_LOG
  if wait_http http://127.0.0.1:8081/api/health 120 "$P" && html_title http://127.0.0.1:8081/ | grep -q 'Bank console'; then
    ok "finsecure-bank console --state-dir ./bank-state --console-port 8081: serves the console without a federation"
  else
    fail "finsecure-bank console --state-dir ./bank-state --console-port 8081" "console not served" "$L"
  fi
  bg_stop "finsecure-bank console: Ctrl-C stops it" "$P" "$L" 8081
fi
run "finsecure-aggregator --help" 60 'npx --no-install finsecure-aggregator --help' 'finsecure-aggregator audit verify'
if ! grep -q 'finsecure-aggregator users add' "$OUT" 2> /dev/null; then
  fail "finsecure-aggregator --help lists users" "no 'finsecure-aggregator users add...' line" "$OUT"
fi

# "(`--version` prints the version, and Node's, even when the settings are broken)"
run "finsecure-aggregator --version" 60 'npx --no-install finsecure-aggregator --version' '^finsecure-aggregator [0-9][^ ]* \(node v[0-9.]+\)$'
run "finsecure-aggregator --version with a broken setting (FINSECURE_QUORUM=oops)" 60 \
  'FINSECURE_QUORUM=oops npx --no-install finsecure-aggregator --version' '^finsecure-aggregator [0-9][^ ]* \(node v[0-9.]+\)$'

# --- Users, roles and sign-in ----------------------------------------------------------------------
run 'finsecure-aggregator users add alice --role auditor --display-name "Alice Auditor"' 120 \
  'npx --no-install finsecure-aggregator users add alice --role auditor --display-name "Alice Auditor"' 'one-time password'
run "finsecure-aggregator users list" 120 'npx --no-install finsecure-aggregator users list' '^alice +auditor'
run "finsecure-aggregator users disable alice" 120 'npx --no-install finsecure-aggregator users disable alice'
run "finsecure-aggregator users reset-mfa alice" 120 'npx --no-install finsecure-aggregator users reset-mfa alice'

# --- Bank state at rest ----------------------------------------------------------------------------
# The same command again: "it refuses to overwrite a file".
log=$(newlog state-key-again)
sum1=$(sha256sum "$ROOT/state.key" 2> /dev/null)
(cd "$ROOT" && timeout 60 npx --no-install finsecure-bank state-key new --out state.key > "$log" 2>&1 < /dev/null)
rc=$?
if [ $rc -ne 0 ] && [ "$rc" -ne 124 ] && [ "$sum1" = "$(sha256sum "$ROOT/state.key" 2> /dev/null)" ]; then
  ok "finsecure-bank state-key new --out state.key (again): refuses to overwrite (exit $rc)"
else
  fail "finsecure-bank state-key new --out state.key (again)" "exit $rc; file unchanged: $([ "$sum1" = "$(sha256sum "$ROOT/state.key" 2> /dev/null)" ] && echo yes || echo no)" "$log"
fi
run "openssl rand -base64 32" 30 'openssl rand -base64 32' '^[A-Za-z0-9+/]{43}=$'

# ======================================================================================================
# Choosing the aggregation strategy; secure aggregation
# ======================================================================================================
# agg_config NAME COMMAND: starts an aggregator, saves GET /api/config to $CFG, stops it
agg_config() {
  local name=$1 cmd=$2
  CFG=""
  ports_free "$name" 8080 || return 1
  bg_start "$name" "$cmd"
  local p=$BG_PID l=$BG_LOG
  if wait_http http://127.0.0.1:8080/api/health 180 "$p"; then
    CFG=$(api GET /api/config "$FINSECURE_ADMIN_TOKEN")
    ok "$name: starts, /api/health ok"
  else
    fail "$name" "/api/health did not answer" "$l"
  fi
  bg_stop "$name: Ctrl-C stops it" "$p" "$l" 8080
}
agg_config "finsecure-aggregator --no-normalize-steps --loss-exponent 0 --server-learning-rate 1 --learning-rate 0.001" \
  'npx --no-install finsecure-aggregator --no-normalize-steps --loss-exponent 0 --server-learning-rate 1 --learning-rate 0.001'
C1=$(printf '%s' "$CFG" | jget '[j.rules.normalizeSteps,j.rules.lossExponent,j.rules.serverLearningRate,j.training.learningRate].join(",")')
C1ALL=$CFG
# "# or FINSECURE_NORMALIZE_STEPS=false ... FINSECURE_LEARNING_RATE=0.001" (the same aggregator command, by environment)
agg_config "FINSECURE_NORMALIZE_STEPS=false FINSECURE_LOSS_EXPONENT=0 FINSECURE_SERVER_LEARNING_RATE=1 FINSECURE_LEARNING_RATE=0.001 finsecure-aggregator" \
  'FINSECURE_NORMALIZE_STEPS=false FINSECURE_LOSS_EXPONENT=0 FINSECURE_SERVER_LEARNING_RATE=1 FINSECURE_LEARNING_RATE=0.001 npx --no-install finsecure-aggregator'
C2=$(printf '%s' "$CFG" | jget '[j.rules.normalizeSteps,j.rules.lossExponent,j.rules.serverLearningRate,j.training.learningRate].join(",")')
if [ "$C1" = "false,0,1,0.001" ] && [ "$C2" = "$C1" ] && [ "$C1ALL" = "$CFG" ]; then
  ok "plain FedAvg: flags and FINSECURE_* variables give the same configuration ($C1)"
else
  fail "plain FedAvg flags vs variables" "flags: '$C1', variables: '$C2' (want false,0,1,0.001, and the whole /api/config equal)"
fi
agg_config "finsecure-aggregator --secure-aggregation --min-banks 4 --quorum 3" \
  'npx --no-install finsecure-aggregator --secure-aggregation --min-banks 4 --quorum 3   # or FINSECURE_SECURE_AGGREGATION=true npm start'
C3=$(printf '%s' "$CFG" | jget '[j.rules.secureAggregation,j.rules.minBanks,j.rules.quorum].join(",")')
if [ "$C3" = "true,4,3" ]; then ok "--secure-aggregation --min-banks 4 --quorum 3 in effect"; else fail "--secure-aggregation config" "secureAggregation,minBanks,quorum = '$C3'"; fi

# "# or FINSECURE_SECURE_AGGREGATION=true npm start": the demo with secure aggregation. Its rounds are
# all committed by now (see above), so after it says so one more round is asked for through the API
# (the README's "More rounds": {"additionalRounds": n}) and must commit with its metrics.
if ports_free "FINSECURE_SECURE_AGGREGATION=true npm start" 8080 8081 8082 8083; then
  bg_start "FINSECURE_SECURE_AGGREGATION=true npm start" 'FINSECURE_SECURE_AGGREGATION=true npm start'
  P=$BG_PID L=$BG_LOG
  wait_log "$P" "$L" 'To train more: npm start|^Training finished' 600
  w=$?
  if [ $w -ne 0 ]; then
    fail "FINSECURE_SECURE_AGGREGATION=true npm start" "not ready: $(wait_why $w 600)" "$L"
  else
    sa=$(api GET /api/config "$FINSECURE_ADMIN_TOKEN" | jget 'j.rules.secureAggregation')
    before=$(api GET /api/status "$FINSECURE_ADMIN_TOKEN" | jget 'j.roundsCompleted')
    want=$((${before:-0} + 1))
    r=$(api POST /api/training/start "$FINSECURE_ADMIN_TOKEN" '{"additionalRounds": 1}')
    wait_log "$P" "$L" "^ +round +$want (committed|FAILED)" 600
    w=$?
    line=$(grep -E "^ +round +$want (committed|FAILED)" "$L" | head -1 | sed 's/^ *//; s/  */ /g')
    if [ "$sa" = true ] && [ $w -eq 0 ] && echo "$line" | grep -q 'committed  *F1 [0-9]'; then
      ok "FINSECURE_SECURE_AGGREGATION=true npm start: a secure round commits with metrics [$line]"
    else
      fail "FINSECURE_SECURE_AGGREGATION=true npm start" "secureAggregation=$sa; POST additionalRounds: $r; round $want: ${line:-$(wait_why $w 600)}" "$L"
    fi
  fi
  bg_stop "FINSECURE_SECURE_AGGREGATION=true npm start: Ctrl-C stops it" "$P" "$L" 8080 8081 8082 8083
fi

# ======================================================================================================
# Run with Docker Compose
# ======================================================================================================
run "cp .env.example .env + the two sed commands" 30 'cp .env.example .env
sed -i "s|^FINSECURE_ADMIN_TOKEN=.*|FINSECURE_ADMIN_TOKEN=$(openssl rand -base64 32)|" .env
sed -i "s|^FINSECURE_VIEWER_TOKEN=.*|FINSECURE_VIEWER_TOKEN=$(openssl rand -base64 32)|" .env'
if grep -Eq '^FINSECURE_ADMIN_TOKEN=.{16,}$' "$ROOT/.env" 2> /dev/null && grep -Eq '^FINSECURE_VIEWER_TOKEN=.{16,}$' "$ROOT/.env"; then
  ok ".env: both tokens set (>= 16 characters)"
else
  fail ".env tokens" "$(grep -E '^FINSECURE_(ADMIN|VIEWER)_TOKEN' "$ROOT/.env" 2> /dev/null | sed 's/=.*/=…/' | tr '\n' ' ')"
fi
skip "npm ci (step 2)" "reinstalls node_modules from the lockfile (measured 2-5 min here), the same as the set-up's npm install that this clone already ran; the rest of the line is run (generate: above)"
run "npm run datasets -- partition --input data/synthetic.csv --banks 3 --scheme iid --out data/banks" 300 \
  'npm run datasets -- partition --input data/synthetic.csv --banks 3 --scheme iid --out data/banks' 'wrote data/banks/manifest.json'
run "for n in 1 2 3; do mkdir -p deploy/data/bank-\$n && cp ...; done" 60 \
  'for n in 1 2 3; do mkdir -p deploy/data/bank-$n && cp data/banks/bank-$n.csv deploy/data/bank-$n/train.csv; done'
for c in 'docker compose up -d --build mongo aggregator' 'docker compose ps' 'docker compose up -d' \
  'docker compose run --rm bank-1 score -m /state/model -d /data/new.csv -o /state/scores.csv' \
  'docker compose -f docker-compose.yml -f docker-compose.tls.yml up -d --build' \
  'docker run -d --rm --name finsecure-test-mongo -p 127.0.0.1:27017:27017 mongo:7' 'docker stop finsecure-test-mongo'; do
  skip "$c" "needs Docker (not on this machine)"
done
# Steps 4-6 talk to compose's aggregator on localhost:8080. Substitution: the same program outside Docker
# (.env.example: "Outside Docker, the same variables configure" it), with the settings of .env loaded as
# step 4 loads them, and an empty store of its own in the temp dir (compose's is a fresh MongoDB).
if ports_free "steps 4-6 (aggregator with .env)" 8080; then
  mkdir -p "$WORK/compose-store"
  bg_start "aggregator with .env" "set -a; . ./.env; set +a; npx --no-install finsecure-aggregator --data-dir '$WORK/compose-store'"
  P=$BG_PID L=$BG_LOG
  if ! wait_http http://127.0.0.1:8080/api/health 180 "$P"; then
    fail "aggregator with the settings of .env" "/api/health did not answer (an .env setting refused?)" "$L"
  else
    ok "aggregator with the settings of .env (empty = default): starts"
    if run "step 4: register bank-1..3 (set -a; . ./.env; set +a; for n in 1 2 3; do curl ...; done)" 60 'set -a; . ./.env; set +a
for n in 1 2 3; do
  curl -s -X POST http://localhost:8080/api/banks \
    -H "Authorization: Bearer $FINSECURE_ADMIN_TOKEN" -H '"'"'content-type: application/json'"'"' \
    -d "{\"id\":\"bank-$n\",\"name\":\"Bank $n\"}"; echo
done'; then
      n=$(grep -c '"token":"fst_' "$OUT")
      if [ "$n" -eq 3 ]; then ok "step 4: three bank tokens returned"; else fail "step 4: bank tokens" "$n of 3 responses carry a token" "$OUT"; fi
    fi
    # Step 5, in the shell where step 4 loaded .env (so $FINSECURE_ADMIN_TOKEN is .env's).
    run "step 5: curl -X POST http://localhost:8080/api/training/start" 60 'set -a; . ./.env; set +a
curl -X POST http://localhost:8080/api/training/start -H "Authorization: Bearer $FINSECURE_ADMIN_TOKEN"' '"state":"(running|waiting)'
    # Step 6: dashboard, /docs, /api/health, /metrics (rounds, bytes, ..., finsecure_process_…, event-loop gauges)
    m=$(curl -s http://127.0.0.1:8080/metrics)
    miss=""
    for g in min max mean stddev p50 p90 p99; do
      echo "$m" | grep -q "^finsecure_process_nodejs_eventloop_lag_${g}_seconds" || miss="$miss lag_$g"
    done
    echo "$m" | grep -q '^finsecure_process_nodejs_eventloop_utilization' || miss="$miss utilization"
    if html_title http://localhost:8080/ | grep -q 'Consortium dashboard' && [ "$(curl -s -o /dev/null -w '%{http_code}' -L http://localhost:8080/docs)" = 200 ] &&
      curl -s http://localhost:8080/api/health | grep -q '"status":"ok"' && [ -z "$miss" ]; then
      ok "step 6: dashboard at http://localhost:8080/, /docs, /api/health, /metrics with the event-loop gauges"
    else
      fail "step 6: dashboard, docs, health, metrics" "missing metrics:${miss:- none}" "$L"
    fi
  fi
  bg_stop "aggregator with .env: Ctrl-C stops it" "$P" "$L" 8080
fi

# --- TLS --------------------------------------------------------------------------------------------
run "deploy/make-tls-certs.sh deploy/tls finsecure.example.org" 120 'deploy/make-tls-certs.sh deploy/tls finsecure.example.org' 'Wrote deploy/tls/ca.crt'
# `curl --cacert deploy/tls/ca.crt https://localhost:8080/api/health` needs an aggregator serving those
# certificates; compose's is not available, so the README's "Outside Docker" form serves them:
# `FINSECURE_TLS_CERT=server.crt FINSECURE_TLS_KEY=server.key npx --no-install finsecure-aggregator ...`
# Substitutions: server.crt/server.key = deploy/tls/server.crt/.key (made above); ... = no other flags.
if [ -f "$ROOT/deploy/tls/server.crt" ] && ports_free "FINSECURE_TLS_CERT=... finsecure-aggregator" 8080; then
  bg_start "TLS aggregator" 'FINSECURE_TLS_CERT=deploy/tls/server.crt FINSECURE_TLS_KEY=deploy/tls/server.key npx --no-install finsecure-aggregator'
  P=$BG_PID L=$BG_LOG
  if ! wait_http https://localhost:8080/api/health 180 "$P" --cacert "$ROOT/deploy/tls/ca.crt"; then
    fail "FINSECURE_TLS_CERT=server.crt FINSECURE_TLS_KEY=server.key finsecure-aggregator" "HTTPS /api/health did not answer" "$L"
  else
    ok "FINSECURE_TLS_CERT=server.crt FINSECURE_TLS_KEY=server.key finsecure-aggregator: serves HTTPS"
    run "curl --cacert deploy/tls/ca.crt https://localhost:8080/api/health" 60 'curl --cacert deploy/tls/ca.crt https://localhost:8080/api/health' '"tls":true'
    # "banks connect with --server wss://host:8080/ws/bank --ca-file ca.crt".
    # Substitutions: host = localhost, ca.crt = deploy/tls/ca.crt; the other flags as the bank's start above.
    if [ -n "$BANK_TOKEN" ]; then
      bg_start "finsecure-bank start --server wss://... --ca-file" 'npx --no-install finsecure-bank start --server wss://localhost:8080/ws/bank --ca-file deploy/tls/ca.crt --bank-id bank-a --data data/shards/bank-1.csv --test-fraction 0.2'
      BP=$BG_PID BL=$BG_LOG
      wait_log "$BP" "$BL" 'joined the federation' 180
      w=$?
      if [ $w -eq 0 ]; then ok "finsecure-bank start --server wss://localhost:8080/ws/bank --ca-file deploy/tls/ca.crt: joins over TLS"; else fail "finsecure-bank over wss:// with --ca-file" "$(wait_why $w 180)" "$BL"; fi
      bg_stop "finsecure-bank (wss): Ctrl-C stops it" "$BP" "$BL"
    fi
  fi
  bg_stop "TLS aggregator: Ctrl-C stops it" "$P" "$L" 8080
fi
if run "openssl by hand (mkdir -p deploy/tls/by-hand && cd deploy/tls/by-hand; openssl ...)" 120 'mkdir -p deploy/tls/by-hand && cd deploy/tls/by-hand
openssl req -x509 -newkey rsa:3072 -sha256 -days 1825 -nodes -keyout ca.key -out ca.crt \
  -subj "/CN=FinSecure consortium CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey rsa:3072 -sha256 -nodes -keyout server.key -out server.csr -subj "/CN=aggregator"
printf '"'"'subjectAltName=DNS:aggregator,DNS:localhost,IP:127.0.0.1,DNS:finsecure.example.org\nextendedKeyUsage=serverAuth\n'"'"' > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -sha256 -extfile server.ext -out server.crt'; then
  run "by-hand server.crt verifies against by-hand ca.crt, SAN names finsecure.example.org" 30 \
    'cd deploy/tls/by-hand && openssl verify -CAfile ca.crt server.crt && openssl x509 -in server.crt -noout -ext subjectAltName' 'finsecure\.example\.org'
fi

# ======================================================================================================
# Comparing federated with centralized training; attack lab; development
# ======================================================================================================
run "npm run build" 600 'npm run build      # tsc -b (project references) + the dashboard'"'"'s vite build'
# `npm run lint` takes ~3 min of one core: it runs in the background beside the research commands
# below (they use the other core) and is checked at the end.
LINT_LOG=$(newlog "npm run lint")
printf '$ npm run lint\n' > "$LINT_LOG"
(cd "$ROOT" && exec setsid bash -c 'npm run lint       # type-check bench/ and the tests, eslint, prettier --check' >> "$LINT_LOG" 2>&1 < /dev/null) &
LINT_PID=$!
ALL_BG+=("$LINT_PID")
LINT_T0=$SECONDS

# creditcard.csv is the user's Kaggle file; ../shared/datasets holds a sample of it (real rows).
ULB=${SHARED:+$SHARED/ulb-creditcard-sample.csv}
HB=${SHARED:+$SHARED/handbook-2018-04.csv.gz}
if [ -n "$ULB" ] && [ -f "$ULB" ]; then
  # Substitution in the three commands: creditcard.csv = ../shared/datasets/ulb-creditcard-sample.csv.
  run "npm run baseline -- --data creditcard.csv --seed 42 --smote" 600 \
    "npm run baseline -- --data '$ULB' --seed 42 --smote          # the MLP on the pooled training data" '^Centralized: AUPRC'
  run "npm run simulate -- --data creditcard.csv --banks 10 --scheme dirichlet --alpha 0.5 --rounds 20" 900 \
    "npm run simulate -- --data '$ULB' --banks 10 --scheme dirichlet --alpha 0.5 --rounds 20" '^Federated after 20 rounds'
  if run "npm run compare -- --data creditcard.csv --out report/" 1200 \
    "npm run compare  -- --data '$ULB' --out report/              # both, plus local-only, report.md + SVG charts" 'Wrote report/report.md'; then
    [ -s "$ROOT/report/report.md" ] && ls "$ROOT"/report/*.svg > /dev/null 2>&1 || fail "compare: report/report.md + SVG charts" "missing: $(ls "$ROOT/report" | tr '\n' ' ')"
  fi
else
  for c in baseline simulate "compare --data"; do skip "npm run $c -- --data creditcard.csv ..." "needs the Kaggle creditcard.csv (real data; ../shared/datasets absent)"; done
fi
if [ -n "$HB" ] && [ -f "$HB" ]; then
  # `npm run compare -- --train train.csv --test test.csv --scheme natural-skew --alpha 0.5 --out report/`
  # Substitution: train.csv/test.csv = a time split of the handbook month (it has customer ids, which
  # natural-skew needs), made with datasets/README.md's command (the path adapted), the bank shards
  # concatenated into train.csv; both in the temp dir.
  log=$(newlog hb-split)
  if (cd "$ROOT" && timeout 600 npm run datasets -- partition --input "$HB" --banks 4 --scheme natural --split time --out data/hb-4 > "$log" 2>&1 < /dev/null) &&
    { head -n 1 "$ROOT/data/hb-4/bank-1.csv" && for f in "$ROOT"/data/hb-4/bank-*.csv; do tail -n +2 "$f"; done; } > "$WORK/train.csv" &&
    cp "$ROOT/data/hb-4/test.csv" "$WORK/test.csv"; then
    run "npm run compare -- --train train.csv --test test.csv --scheme natural-skew --alpha 0.5 --out report/" 1500 \
      "npm run compare  -- --train '$WORK/train.csv' --test '$WORK/test.csv' --scheme natural-skew --alpha 0.5 --out report/" 'Wrote report/report.md'
  else
    fail "npm run compare -- --train train.csv --test test.csv ..." "could not make train.csv/test.csv from the handbook data" "$log"
  fi
else
  skip "npm run compare -- --train train.csv --test test.csv ..." "needs a given split with customer ids (the handbook data; ../shared/datasets absent)"
fi
run "npm run feedback -- --synthetic 100000 --banks 5 --rounds 10 --reviews 20 --seeds 1,2,3 --out report/" 1200 \
  'npm run feedback -- --synthetic 100000 --banks 5 --rounds 10 --reviews 20 --seeds 1,2,3 --out report/' 'Wrote report/feedback.json and report/feedback.md'
# (`npm run datasets -- generate --rows 100000 --seed 1 --out data/synthetic.csv  # once`: run above)
run "npm run attack -- --data data/synthetic.csv --banks 10 --malicious 1,2 ... --out report/attack" 1500 \
  'npm run attack -- --data data/synthetic.csv --banks 10 --malicious 1,2 --attack scale-100,sign-flip,label-flip \
  --strategy fedavg,multikrum,trimmed-mean --rounds 5 --out report/attack' 'Wrote report/attack/attack.md'
skip "npm run bench" "every benchmark, far beyond this script's ~10 min (bench/README.md: not tests, figures need an idle machine)"

# npm run lint (started above)
end=$((LINT_T0 + 1200))
while alive "$LINT_PID" && ((SECONDS < end)); do sleep 2; done
if alive "$LINT_PID"; then
  kill -KILL -- "-$LINT_PID" 2> /dev/null
  wait "$LINT_PID" 2> /dev/null
  lrc=timeout
else
  wait "$LINT_PID" 2> /dev/null
  lrc=$?
fi
if [ "$lrc" = 0 ] && grep -q 'All matched files use Prettier code style' "$LINT_LOG"; then
  ok "npm run lint (finished $((SECONDS - LINT_T0)) s after it started, beside the research commands)"
elif [ "$lrc" = timeout ]; then
  fail "npm run lint" "timed out after 1200 s" "$LINT_LOG"
else
  fail "npm run lint" "exit code $lrc" "$LINT_LOG"
fi

# ======================================================================================================
# Hygiene
# ======================================================================================================
left=""
for p in "${ALL_BG[@]}"; do
  pgrep -g "$p" > /dev/null 2>&1 && left="$left $(pgrep -g "$p" -a | cut -c1-120 | tr '\n' ';')"
done
busy=""
for port in 8080 8081 8082 8083; do port_busy $port && busy="$busy $port"; done
if [ -z "$left$busy" ]; then
  ok "no process or port (8080-8083) left by the commands"
else
  fail "leftovers" "processes:${left:- none}; ports:${busy:- none}"
fi
st=$(git -C "$ROOT" status --porcelain --untracked-files=all)
if [ -z "$st" ]; then
  ok "git status --porcelain is empty: everything the commands wrote is git-ignored"
else
  fail "git status --porcelain" "the commands left files git does not ignore: $(echo "$st" | head -20 | tr '\n' ';')"
fi
home=$(find "$HOME" \( -path "$HOME/.npm" -o -path "$HOME/.claude" \) -prune -o -newer "$WORK/start-mark" -type f -print 2> /dev/null | head -20)
if [ -z "$home" ]; then
  ok "nothing written to \$HOME outside npm's cache"
else
  fail "files written to \$HOME" "$(echo "$home" | tr '\n' ';')"
fi

echo "$N_OK OK, $N_FAIL FAIL, $N_SKIP SKIP in $((SECONDS - T0)) s"
[ "$N_FAIL" -eq 0 ]
