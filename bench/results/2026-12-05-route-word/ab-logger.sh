#!/bin/bash
rounds=$1; p=$2; name=$3; shift 3
for r in $(seq 1 $rounds); do
 for v in "$@"; do
  rm -f /tmp/o.log
  echo "$v $(/tmp/bench$v one $name $p 1000000 /tmp/o.log)"
 done
 rm -f /tmp/o.log
 echo "base $(/tmp/benchH one baseline $p 1000000 /tmp/o.log)"
done
