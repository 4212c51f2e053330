#!/bin/bash
# A/B of the waiting room (2026-12-05). A: 81bca27 built in a worktree with
# order.rs reading its divisor from KK_DIV (and, in the variants run, a
# yield loop without a time limit when KK_YIELD is set); KK_DIV=4 is 81bca27
# as shipped. B: this commit. `bench one` alternated with the baseline.
# usage: ab.sh ROUNDS PRODUCERS > ab-N.txt
for r in $(seq 1 $1); do
 for v in A B base; do
  rm -f /tmp/o.log
  case $v in
   A) out=$(KK_DIV=4 /tmp/wb/bench/target/release/bench one kakashi-block $2 1000000 /tmp/o.log);;
   B) out=$(./bench/target/release/bench one kakashi-block $2 1000000 /tmp/o.log);;
   base) out=$(./bench/target/release/bench one baseline $2 1000000 /tmp/o.log);;
  esac
  echo "$v $out"
 done
done
