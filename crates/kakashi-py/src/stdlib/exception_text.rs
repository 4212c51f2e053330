//! A record's exception and stack from the text `logging` left: what a
//! `Formatter` wrote into `exc_text`, or a message `QueueHandler.prepare`
//! already formatted with them, read back into structured parts.

use super::*;

/// The record's exception: `exc_info`'s, with its traceback; else the text
/// a `Formatter` left in `exc_text` (a record that crossed a process or a
/// `QueueHandler` without its exception object), its type and message read
/// from the text's last line when that line has the shape `Type: message`.
pub(super) fn exception_of(rec: &Bound<'_, PyAny>) -> PyResult<Option<Exception>> {
    let py = rec.py();
    if let Ok(info) = rec.getattr(pyo3::intern!(py, "exc_info")) {
        if let Ok(info) = info.cast::<PyTuple>() {
            if info.len() >= 2 {
                let exc = info.get_item(1)?;
                if !exc.is_none() {
                    return Ok(Some(convert::exception(py, &exc)));
                }
            }
        }
    }
    let Ok(text) = rec.getattr(pyo3::intern!(py, "exc_text")) else {
        return Ok(None);
    };
    let Ok(text) = text.cast::<PyString>() else {
        return Ok(None);
    };
    let text = convert::text(text);
    if text.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(exception_from_text(text)))
}

/// The start of a traceback `logging.Formatter` appends to a message.
const TRACEBACK: &str = "\nTraceback (most recent call last):\n";
/// The start of a stack `logging.Formatter` appends to a message.
const STACK: &str = "\nStack (most recent call last):\n";

/// A message that a `logging.Formatter` has already formatted, with the
/// record's traceback and stack appended to it, split back: what
/// `QueueHandler.prepare` hands on (it formats the record into its message
/// and drops `exc_info`, `exc_text` and, from 3.12, `stack_info`). The
/// stack becomes the `stack_info` field, the traceback the exception; the
/// message keeps what is before them. A traceback is split off only when
/// its last line reads `Type: message` (or `Type`), so a message that
/// merely mentions one is left whole.
pub(super) fn split_formatted(record: &mut Record) {
    let mut message = record.message.as_str();
    let mut stack = None;
    if let Some(at) = message.find(STACK) {
        // Before 3.12 the record keeps its `stack_info` too (already a field).
        if record.field("stack_info").is_none() {
            stack = Some(message[at + 1..].to_owned());
        }
        message = &message[..at];
    }
    let mut exception = None;
    if let Some(at) = message.find(TRACEBACK) {
        let text = &message[at + 1..];
        let last = text.lines().next_back().unwrap_or("");
        let type_part = last.split_once(": ").map_or(last, |(t, _)| t);
        if is_type_name(type_part) {
            exception = Some(exception_from_text(text.to_owned()));
            message = &message[..at];
        }
    }
    if message.len() == record.message.len() {
        return;
    }
    record.message = Text::from(message.to_owned());
    record.exception = exception.map(Box::new);
    if let Some(stack) = stack {
        kakashi::binding::put_field(
            &mut record.fields,
            Name::interned("stack_info"),
            kakashi::Value::Str(Text::from(stack)),
        );
    }
}

/// An exception known only by its formatted traceback: the type and
/// message from its last line, the frames from its `File "...", line N, in
/// f` lines (those of the last exception of a chain).
pub(super) fn exception_from_text(text: String) -> Exception {
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let (type_name, message) = match last.split_once(": ") {
        Some((t, m)) if is_type_name(t) => (t.to_owned(), m.to_owned()),
        _ if is_type_name(last) => (last.to_owned(), String::new()),
        _ => ("Exception".to_owned(), String::new()),
    };
    let innermost = text
        .rfind("Traceback (most recent call last):")
        .map_or(text.as_str(), |at| &text[at..]);
    let mut frames: Vec<Frame> = innermost.lines().filter_map(frame_of_line).collect();
    if frames.len() > kakashi::record::MAX_FRAMES {
        frames.drain(..frames.len() - kakashi::record::MAX_FRAMES);
    }
    Exception {
        type_name: type_name.into(),
        message,
        chain: Vec::new(),
        traceback: Some(text.trim_end_matches('\n').to_owned()),
        frames,
    }
}

/// A traceback line `  File "m.py", line 3, in f` as a [`Frame`].
fn frame_of_line(line: &str) -> Option<Frame> {
    let rest = line.trim_start().strip_prefix("File \"")?;
    let (file, rest) = rest.split_once("\", line ")?;
    let (number, function) = match rest.split_once(", in ") {
        Some((n, f)) => (n, f.trim_end()),
        None => (rest.trim_end(), ""),
    };
    Some(Frame {
        file: file.to_owned(),
        line: number.parse().ok()?,
        function: function.to_owned(),
    })
}

/// A dotted Python name (`ValueError`, `json.decoder.JSONDecodeError`).
fn is_type_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && chars.all(|c| c.is_alphanumeric() || c == '_')
        })
}
