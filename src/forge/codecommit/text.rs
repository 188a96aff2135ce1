//! CodeCommit's limits on what Hoist writes: comments and titles cut to fit, saying so.

/// CodeCommit refuses comments over 10,240 characters (counted here in UTF-16 units,
/// which is never fewer than the service counts).
pub(super) const MAX_COMMENT: usize = 10_240;
/// Titles: the API allows 150; the SDK's own message says 100, so 100.
const MAX_TITLE: usize = 100;

/// Cuts `text` to CodeCommit's comment limit, saying so.
pub(super) fn fit(text: &str) -> String {
    cut(text, MAX_COMMENT)
}

/// Cuts `text` to `room` UTF-16 units, saying so.
pub(super) fn cut(text: &str, room: usize) -> String {
    let len = |s: &str| s.encode_utf16().count();
    if len(text) <= room {
        return text.to_owned();
    }
    let note = crate::messages::CUT_FOR_CODECOMMIT;
    let mut budget = room.saturating_sub(len(note));
    let keep: String = text
        .chars()
        .take_while(|c| {
            let n = c.len_utf16();
            let fits = n <= budget;
            budget = budget.saturating_sub(n);
            fits
        })
        .collect();
    format!("{keep}{note}")
}

/// A title CodeCommit accepts.
pub(super) fn title(t: &str) -> String {
    if t.chars().count() <= MAX_TITLE {
        t.to_owned()
    } else {
        format!("{}…", t.chars().take(MAX_TITLE - 1).collect::<String>())
    }
}
