#!/bin/bash
# usage: ab.sh A_BIN B_BIN NAME P ROUNDS
a=$1; b=$2; name=$3; p=$4; r=$5
for i in $(seq 1 $r); do
  rm -f /tmp/ab.log; echo "A $($a one $name $p 1000000 /tmp/ab.log | head -1)"
  rm -f /tmp/ab.log; echo "B $($b one $name $p 1000000 /tmp/ab.log | head -1)"
done
