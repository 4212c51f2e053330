#!/bin/bash
# A = bc2f494 (the worktree), B = main (the thread as one word); alternated with the baseline.
for r in $(seq 1 $1); do
 for v in A B base; do
  rm -f /tmp/o.log
  case $v in
   A) out=$(/tmp/wb/bench/target/release/bench one kakashi-block $2 1000000 /tmp/o.log);;
   B) out=$(/work/main/bench/target/release/bench one kakashi-block $2 1000000 /tmp/o.log);;
   base) out=$(/work/main/bench/target/release/bench one baseline $2 1000000 /tmp/o.log);;
  esac
  echo "$v $out"
 done
done
