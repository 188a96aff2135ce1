//! A store for a command that reaches the forge but must never touch the real store:
//! connecting needs one.

use std::path::PathBuf;

/// A directory made afresh under the system's temporary directory (`create_dir` fails
/// on anything already there, a link included, so nobody else's file is ever opened as
/// the store), removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(command: &str) -> std::io::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("hoist-{command}-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir)?;
        Ok(Self(dir))
    }

    pub fn store(&self) -> crate::store::Result<crate::store::Store> {
        crate::store::Store::open(&self.0.join("scratch.db"))
    }

    /// Connects the config's engine on a scratch store; with the AWS configuration its
    /// ports use, for other AWS clients to share.
    pub async fn connect(
        &self,
        config: crate::config::Config,
    ) -> anyhow::Result<(crate::app::RealEngine, aws_config::SdkConfig)> {
        let store = self.store()?;
        let prepared = crate::app::prepare(config).await?;
        let engine = prepared.connect(store).await?;
        Ok((engine, prepared.aws().clone()))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
