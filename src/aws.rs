//! AWS SDK errors said as a person reads them: the service's error code and message
//! (`AccessDenied: User … is not authorized …`), or, for a call that never got an
//! answer, the error and its causes on one line.

use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

pub fn said<E, R>(e: SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => DisplayErrorContext(e).to_string(),
    }
}
