//! The vocabulary events, the forge port and the engine share: who acted, and how a
//! review stands. Defined here so the forge port does not depend on ingress.

use serde::{Deserialize, Serialize};

/// A comment's id as the forge port knows it. GitHub's ids are numbers; CodeCommit's are
/// strings, each mapped to a stable number by [`codecommit_comment_id`].
pub type CommentId = u64;

/// The port's id for a CodeCommit comment id (FNV-1a of the string): the same for the
/// adapter listing comments and for an event naming one.
pub fn codecommit_comment_id(id: &str) -> CommentId {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Who did something. Authorization keys on `id`, never on `login`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// GitHub's numeric user id; 0 on CodeCommit, which names IAM principals instead.
    pub id: u64,
    /// GitHub login, or the IAM ARN on CodeCommit.
    pub login: String,
    pub kind: ActorKind,
}

/// The names Hoist records as the requester when no person asked.
pub const SYSTEM_NAMES: &[&str] = &["ecr-push", "hoist", "cli"];

impl Actor {
    /// One key per account: the numeric id on GitHub, the login (an ARN) where there is
    /// no id (CodeCommit).
    pub fn key(&self) -> (u64, String) {
        if self.id != 0 {
            (self.id, String::new())
        } else {
            (0, self.login.to_ascii_lowercase())
        }
    }

    /// Whether `login` is one of the names Hoist records when no person asked: a push
    /// (`ecr-push`), an automatic stage (`hoist`), `hoist plan`'s default (`cli`).
    pub fn is_system_name(login: &str) -> bool {
        SYSTEM_NAMES.contains(&login)
    }

    /// Hoist acting on its own (`ecr-push` for a push, `hoist` for an automatic stage):
    /// no person, so no one whose approval must be kept apart.
    pub fn system(name: &str) -> Self {
        Self {
            id: 0,
            login: name.into(),
            kind: ActorKind::Bot,
        }
    }

    /// The same account: by numeric id when both are known, else by login.
    pub fn is(&self, other: &Actor) -> bool {
        if self.id != 0 && other.id != 0 {
            self.id == other.id
        } else {
            self.login.eq_ignore_ascii_case(&other.login)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    Bot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Approved,
    ChangesRequested,
    Commented,
    Dismissed,
}
