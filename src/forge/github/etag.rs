//! Bounded caches: earlier GETs' ETags and bodies (a `304 Not Modified` answer costs no
//! rate limit, which keeps reconcile's polling cheap), and files at commits.

use std::collections::HashMap;

/// ETags and bodies of earlier GETs, bounded in entries and in bytes: past either bound
/// it starts over (a cold cache costs rate limit, never correctness).
#[derive(Default)]
pub(super) struct EtagCache {
    entries: HashMap<String, (http::HeaderValue, bytes::Bytes)>,
    bytes: usize,
}

impl EtagCache {
    pub(super) fn get(&self, url: &str) -> Option<(http::HeaderValue, bytes::Bytes)> {
        self.entries.get(url).cloned()
    }

    pub(super) fn insert(&mut self, url: String, etag: http::HeaderValue, body: bytes::Bytes) {
        // One huge page is not worth evicting everything else for; its older body goes.
        if body.len() > MAX_ETAG_BYTES / 16 {
            if let Some((_, old)) = self.entries.remove(&url) {
                self.bytes -= old.len();
            }
            return;
        }
        if self.entries.len() >= MAX_ETAGS || self.bytes + body.len() > MAX_ETAG_BYTES {
            self.entries.clear();
            self.bytes = 0;
        }
        self.bytes += body.len();
        if let Some((_, old)) = self.entries.insert(url, (etag, body)) {
            self.bytes -= old.len();
        }
    }
}

/// Files' texts at commits, by (path, commit): what a commit holds never changes, so a
/// gate that reads CODEOWNERS again at the same base, or a promotion that read its
/// overlays in one GraphQL request, needs no request at all. Only full commit SHAs are
/// keys (a branch name moves); bounded like the ETags.
#[derive(Default)]
pub(super) struct FileCache {
    entries: HashMap<(String, String), Option<String>>,
    bytes: usize,
}

impl FileCache {
    /// `Some(text)` when known: `Some(None)` is a file known absent at that commit.
    pub(super) fn get(&self, path: &str, at: &str) -> Option<Option<String>> {
        self.entries.get(&(path.to_owned(), at.to_owned())).cloned()
    }

    pub(super) fn insert(&mut self, path: &str, at: &str, text: Option<String>) {
        let is_sha = at.len() == 40 && at.bytes().all(|b| b.is_ascii_hexdigit());
        if !is_sha {
            return;
        }
        let size = text.as_ref().map_or(0, String::len) + path.len();
        if self.entries.len() >= MAX_ETAGS || self.bytes + size > MAX_ETAG_BYTES / 4 {
            self.entries.clear();
            self.bytes = 0;
        }
        self.bytes += size;
        self.entries.insert((path.to_owned(), at.to_owned()), text);
    }
}

/// More cached responses than this and the cache starts over.
const MAX_ETAGS: usize = 2_000;

/// More cached bytes than this and the cache starts over.
pub(super) const MAX_ETAG_BYTES: usize = 32 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etag_cache_is_bounded_in_bytes() {
        let mut c = EtagCache::default();
        let etag = http::HeaderValue::from_static("\"1\"");
        let page = bytes::Bytes::from(vec![b'x'; MAX_ETAG_BYTES / 16]);
        for i in 0..40 {
            c.insert(format!("/page/{i}"), etag.clone(), page.clone());
            assert!(c.bytes <= MAX_ETAG_BYTES, "{} bytes after {i}", c.bytes);
            assert_eq!(
                c.bytes,
                c.entries.values().map(|(_, b)| b.len()).sum::<usize>()
            );
        }
        assert!(c.get("/page/39").is_some(), "the newest page is kept");
        // A page too big to keep is not kept, and evicts nothing.
        let huge = bytes::Bytes::from(vec![0; MAX_ETAG_BYTES / 8]);
        c.insert("/huge".into(), etag.clone(), huge);
        assert!(c.get("/huge").is_none() && c.get("/page/39").is_some());
        // The same page again replaces its bytes instead of adding them.
        let before = c.bytes;
        c.insert("/page/39".into(), etag, page);
        assert_eq!(c.bytes, before);
    }
}
