import json,collections,sys,statistics as st
for f in sys.argv[1:]:
    rows=[l.split(' ',1) for l in open(f)]
    d=collections.defaultdict(list)
    for v,j in rows: d[v].append(json.loads(j))
    print(f)
    base=[x['e2e_per_s'] for x in d['base']]
    for v in ['A','B']:
        xs=d[v]
        e=[x['e2e_per_s']/1e6 for x in xs]; r=[x['rss_kib'] for x in xs]
        ratio=[x['e2e_per_s']/b for x,b in zip(xs,base)]
        print(f"  {v} e2e {st.median(e):.2f}M/s ({min(e):.2f}-{max(e):.2f}) ratio {st.median(ratio):.2f}x ({min(ratio):.2f}-{max(ratio):.2f}) rss {st.median(r):.0f} ({min(r)}-{max(r)}) p50 {st.median([x['p50'] for x in xs])} ({min(x['p50'] for x in xs)}-{max(x['p50'] for x in xs)}) p99 {st.median([x['p99'] for x in xs])} cpu {st.median([x['cpu_ns'] for x in xs]):.0f}")
