#!/bin/bash
# The measurement of bench/RESULTS.md "Choosing the defaults". Usage: run.sh <dataset...> (demo synth10 ulb hb-dirichlet hb-natural hb-natural-skew);
# CONFIGS="..." limits the settings, BASELINE=0 skips the centralized run. Runs every setting on each dataset, one after another, nice 5.
cd "$(dirname "$0")/../../../.." # the repository root
OUT=packages/research/results/defaults-2026-11-30
HB=data/defaults-study/handbook-half-customers.csv.gz
ULB=/work/shared/datasets/ulb-creditcard-sample.csv
declare -A DATA=(
  [demo]="--synthetic 60000 --fraud-rate 0.01 --banks 3 --scheme dirichlet --alpha 1 --min-fraud-per-bank 5"
  [synth10]="--synthetic 100000 --fraud-rate 0.005 --banks 10 --scheme dirichlet --alpha 0.5"
  [ulb]="--data $ULB --banks 10 --scheme dirichlet --alpha 0.5"
  [hb-dirichlet]="--data $HB --split time --banks 10 --scheme dirichlet --alpha 0.5"
  [hb-natural]="--data $HB --split time --banks 10 --scheme natural"
  [hb-natural-skew]="--data $HB --split time --banks 10 --scheme natural-skew --alpha 0.5"
)
declare -A CFG=(
  [plain-lr0.001]="--no-normalize-steps --loss-exponent 0 --server-learning-rate 1 --max-share 1 --learning-rate 0.001 --smote-max-multiplier none"
  [plain-lr0.001-cap5]="--no-normalize-steps --loss-exponent 0 --server-learning-rate 1 --max-share 1 --learning-rate 0.001 --smote-max-multiplier 5"
  [plain-lr0.003-cap5]="--no-normalize-steps --loss-exponent 0 --server-learning-rate 1 --max-share 1 --learning-rate 0.003 --smote-max-multiplier 5"
  [norm-slr0.3]="--normalize-steps --loss-exponent 0 --server-learning-rate 0.3 --max-share 1 --learning-rate 0.003 --smote-max-multiplier 5"
  [preset]="--normalize-steps --loss-exponent 0.5 --server-learning-rate 0.3 --max-share 1 --learning-rate 0.003 --smote-max-multiplier 5"
)
CONFIGS=${CONFIGS:-"plain-lr0.001 plain-lr0.003-cap5 preset norm-slr0.3 plain-lr0.001-cap5"}
for ds in "$@"; do
  for c in $CONFIGS; do
    d=$OUT/$ds/$c
    [ -f $d/simulation.json ] && continue
    mkdir -p $d
    echo "$(date -u +%T) start $ds $c" >&2
    nice -n 5 node packages/research/dist/cli/simulate.js ${DATA[$ds]} --seed 42 --rounds 20 ${CFG[$c]} --out $d > $d/stdout.txt 2> $d/stderr.txt || echo "FAILED $ds $c" >&2
    echo "$(date -u +%T) done $ds $c" >&2
  done
  if [ "${BASELINE:-1}" = 1 ] && [ ! -f $OUT/$ds/baseline/baseline.json ]; then
    mkdir -p $OUT/$ds/baseline
    echo "$(date -u +%T) start $ds baseline" >&2
    nice -n 5 node packages/research/dist/cli/baseline.js ${DATA[$ds]} --seed 42 --smote --learning-rate 0.003 --smote-max-multiplier 5 --out $OUT/$ds/baseline > $OUT/$ds/baseline/stdout.txt 2> $OUT/$ds/baseline/stderr.txt || echo "FAILED $ds baseline" >&2
    echo "$(date -u +%T) done $ds baseline" >&2
  fi
done
