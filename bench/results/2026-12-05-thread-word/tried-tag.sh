#!/bin/bash
# A = bc2f494, B = 94b2144 (thread one word), C = B + route as the slot's tag (208-byte slot), P = C padded to 216
for r in $(seq 1 $1); do
 for v in A B C P base; do
  rm -f /tmp/o.log
  case $v in
   A) bin=/tmp/wb/bench/target/release/bench;; B) bin=/tmp/bench-B;; C) bin=/tmp/bench-C;; P) bin=/tmp/bench-Cpad;;
   base) bin=/tmp/bench-C;;
  esac
  if [ $v = base ]; then out=$($bin one baseline $2 1000000 /tmp/o.log); else out=$($bin one kakashi-block $2 1000000 /tmp/o.log); fi
  echo "$v $out"
 done
done
