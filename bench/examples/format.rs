//! Profiling aid: the JSON formatter on the workload's record, 1M times
//! (run under `valgrind --tool=callgrind` for instruction counts).
use kakashi::{Formatter, Level, Record};

fn main() {
    let formatter = kakashi::default_json_formatter();
    let mut record = Record::new(Level::Info, "trading", "Trade executed");
    record.fields.push(("seq".into(), 123_456u64.into()));
    record.fields.push(("symbol".into(), "AAPL".into()));
    record.fields.push(("price".into(), 187.25.into()));
    record.fields.push(("qty".into(), 100i64.into()));
    record.fields.push(("side".into(), "buy".into()));
    let mut out = Vec::with_capacity(1 << 20);
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(1_000_000, |a| a.parse().unwrap());
    let t = std::time::Instant::now();
    for i in 0..n {
        if out.len() > (1 << 20) - 1024 {
            out.clear();
        }
        record.fields[0].1 = i.into();
        formatter.format(std::hint::black_box(&record), &mut out);
        out.push(b'\n');
    }
    eprintln!("{:.1} ns/record", t.elapsed().as_nanos() as f64 / n as f64);
    std::hint::black_box(&out);
}
