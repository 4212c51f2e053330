//! `install_environment`: an environment changed field by field (the
//! original's `set_log_level`) is what loggers get; one that cannot be set
//! up leaves the previous one in place. One test: it uses the global backend.

use std::time::Duration;

use kakashi::{
    debug, get_logger, info, install_environment, shutdown_async_backend, AsyncSetup, ConfigError,
    Environment, Level, OverflowStrategy,
};

#[test]
fn an_installed_environment_is_what_loggers_get() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = AsyncSetup {
        environment: Environment::Production,
        log_directory: Some(dir.path().to_path_buf()),
        ..AsyncSetup::default()
    }
    .environment_config();
    assert_eq!(env.file_level, Level::Info);
    assert_eq!(
        env.async_config.overflow_strategy,
        OverflowStrategy::DropOldest
    );
    env.file_level = Level::Debug;
    env.console_level = Level::Critical; // nothing on the test's console
    install_environment(env.clone()).unwrap();
    debug!(get_logger("svc"), "debug reaches the file now", n = 1);
    assert!(get_logger("svc").flush());

    // A directory that cannot be made: an error, and the environment stays.
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"").unwrap();
    let mut bad = env.clone();
    bad.log_directory = blocker.join("logs");
    assert!(matches!(
        install_environment(bad),
        Err(ConfigError::File { .. })
    ));
    info!(get_logger("svc"), "still the first file");
    assert!(get_logger("svc").flush());

    let text = std::fs::read_to_string(dir.path().join("app.log")).unwrap();
    let messages: Vec<&str> = text
        .lines()
        .map(|l| {
            l.split("\"message\":\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        messages,
        ["debug reaches the file now", "still the first file"]
    );
    assert!(text.lines().next().unwrap().contains("\"level\":\"DEBUG\""));
    assert!(shutdown_async_backend(Duration::from_secs(10)).completed());
}
