#!/bin/bash
for r in $(seq 1 $1); do
 for v in sleep yield nw base; do
  rm -f /tmp/o.log
  case $v in
   base) out=$(/tmp/wb/bench/target/release/bench one baseline $2 1000000 /tmp/o.log);;
   sleep) out=$(KK_YIELD_US=0 /tmp/wb/bench/target/release/bench one kakashi-block $2 1000000 /tmp/o.log);;
   yield) out=$(/tmp/wb/bench/target/release/bench one kakashi-block $2 1000000 /tmp/o.log);;
   nw) out=$(KK_NOTWRITING=1 /tmp/wb/bench/target/release/bench one kakashi-block $2 1000000 /tmp/o.log);;
  esac
  echo "$v $out"
 done
done
