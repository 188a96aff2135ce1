//! Reading the GitOps repository's files: a local checkout here, the forge's contents
//! API in the server.

use std::path::PathBuf;

pub trait Repo {
    /// The file at `path` (relative, `/`-separated), or `None` when it does not exist.
    fn read(&self, path: &str) -> std::io::Result<Option<String>>;
}

/// A checkout on disk.
pub struct DirRepo {
    root: PathBuf,
}

impl DirRepo {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl Repo for DirRepo {
    fn read(&self, path: &str) -> std::io::Result<Option<String>> {
        match std::fs::read(self.root.join(path)) {
            Ok(b) => String::from_utf8(b).map(Some).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{path} is not UTF-8"),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Files read ahead from a forge at one commit: the planner reads from memory.
#[derive(Debug, Default, Clone)]
pub struct MapRepo(pub std::collections::HashMap<String, String>);

impl MapRepo {
    /// The files among `reads` (path, text or `None` for no such file) that exist.
    pub fn of_present(reads: Vec<(String, Option<String>)>) -> Self {
        MapRepo(
            reads
                .into_iter()
                .filter_map(|(p, t)| Some((p, t?)))
                .collect(),
        )
    }
}

impl Repo for MapRepo {
    fn read(&self, path: &str) -> std::io::Result<Option<String>> {
        Ok(self.0.get(path).cloned())
    }
}
