//! `portcullis`: parse the command line, load the config, open the store, run.

use std::process::ExitCode;

use clap::Parser;
use portcullis::cli::{Cli, Command};
use portcullis::config::{Config, LogConfig};
use portcullis::store::NewUser;
use portcullis::Gateway;

/// mimalloc instead of the system allocator: under load the proxy allocates from many threads,
/// where glibc's malloc spent about a quarter of the gateway's CPU in the benchmarks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Arenas committed as they are used rather than up front. With mimalloc's default on Linux
/// (eager commit), memory freed after a burst stays resident: after 10 000 connections closed,
/// the gateway kept 60 MiB more than before; committed on demand it goes back below where it
/// started (`bench/run.sh`, part `idle`). The option is read when the first arena is reserved,
/// before `main`, so a gateway started without it sets it and starts itself again once; an
/// operator's own `MIMALLOC_ARENA_EAGER_COMMIT` is left as it is.
fn commit_memory_on_demand() {
    use std::os::unix::process::CommandExt;
    const OPTION: &str = "MIMALLOC_ARENA_EAGER_COMMIT";
    if std::env::var_os(OPTION).is_some() {
        return;
    }
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_default();
    let err = std::process::Command::new("/proc/self/exe")
        .arg0(arg0)
        .args(args)
        .env(OPTION, "0")
        .exec();
    // Only reached when the exec failed: run as is, with the allocator's default.
    eprintln!("note: could not restart with {OPTION}=0: {err}");
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve => {
            commit_memory_on_demand();
            serve(&cli.config)
        }
        Command::Demo { listen } => demo(&listen),
        Command::Admin(command) => {
            portcullis::cli::run_admin(&cli.config, command, &mut std::io::stdout())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The log as `[log]` asks (`RUST_LOG`, when set, overrides the level): text or JSON lines
/// on stderr; the access log, when on, under the target `access`.
fn init_logging(log: &LogConfig) {
    let directives = match std::env::var("RUST_LOG") {
        Ok(env) if !env.trim().is_empty() => env,
        _ if log.level.contains("pingora") => log.level.clone(),
        _ => format!("{},pingora=warn", log.level),
    };
    let directives = if log.access {
        format!("{directives},access=info")
    } else {
        format!("{directives},access=off")
    };
    let filter = tracing_subscriber::EnvFilter::new(directives);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if log.json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

fn serve(path: &std::path::Path) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    init_logging(&config.log);
    let gateway = Gateway::open(config)?;
    let cfg = gateway.state().config();
    for addr in &cfg.server.listen {
        tracing::info!(
            "listening on http://{addr} ({} apps)",
            cfg.router.apps().len()
        );
    }
    if let Some(tls) = &cfg.server.tls {
        let certificates = match &tls.acme {
            Some(acme) => format!("ACME for {} from {}", acme.hosts.join(", "), acme.directory),
            None => "certificate files".to_string(),
        };
        tracing::info!(
            "listening on https://{} (HTTP/2 and HTTP/1.1; {certificates})",
            tls.listen
        );
        if tls.acme.is_some() && !cfg.server.listen.iter().any(|a| a.port() == 80) {
            tracing::warn!(
                "ACME validates on port 80 and no plain listener is on it: forward port 80 to one"
            );
        }
    }
    gateway.serve()?;
    Ok(())
}

fn demo(listen: &str) -> anyhow::Result<()> {
    // A taken port would otherwise be found only once the gateway binds it, after a URL that
    // belongs to another program had been printed.
    if let Err(e) = std::net::TcpListener::bind(listen) {
        anyhow::bail!("cannot listen on {listen}: {e}; choose another address with --listen ADDR");
    }
    let upstream = portcullis::demo::spawn_whoami()?;
    let dir = portcullis::demo::demo_dir()?;
    let config_path = dir.join("portcullis.toml");
    std::fs::write(
        &config_path,
        portcullis::demo::demo_config(listen, upstream, &dir),
    )?;
    let config = Config::load(&config_path)?;
    init_logging(&config.log);
    let gateway = Gateway::open(config)?;
    let password = portcullis::demo::demo_password();
    gateway.state().store.create_user(
        &NewUser {
            username: "demo".into(),
            email: Some("demo@example.com".into()),
            display_name: Some("Demo User".into()),
            password_hash: portcullis::auth::password::hash_password(&password),
            groups: vec!["admins".into()],
        },
        portcullis::auth::unix_now(),
    )?;
    // Browsers offer passkeys on a host name (and `localhost` counts as secure over plain
    // HTTP), never on an address.
    let passkeys = match listen.strip_prefix("127.0.0.1:") {
        Some(port) => {
            format!("  passkeys  http://localhost:{port}/   (add one on the account page)\n")
        }
        None => String::new(),
    };
    println!(
        "\nPortcullis demo\n\n  open      http://{listen}/\n  user      demo\n  password  {password}   (shown only now)\n{passkeys}\n  \
         /public/   needs no sign-in\n  /          needs a password\n  /admin/    needs a second factor: you will be asked to set up TOTP or a passkey\n  \
         /.portcullis/account   your account\n\n  data      {}   (removed when you stop with Ctrl-C)\n  \
         config    {}\n\n  another address: portcullis demo --listen 127.0.0.1:9000\n",
        dir.display(),
        config_path.display()
    );
    let cleanup = dir.clone();
    let result = gateway.run(Box::new(pingora::server::UnixShutdownSignalWatch));
    let _ = std::fs::remove_dir_all(cleanup);
    result?;
    Ok(())
}
