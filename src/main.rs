//! The `lucent` command line.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use lucent::clock::{Clock, ManualClock, SystemClock};
use lucent::core::note::SigningKey;
use lucent::core::record::Nonce;
use lucent::period::Period;
use lucent::server::{self, ServeConfig};

#[derive(Parser)]
#[command(
    name = "lucent",
    version,
    about = "A transparent telemetry log with signed daily roots"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Print a new signing key and its verifier key.
    Keygen {
        /// The key name: the log's origin.
        #[arg(long, default_value = "localhost:8080")]
        name: String,
    },
    /// Print the deployment hash of a nonce, computed locally.
    DeploymentId {
        #[arg(long, env = "LUCENT_NONCE", hide_env_values = true)]
        nonce: String,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LUCENT_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Where the database, the signing key and the state file live.
    #[arg(long, env = "LUCENT_DATA_DIR", default_value = "./lucent-data")]
    data_dir: PathBuf,
    /// The log's name: its public URL prefix without the scheme.
    #[arg(long, env = "LUCENT_ORIGIN", default_value = "localhost:8080")]
    origin: String,
    /// How often a root is signed; must divide a day (10s, 1m, 1h, 24h).
    #[arg(long, env = "LUCENT_PUBLISH_PERIOD", default_value = "24h")]
    publish_period: Period,
    /// Reports per minute per client address (IPv6 by /64); 0 turns it off.
    #[arg(long, env = "LUCENT_RATE_LIMIT", default_value_t = 60)]
    rate_limit: u32,
    /// Addresses of reverse proxies whose X-Forwarded-For is believed.
    #[arg(long, env = "LUCENT_TRUSTED_PROXY", value_delimiter = ',')]
    trusted_proxy: Vec<IpAddr>,
    /// For tests and demos only: a clock stopped at this RFC 3339 instant.
    #[arg(long, env = "LUCENT_FROZEN_CLOCK", hide = true)]
    frozen_clock: Option<String>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        let Some(Command::Serve(args)) = Cli::parse_from(["lucent", "serve"]).command else {
            unreachable!("parsing `lucent serve` gives Serve")
        };
        args
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match Cli::parse().command {
        None => serve(ServeArgs::default()).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Keygen { name }) => {
            let key = SigningKey::generate(&name, &mut rand::rng()).context("making a key")?;
            println!("{}", key.to_private_text());
            println!("{}", key.verifier_key());
            Ok(())
        }
        Some(Command::DeploymentId { nonce }) => {
            let nonce = Nonce::parse(&nonce).map_err(|e| anyhow::anyhow!("the nonce: {e}"))?;
            println!("{}", nonce.deployment());
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let frozen_clock = args.frozen_clock.clone();
    let config = ServeConfig {
        listen: args.listen,
        data_dir: args.data_dir,
        origin: args.origin,
        publish_period: args.publish_period,
        rate_limit: NonZeroU32::new(args.rate_limit),
        trusted_proxies: args.trusted_proxy,
    };
    let clock: Arc<dyn Clock> = match frozen_clock {
        None => Arc::new(SystemClock),
        Some(at) => {
            let at =
                time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339)
                    .context("--frozen-clock is an RFC 3339 instant")?;
            Arc::new(ManualClock::new(at))
        }
    };
    let running = server::start(config, clock).await?;
    println!("lucent listening on http://{}", running.address);
    println!("verifier key: {}", running.verifier_key);
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
