#!/bin/bash
# $1 rounds, $2 producers, then labels=binaries
rounds=$1; p=$2; shift 2
for r in $(seq 1 $rounds); do
 for v in "$@"; do
  rm -f /tmp/o.log
  out=$(/tmp/bench$v one kakashi-block $p 1000000 /tmp/o.log)
  echo "$v $out"
 done
 rm -f /tmp/o.log
 echo "base $(/tmp/benchH one baseline $p 1000000 /tmp/o.log)"
done
