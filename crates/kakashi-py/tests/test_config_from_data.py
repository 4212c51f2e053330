"""Configuration from data (a dict, a TOML file, the environment) and
per-logger levels at run time: what lands in the file, and errors that name
the bad key and change nothing."""

import pathlib
import threading

import pytest

import kakashi
import kakashi.config
from kakashi import ConfigError, LogLevel, get_logger

from conftest import json_lines

KAKASHI_VARS = [
    "KAKASHI_LEVEL",
    "KAKASHI_FORMAT",
    "KAKASHI_FILE",
    "KAKASHI_ROTATION",
    "KAKASHI_RETENTION",
    "KAKASHI_COMPRESSION",
    "KAKASHI_QUEUE_SIZE",
    "KAKASHI_WORKERS",
    "KAKASHI_BATCH_SIZE",
    "KAKASHI_OVERFLOW",
]


@pytest.fixture(autouse=True)
def _clean_levels_and_env(monkeypatch):
    for var in KAKASHI_VARS:
        monkeypatch.delenv(var, raising=False)
    yield
    for name in kakashi.config.levels():
        kakashi.config.clear_level(name)


def file_config(path, **extra):
    config = {
        "outputs": [{"type": "file", "path": str(path)}],
        "async": {"overflow_strategy": "block", "worker_count": 2},
    }
    config.update(extra)
    return config


def rows(path):
    return [(r["logger"], r["level"], r["message"]) for r in json_lines(path)]


def log_probe_records():
    get_logger("myapp.db").debug("db debug")
    get_logger("myapp.db.pool").debug("pool debug")
    get_logger("myapp.web").debug("web debug")
    get_logger("myapp.web").info("web info", port=8080)
    get_logger("hyper::client").info("hyper info")
    get_logger("hyper").error("hyper error")
    assert kakashi.flush()


def test_a_dict_sets_the_default_level_per_logger_levels_and_the_file(tmp_path):
    """A dict's directives and ``levels`` decide which loggers write what."""
    log = tmp_path / "app.log"
    kakashi.config.configure(
        file_config(
            log,
            level="info,hyper=warn",
            levels={"myapp::db": LogLevel.DEBUG},
            context={"service_name": "shop", "version": "1.2"},
        ),
        env=False,
    )
    log_probe_records()
    assert rows(log) == [
        ("myapp.db", "DEBUG", "db debug"),
        ("myapp.db.pool", "DEBUG", "pool debug"),
        ("myapp.web", "INFO", "web info"),
        ("hyper", "ERROR", "hyper error"),
    ]
    web = json_lines(log)[2]
    assert web["fields"] == {"port": 8080}
    assert web["context"]["service_name"] == "shop"


def test_a_toml_file_with_a_text_output_and_a_per_output_level(tmp_path):
    """A TOML file gives outputs their own formats and levels."""
    everything, errors = tmp_path / "all.log", tmp_path / "errors.log"
    toml = tmp_path / "kakashi.toml"
    toml.write_text(
        f"""
level = "debug"
[[outputs]]
type = "file"
path = {str(everything)!r}
rotation = "100 MB"
retention = 3
[[outputs]]
type = "file"
path = {str(errors)!r}
level = "error"
format = "compact"
""".replace("'", '"')
    )
    kakashi.config.configure_from_file(pathlib.Path(toml), env=False)
    log = get_logger("svc")
    log.debug("starting")
    log.error("failed", code=7)
    assert kakashi.flush()
    assert rows(everything) == [("svc", "DEBUG", "starting"), ("svc", "ERROR", "failed")]
    lines = errors.read_text().splitlines()
    assert len(lines) == 1 and lines[0].endswith(" | E | failed"), lines


def test_environment_variables_win_over_the_dict(tmp_path, monkeypatch):
    """``KAKASHI_*`` variables are laid over the dict and win; ``env=False``
    ignores them; ``configure_from_env`` reads only them."""
    in_dict, in_env = tmp_path / "dict.log", tmp_path / "env.log"
    monkeypatch.setenv("KAKASHI_FILE", str(in_env))
    monkeypatch.setenv("KAKASHI_LEVEL", "warning,myapp.db=debug")
    kakashi.config.configure(file_config(in_dict, level="debug"))
    log_probe_records()
    assert not in_dict.exists() or in_dict.read_text() == ""
    assert rows(in_env) == [
        ("myapp.db", "DEBUG", "db debug"),
        ("myapp.db.pool", "DEBUG", "pool debug"),
        ("hyper", "ERROR", "hyper error"),
    ]

    kakashi.config.configure(file_config(in_dict, level="debug"), env=False)
    get_logger("myapp.web").debug("from the dict")
    assert kakashi.flush()
    assert rows(in_dict) == [("myapp.web", "DEBUG", "from the dict")]

    only_env = tmp_path / "only-env.log"
    monkeypatch.setenv("KAKASHI_FILE", str(only_env))
    monkeypatch.setenv("KAKASHI_LEVEL", "error")
    monkeypatch.setenv("KAKASHI_FORMAT", "compact")
    kakashi.config.configure_from_env()
    get_logger("e").info("not written")
    get_logger("e").error("written")
    assert kakashi.flush()
    assert only_env.read_text().endswith(" | E | written\n")
    assert len(only_env.read_text().splitlines()) == 1


@pytest.mark.parametrize(
    "config, message",
    [
        ({"levle": "info"}, "levle: unknown key `levle`, expected one of `level`, `levels`, `format`, `outputs`, `async`, `context`, `include_thread_info`, `include_source_location`"),
        ({"async": {"batch_size": 0}}, "async.batch_size: batch_size = 0 is out of range; expected at least 1"),
        ({"async": {"worker_count": "two"}}, 'async.worker_count: invalid type: string "two", expected an integer'),
        ({"async": {"overflow_strategy": "dropp_oldest"}}, 'async.overflow_strategy: unknown overflow strategy "dropp_oldest"; expected block, drop_oldest or drop_newest'),
        ({"level": "loud"}, 'level: invalid directive "loud": invalid log level "loud"; expected DEBUG, INFO, WARNING, ERROR, CRITICAL or 10, 20, 30, 40, 50'),
        ({"level": "info,=debug"}, 'level: invalid directive "=debug": empty target'),
        ({"levels": {"db": "sometimes"}}, 'levels.db: invalid log level "sometimes"; expected DEBUG, INFO, WARNING, ERROR, CRITICAL or 10, 20, 30, 40, 50'),
        ({"format": "xml"}, 'format: invalid format "xml"; expected json, text, compact, detailed, console, ecs or gcp'),
        ({"outputs": [{"type": "syslog"}]}, 'outputs[0].type: unknown output type "syslog"; expected file or console'),
        ({"outputs": [{"type": "file", "path": "x.log", "rotation": "sometimes"}]}, 'outputs[0].rotation: invalid rotation "sometimes"; expected a size ("100 MB", "1 GiB", bytes as a number), "daily", "hourly", a time of day ("00:00", UTC), an interval ("6 hours"), or a size and a time joined by a comma'),
        ({"outputs": [{"type": "file", "path": "x.log", "compression": {"gzip"}}]}, "outputs[0].compression: a set is not configuration data; expected a str, int, float, bool, None, list or dict"),
        ({"context": {1: "x"}}, "context: key 1 is not a string"),
    ],
)
def test_a_bad_configuration_names_the_key_and_changes_nothing(tmp_path, config, message):
    """Each bad key is named with the core's message; the running setup,
    its file and its level rules stay as they were."""
    log = tmp_path / "app.log"
    kakashi.config.configure(file_config(log, level="info,keep=debug"), env=False)
    before = kakashi.config.levels()
    with pytest.raises(ConfigError) as raised:
        kakashi.config.configure(config, env=False)
    assert str(raised.value) == message
    assert kakashi.config.levels() == before == {"keep": 10}
    get_logger("keep").debug("still here")
    assert kakashi.flush()
    assert rows(log) == [("keep", "DEBUG", "still here")]
    assert not (tmp_path / "x.log").exists()


@pytest.mark.parametrize(
    "var, value, message",
    [
        ("KAKASHI_WORKERS", "many", 'KAKASHI_WORKERS: expected an integer, got "many"'),
        ("KAKASHI_WORKERS", "0", "KAKASHI_WORKERS (async.worker_count): worker_count = 0 is out of range; expected 1 to 1024"),
        ("KAKASHI_OVERFLOW", "sometimes", 'KAKASHI_OVERFLOW (async.overflow_strategy): unknown overflow strategy "sometimes"; expected block, drop_oldest or drop_newest'),
        ("KAKASHI_LEVEL", "info,hyper=loud", 'KAKASHI_LEVEL (level): invalid directive "hyper=loud": invalid log level "loud"; expected DEBUG, INFO, WARNING, ERROR, CRITICAL or 10, 20, 30, 40, 50'),
    ],
)
def test_a_bad_environment_variable_is_named(monkeypatch, var, value, message):
    """A bad ``KAKASHI_*`` value fails naming the variable."""
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as raised:
        kakashi.config.configure_from_env()
    assert str(raised.value) == message


def test_an_output_file_that_cannot_be_opened_is_an_os_error_and_changes_nothing(tmp_path):
    """A file output whose path cannot be opened raises ``OSError`` (with its
    errno) and leaves the running setup as it was."""
    log = tmp_path / "app.log"
    kakashi.config.configure(file_config(log), env=False)
    with pytest.raises(IsADirectoryError):
        kakashi.config.configure(file_config(tmp_path, level="debug"), env=False)
    get_logger("svc").info("still here")
    get_logger("svc").debug("still INFO")
    assert kakashi.flush()
    assert rows(log) == [("svc", "INFO", "still here")]


def test_the_wrong_kind_of_argument_is_a_type_error(tmp_path):
    """``configure`` takes a dict; a missing TOML file is an ``OSError``
    and one that is not UTF-8 a ``ConfigError``, each naming the file as a
    configuration file."""
    with pytest.raises(TypeError, match="configure\\(\\) takes a dict, got list"):
        kakashi.config.configure([("level", "info")])
    missing = tmp_path / "missing.toml"
    with pytest.raises(FileNotFoundError, match=f"cannot read configuration file {missing}: "):
        kakashi.config.configure_from_file(missing)
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b'level = "info" # caf\xe9\n')
    with pytest.raises(kakashi.ConfigError, match=f"cannot read configuration file {latin1}: stream did not contain valid UTF-8"):
        kakashi.config.configure_from_file(latin1)


def test_set_level_changes_existing_and_future_loggers(tmp_path):
    """``set_level`` applies to existing loggers and to loggers made later,
    below the name too, and ``clear_level`` gives them back their default."""
    log = tmp_path / "app.log"
    kakashi.config.configure(file_config(log, level="info"), env=False)
    existing = get_logger("svc.db.pool")
    sibling = get_logger("svc.dbx")
    existing.debug("hidden")
    kakashi.config.set_level("svc::db", "debug")
    assert existing.is_enabled_for(LogLevel.DEBUG)
    existing.debug("existing")
    get_logger("svc.db").debug("future")
    sibling.debug("sibling hidden")
    kakashi.config.set_level("svc.db.pool", LogLevel.ERROR)  # the longer name wins
    existing.warning("hidden: pool is at ERROR")
    get_logger("svc.db").debug("db still at DEBUG")
    assert kakashi.config.levels() == {"svc.db": 10, "svc.db.pool": 40}
    assert kakashi.config.clear_level("svc.db.pool") and kakashi.config.clear_level("svc.db")
    assert not kakashi.config.clear_level("svc.db")
    existing.debug("hidden again")
    assert kakashi.flush()
    assert [m for _, _, m in rows(log)] == ["existing", "future", "db still at DEBUG"]
    with pytest.raises(ValueError, match="LOUD"):
        kakashi.config.set_level("svc", "LOUD")
    with pytest.raises(ConfigError, match="whitespace"):
        kakashi.config.set_level("bad name", "info")


def test_a_logger_name_with_brackets_takes_a_level_a_directive_refuses_them(tmp_path):
    """``worker[1]`` is a logger name like any other for ``set_level`` and
    the ``levels`` table; in a directive string brackets would be RUST_LOG's
    span filter, which is refused by name."""
    log = tmp_path / "app.log"
    kakashi.config.configure(file_config(log, level="info", levels={"pool[0]": "error"}), env=False)
    kakashi.config.set_level("worker[1]", "error")
    get_logger("worker[1]").info("hidden")
    get_logger("worker[1]").error("shown")
    get_logger("pool[0]").info("hidden too")
    get_logger("worker[2]").info("other worker")
    assert kakashi.flush()
    assert rows(log) == [("worker[1]", "ERROR", "shown"), ("worker[2]", "INFO", "other worker")]
    assert kakashi.config.clear_level("worker[1]")
    with pytest.raises(ConfigError, match=r"span filters \(\[span\{field=value\}\]\) are not supported"):
        kakashi.config.configure(file_config(log, level="info,worker[1]=error"), env=False)


def test_flipping_levels_while_threads_log_loses_and_tears_nothing(tmp_path):
    """Four threads log while another flips their level: every ERROR record
    is written once, in each thread's order, and every line is whole."""
    log = tmp_path / "app.log"
    kakashi.config.configure(file_config(log, level="info"), env=False)
    per_thread = 2000
    stop = threading.Event()
    flips = []

    def flipper():
        n = 0
        while not stop.is_set():
            kakashi.config.set_level("flip", "debug" if n % 2 == 0 else "error")
            n += 1
        flips.append(n)

    def producer(t):
        logger = get_logger("flip.worker")
        for i in range(per_thread):
            logger.debug("maybe", t=t, i=i)
            logger.error("always", t=t, i=i)

    flip_thread = threading.Thread(target=flipper)
    flip_thread.start()
    threads = [threading.Thread(target=producer, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    flip_thread.join()
    assert flips[0] > 0
    assert kakashi.flush()
    records = json_lines(log)  # fails on a torn line
    always = [r for r in records if r["message"] == "always"]
    assert len(always) == 4 * per_thread
    for t in range(4):
        assert [r["fields"]["i"] for r in always if r["fields"]["t"] == t] == list(range(per_thread))
    maybe = [r for r in records if r["message"] == "maybe"]
    assert len(maybe) + len(always) == len(records)
