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
    if let Ok(info) = rec.getattr(crate::intern!(py, "exc_info")) {
        if let Ok(info) = info.cast::<PyTuple>() {
            if info.len() >= 2 {
                let exc = info.get_item(1)?;
                if !exc.is_none() {
                    return Ok(Some(convert::exception(py, &exc)));
                }
            }
        }
    }
    let Ok(text) = rec.getattr(crate::intern!(py, "exc_text")) else {
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

/// The first line of a formatted traceback.
const TRACEBACK: &str = "Traceback (most recent call last):";
/// The first line of an exception group's traceback (3.11+), whose own
/// lines then carry a margin (`  | `) and whose members follow after `  +-`.
const GROUP_TRACEBACK: &str = "  + Exception Group Traceback (most recent call last):";
/// The margin of an exception group's own lines.
const GROUP_MARGIN: &str = "  | ";
/// What stands between the exceptions of a chain (a line, with a blank
/// line before and after it); the last exception is the one raised.
const CHAIN: [&str; 2] = [
    "\n\nThe above exception was the direct cause of the following exception:\n\n",
    "\n\nDuring handling of the above exception, another exception occurred:\n\n",
];
/// The start of a stack `logging.Formatter` appends to a message.
const STACK: &str = "\nStack (most recent call last):\n";

/// A message that a `logging.Formatter` has already formatted, with the
/// record's traceback and stack appended to it, split back: what
/// `QueueHandler.prepare` hands on (it formats the record into its message
/// and drops `exc_info`, `exc_text` and, from 3.12, `stack_info`). The
/// stack becomes the `stack_info` field, the traceback the exception; the
/// message keeps what is before them. A traceback is split off only when
/// it reads as one to its end (see [`last_exception`]), so a message that
/// merely mentions one is left whole; it starts at the first traceback
/// header that does (an exception whose message quotes a traceback is read
/// whole), or before it where the chain starts with an exception that was
/// never raised (`raise A from B()`: `B`'s line has no header).
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
    let mut heads: Vec<usize> = [TRACEBACK, GROUP_TRACEBACK]
        .iter()
        .flat_map(|head| {
            message.match_indices(head).map(|(at, _)| at).filter(|&at| {
                at > 0
                    && message.as_bytes()[at - 1] == b'\n'
                    && message[at + head.len()..].starts_with('\n')
            })
        })
        .collect();
    heads.sort_unstable();
    // Every header before the last chain separator ends in the same last
    // exception: read once.
    let last_sep = after_last_separator(message);
    let mut last_reads = None;
    let mut reads_from = |at: usize| {
        if at < last_sep {
            *last_reads.get_or_insert_with(|| exception_of_block(&message[last_sep..]).is_some())
        } else {
            exception_of_block(&message[at..]).is_some()
        }
    };
    if let Some(at) = heads.into_iter().find(|&at| reads_from(at)) {
        let at = chain_start(message, at);
        exception = Some(exception_from_text(message[at..].to_owned()));
        message = &message[..at - 1];
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

/// Where the chain whose first traceback header is at `at` starts: before
/// that header, over each exception line that a chain separator joins to
/// it (an exception never raised has no header), never over the message's
/// first line. Only the line just before a separator is taken: an
/// exception never raised whose message has several lines is split before
/// its last line (the text cannot tell where such a message starts).
fn chain_start(message: &str, mut at: usize) -> usize {
    loop {
        let before = &message[..at];
        let Some(sep) = CHAIN.iter().find(|sep| before.ends_with(*sep)) else {
            return at;
        };
        let prior = &before[..before.len() - sep.len()];
        let Some(line_at) = prior.rfind('\n').map(|i| i + 1) else {
            return at;
        };
        if exception_line(&prior[line_at..]).is_none() {
            return at;
        }
        at = line_at;
    }
}

/// The type and first message line of an exception line, `Type: message`
/// or `Type`.
fn exception_line(line: &str) -> Option<(&str, &str)> {
    match line.split_once(": ") {
        Some((t, m)) if is_type_name(t) => Some((t, m)),
        _ if is_type_name(line) => Some((line, "")),
        _ => None,
    }
}

/// An exception known only by its formatted traceback: the type, message
/// and frames of the last exception of its chain (see [`last_exception`]);
/// for a text that does not read as one, the type and message of its last
/// line if it reads `Type: message` or `Type` (a dotted name), else an
/// `Exception` with no message; the text is kept whole as the traceback.
pub(super) fn exception_from_text(text: String) -> Exception {
    let (type_name, message, mut frames) = last_exception(&text).unwrap_or_else(|| {
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        let (type_name, message) = exception_line(last).unwrap_or(("Exception", ""));
        (type_name.to_owned(), message.to_owned(), Vec::new())
    });
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

/// The type, message and frames of the last exception of a formatted
/// chain, the one that was raised, as `traceback.format_exception` writes
/// it: an optional `Traceback (most recent call last):` line, its frames
/// (indented lines), then `Type: message` (or `Type`) and the message's
/// further lines. An exception group's own lines are read inside their
/// margin, up to its members. `None` when the text does not end that way.
fn last_exception(text: &str) -> Option<(String, String, Vec<Frame>)> {
    exception_of_block(&text[after_last_separator(text)..])
}

/// Where the last exception of a chain starts: after its last separator,
/// or 0.
fn after_last_separator(text: &str) -> usize {
    CHAIN
        .iter()
        .filter_map(|sep| text.rfind(sep).map(|at| at + sep.len()))
        .max()
        .unwrap_or(0)
}

/// [`last_exception`] of one exception's text (no chain separator in it).
/// It reads no further than the exception line before it can say `None`,
/// so trying it at every header of a long message stays linear.
fn exception_of_block(block: &str) -> Option<(String, String, Vec<Frame>)> {
    let mut lines = block.lines().skip_while(|l| l.trim().is_empty()).peekable();
    let group = lines.peek() == Some(&GROUP_TRACEBACK);
    if group || lines.peek() == Some(&TRACEBACK) {
        lines.next();
    }
    let mut own = lines.map_while(|l| {
        if group {
            l.strip_prefix(GROUP_MARGIN)
        } else {
            Some(l)
        }
    });
    let mut frames = Vec::new();
    let first = loop {
        let line = own.next()?;
        if !line.starts_with(char::is_whitespace) {
            break line;
        }
        frames.extend(frame_of_line(line));
    };
    let (type_name, first_line) = exception_line(first)?;
    let mut message = first_line.to_owned();
    for line in own {
        message.push('\n');
        message.push_str(line);
    }
    let message = message.trim_end_matches('\n').to_owned();
    Some((type_name.to_owned(), message, frames))
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

/// A dotted Python name (`ValueError`, `json.decoder.JSONDecodeError`, and
/// a class made in a function, `make.<locals>.Error`).
fn is_type_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            part == "<locals>"
                || (chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                    && chars.all(|c| c.is_alphanumeric() || c == '_'))
        })
}
