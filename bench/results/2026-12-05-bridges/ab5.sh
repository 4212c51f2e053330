#!/bin/bash
# usage: ab5.sh A_BIN B_BIN P ROUNDS : A tracing, B tracing, B tracing-lossless, alternated
a=$1; b=$2; p=$3; r=$4
for i in $(seq 1 $r); do
  for spec in "A kakashi-tracing $a" "B kakashi-tracing $b" "B tracing-lossless $b"; do
    set -- $spec
    rm -f /tmp/ab.log; echo "$1-$2 $($3 one $2 $p 1000000 /tmp/ab.log | head -1)"
  done
done
