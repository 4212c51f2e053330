#!/bin/bash
# usage: ab4.sh A_BIN B_BIN P ROUNDS : A log, B log, B block, alternated
a=$1; b=$2; p=$3; r=$4
for i in $(seq 1 $r); do
  for spec in "A kakashi-log $a" "B kakashi-log $b" "B kakashi-block $b"; do
    set -- $spec
    rm -f /tmp/ab.log; echo "$1-$2 $($3 one $2 $p 1000000 /tmp/ab.log | head -1)"
  done
done
