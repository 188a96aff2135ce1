//! `hoist serve`: the webhook server and its workers.

use super::store_args::StoreArgs;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use tokio::sync::{Notify, watch};
use tracing::{info, warn};

use crate::config::Config;
use crate::ingress::signature::Secrets;
use crate::server::{self, AppState, Intake};
use crate::worker::{self, Queue, Recorder, RetryPolicy};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Run the webhook server: GitHub at /webhooks/github, EventBridge API destinations at
/// /webhooks/eventbridge, plus /healthz, /readyz and /metrics.
///
/// Every accepted event is committed to the SQLite store before it is answered, and is
/// handled by the workers; events a crash interrupted are taken again on start.
/// SIGTERM or SIGINT stop accepting, then let running handlers finish.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8080",
        env = "HOIST_LISTEN"
    )]
    listen: SocketAddr,
    /// Log lines as text or JSON.
    #[arg(long, value_enum, default_value = "text", env = "HOIST_LOG_FORMAT")]
    log_format: LogFormat,
    /// Events handled at once (events of one pull request or image stay in order).
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Seconds before an event that failed or waits (for Argo CD, say) is tried again;
    /// each later try waits twice as long, up to five minutes.
    #[arg(long, value_name = "SECONDS", default_value_t = 2)]
    retry_after: u64,
    /// Days to keep handled events before pruning them.
    #[arg(long, default_value_t = 7)]
    retention_days: u64,
    /// Seconds running handlers get to finish after a stop signal.
    #[arg(long, default_value_t = 25)]
    shutdown_grace: u64,
    /// Store and log deliveries without acting on them: watch events arrive before
    /// letting Hoist open and merge pull requests.
    #[arg(long)]
    record_only: bool,
    /// Seconds between reconcile passes, which repair what lost events missed (one
    /// also runs at start).
    #[arg(long, default_value_t = 300)]
    reconcile_interval: u64,
    /// Days each reconcile pass looks back for commands on Hoist pull requests that are
    /// no longer open (their webhooks lost).
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    reconcile_lookback_days: u64,
    /// Serve no status page at `/` (it shows services, tags, pull requests and who asked
    /// for them to anyone who can reach the listener).
    #[arg(long)]
    no_status_page: bool,
    /// Hold each event this long in its handler (fault testing of crash recovery).
    #[arg(long, default_value_t = 0, hide = true)]
    handler_delay_ms: u64,
}

pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        // A log line that cannot be written (stderr a file on a full disk) is dropped:
        // reporting that failure would print to stderr too, and a failed print panics
        // the handler that logged, dropping the delivery it was answering.
        .log_internal_errors(false)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub fn serve(args: ServeArgs) -> Result<()> {
    init_tracing(args.log_format);
    let config = args.store.config()?;
    let github_secrets =
        Secrets::from_list(&crate::env::var(&config.webhook_secrets_env).unwrap_or_default());
    let eventbridge_tokens =
        Secrets::from_list(&crate::env::var(&config.eventbridge_token_env).unwrap_or_default());
    // The forge's own events must be authenticated; the other route may stay shut.
    let on_github = matches!(config.forge, crate::config::Forge::Github(_));
    if on_github && github_secrets.is_empty() {
        bail!(
            "{} is not set: GitHub webhooks cannot be authenticated (set it to the webhook secret; several, comma-separated, while rotating)",
            config.webhook_secrets_env
        );
    }
    if !on_github && eventbridge_tokens.is_empty() {
        bail!(
            "{} is not set: CodeCommit's EventBridge events cannot be authenticated (set it to the token the API destination sends)",
            config.eventbridge_token_env
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(args, github_secrets, eventbridge_tokens, config))
}

/// Runs `hoist serve`: opens the store, starts the listener, the workers and the pruner,
/// and stops them in order on a signal.
///
/// Kept whole: startup, serving and shutdown in order; what startup creates (runner,
/// pruner, stop channel) is awaited or aborted at shutdown.
async fn run(
    args: ServeArgs,
    github_secrets: Secrets,
    eventbridge_tokens: Secrets,
    config: Config,
) -> Result<()> {
    if eventbridge_tokens.is_empty() {
        warn!(
            "{} is not set: /webhooks/eventbridge refuses every delivery",
            config.eventbridge_token_env
        );
    }
    if github_secrets.is_empty() {
        warn!(
            "{} is not set: /webhooks/github refuses every delivery",
            config.webhook_secrets_env
        );
    }
    if args.record_only {
        warn!("--record-only: events are stored and logged, and nothing is promoted");
    }
    let store = args.store.store()?;
    // SQLite opens a file it may not write read-only without a word: say so now, not by
    // answering every delivery 503.
    if let Err(e) = store.probe_write().await {
        let why = match e {
            crate::store::StoreError::Sql(e) => e.to_string(),
            other => other.to_string(),
        };
        bail!(
            "cannot open the store {}: {}",
            args.store.db.display(),
            crate::messages::store_unwritable(&why)
        );
    }
    let recovered = store.recover().await?;
    if recovered > 0 {
        info!(recovered, "taking again the events a stop interrupted");
    }
    let queue = Queue {
        store: store.clone(),
        wake: Arc::new(Notify::new()),
    };
    let state = Arc::new(AppState {
        intake: Intake::Store(queue.clone()),
        github_secrets,
        eventbridge_tokens,
        metrics: server::install_metrics(),
        ready: false.into(),
        forge: Default::default(),
        admission: Default::default(),
        page: (!args.no_status_page).then(|| {
            Arc::new(server::status_page::StatusPage::new(
                Arc::new(config.clone()),
                store.clone(),
            ))
        }),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    // Set when the forge refuses what the config says: the server stops, naming why.
    let fatal: Arc<(Notify, std::sync::OnceLock<String>)> = Arc::default();
    let every = Duration::from_secs(args.reconcile_interval.max(10));
    let lookback = Duration::from_secs(args.reconcile_lookback_days * 86_400);
    let pool = Pool {
        workers: args.workers,
        retry: RetryPolicy {
            base: Duration::from_secs(args.retry_after.max(1)),
            ..RetryPolicy::default()
        },
    };
    let runner = if args.record_only {
        let handler = Arc::new(Recorder {
            delay: Duration::from_millis(args.handler_delay_ms),
        });
        tokio::spawn(work(queue.clone(), handler, pool, stop_rx.clone()))
    } else {
        // What is read locally fails now; the network is tried behind the listener.
        let prepared = crate::app::prepare(config).await?.sole_writer();
        state.forge.set(Err("connecting".into()));
        tokio::spawn(connect_and_work(
            prepared,
            queue.clone(),
            pool,
            (every, lookback),
            stop_rx.clone(),
            state.clone(),
            fatal.clone(),
        ))
    };
    let retention = Duration::from_secs(args.retention_days * 86_400);
    let pruner_store = store.clone();
    let pruner = tokio::spawn(async move {
        loop {
            match pruner_store
                .prune(pruner_store.now_ms() - retention.as_millis() as i64)
                .await
            {
                Ok(n) if n > 0 => info!(pruned = n, "pruned handled events"),
                _ => {}
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    info!(addr = %listener.local_addr()?, db = %args.store.db.display(), "hoist serve listening");
    state.ready.store(true, Ordering::Relaxed);
    let app = server::router(state.clone());
    let ready = state.clone();
    let refused = fatal.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = stop_signal() => {}
                _ = refused.0.notified() => {}
            }
            ready.ready.store(false, Ordering::Relaxed);
            info!("stopping: no new deliveries; finishing running handlers");
        })
        .await?;
    let _ = stop_tx.send(true);
    let grace = Duration::from_secs(args.shutdown_grace);
    if tokio::time::timeout(grace, runner).await.is_err() {
        warn!(
            "handlers still running after the grace period; they will run again on the next start"
        );
    }
    pruner.abort();
    if let Some(why) = fatal.1.get() {
        bail!("{why} (deliveries received until now are stored and handled on the next start)");
    }
    info!("stopped");
    Ok(())
}

/// How many workers take events, and when they try again.
#[derive(Debug, Clone, Copy)]
struct Pool {
    workers: usize,
    retry: RetryPolicy,
}

/// Runs the pool's workers on `handler` until the stop signal.
async fn work<H: worker::Handler + 'static>(
    queue: Queue,
    handler: Arc<H>,
    pool: Pool,
    stop: watch::Receiver<bool>,
) {
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..pool.workers.max(1) {
        workers.spawn(worker::run(
            queue.clone(),
            handler.clone(),
            pool.retry,
            stop.clone(),
        ));
    }
    while workers.join_next().await.is_some() {}
}

/// Connects to the forge, trying again with jittered backoff (from 0.5 s, doubling, at
/// most a minute apart) for as long as it cannot be reached, then runs the workers and
/// the reconcile passes. Meanwhile the listener stores every delivery, and the workers
/// take them all once connected: an outage at start delays events, it loses none. A
/// forge that refuses the config's credentials or repository stops the server instead:
/// waiting would not fix it.
///
/// Kept whole: the backoff loop produces the engine that the reconciler and the workers
/// then run on; the reconciler is stopped once the workers stop.
async fn connect_and_work(
    prepared: crate::app::Prepared,
    queue: Queue,
    pool: Pool,
    (every, lookback): (Duration, Duration),
    mut stop: watch::Receiver<bool>,
    state: Arc<AppState>,
    fatal: Arc<(Notify, std::sync::OnceLock<String>)>,
) {
    let mut delay = Duration::from_millis(500);
    let engine = loop {
        let connected = tokio::select! {
            c = prepared.connect(queue.store.clone()) => c,
            _ = stop.changed() => return,
        };
        match connected {
            Ok(e) => break Arc::new(e),
            Err(e) if !e.transient => {
                tracing::error!(error = %e, "the forge refused Hoist's configuration; stopping");
                let _ = fatal.1.set(e.message);
                fatal.0.notify_one();
                return;
            }
            Err(e) => {
                let why = e.message;
                let wait = crate::backoff::jitter(delay);
                warn!(error = %why, retry_in_ms = wait.as_millis() as u64, "cannot reach the forge yet; deliveries are stored and handled once it answers");
                state.forge.set(Err(why));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => return,
                }
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        }
    };
    let me = crate::forge::Forge::me(&engine.forge).login.clone();
    info!(as_ = %me, "connected to the forge");
    state.forge.set(Ok(me));
    if let Some(page) = &state.page {
        let _ = page.overlays.set(engine.clone());
    }
    if *stop.borrow() {
        return;
    }
    let reconciler = {
        let engine = engine.clone();
        tokio::spawn(async move {
            loop {
                match engine.reconcile_within(lookback).await {
                    Ok(r) => {
                        info!(?r, "reconcile pass");
                        metrics::counter!("hoist_reconcile_passes_total", "outcome" => if r.failed.is_empty() { "done" } else { "partly" }).increment(1);
                    }
                    Err(e) => {
                        warn!(error = %e, "reconcile pass failed; the next one tries again");
                        metrics::counter!("hoist_reconcile_passes_total", "outcome" => "failed")
                            .increment(1);
                    }
                }
                tokio::time::sleep(every).await;
            }
        })
    };
    work(queue, engine, pool, stop).await;
    reconciler.abort();
}

async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler can be installed");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
