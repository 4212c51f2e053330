"""The README's Python examples run as written, in order, in a fresh
interpreter in the test's directory (every name they use is defined in them)."""

import json
import re
from pathlib import Path

from conftest import json_lines, run_python

README = Path(__file__).resolve().parents[3] / "README.md"


def python_blocks():
    return re.findall(r"^```python\n(.*?)^```$", README.read_text(encoding="utf-8"), re.M | re.S)


def test_the_readme_python_examples_run_as_written(tmp_path):
    blocks = python_blocks()
    assert len(blocks) >= 2, "the README's Python quick start has its examples"
    proc = run_python("\n".join(blocks), tmp_path)
    assert proc.returncode == 0, proc.stderr
    # The production example writes where log_directory= says, INFO and up.
    (started,) = [r for r in json_lines(tmp_path / "logs" / "app.log") if r["message"] == "started"]
    assert started["fields"] == {"port": 8080}
    assert started["context"]["service_name"] == "my-api"
    # "From stdlib logging": a logging call reaches the same app.log.
    (slow,) = [r for r in json_lines(tmp_path / "logs" / "app.log") if r["logger"] == "app.db"]
    assert (slow["level"], slow["message"], slow["fields"]) == ("WARNING", "slow query q1", {"ms": 812})
    (trade,) = json_lines(tmp_path / "trades.log")
    assert trade["fields"] == {"symbol": "AAPL", "qty": 100, "price": 187.5}
    # The network example's callback printed the record on a worker (its
    # print may interleave with the main thread's last one).
    assert proc.stdout.count("shipping") == 1
    shipped = [json.JSONDecoder().raw_decode(proc.stdout, m.start())[0] for m in re.finditer(r'\{"timestamp"', proc.stdout)]
    assert [r["fields"] for r in shipped] == [{"endpoint": "/users", "response_time": 45}]
    # Configuration from data: the directives and set_level decided which
    # debug records reached the configured file.
    service = [(r["logger"], r["message"]) for r in json_lines(tmp_path / "logs" / "service.log")]
    assert service == [("myapp.db", "query"), ("myapp.web", "request")]
