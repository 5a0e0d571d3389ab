//! The command line: its clap types, and the dispatch of the commands that work on the
//! configuration and the data (everything but `serve` and `demo`, which `main` runs).
//!
//! One file per command group holds what the group does; this module keeps the types and the
//! helpers they share (opening the store, telling a running gateway, printing times and text
//! that came from strangers). Every command that touches data finds the database through the
//! config (`-c FILE`). Errors are one line on stderr and a non-zero exit; changes that a
//! running gateway caches (sessions, bans) are sent to it at once through its control socket
//! (see [`crate::background`]).

mod audit;
mod bans;
mod check;
mod sessions;
mod user;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};

use crate::auth::{calendar_utc as utc, unix_now};
use crate::background::ControlMessage;
use crate::config::Config;
use crate::store::{AuditEvent, AuditKind, Store};

/// A reverse-proxy authentication gateway: login, TOTP and recovery codes in front of any app.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about)]
pub struct Cli {
    /// Configuration file.
    #[arg(
        short = 'c',
        long = "config",
        global = true,
        env = "PORTCULLIS_CONFIG",
        default_value = "config/portcullis.toml"
    )]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

/// What `portcullis` is asked to do: run a gateway, or administer one.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve,
    /// Run the gateway in front of a built-in demo app, with a throw-away data directory.
    Demo {
        /// Address of the gateway.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// The commands that read the config and work on it or on the data, then exit.
    #[command(flatten)]
    Admin(Admin),
}

/// The commands that run once and exit: see [`run_admin`].
#[derive(Debug, Subcommand)]
pub enum Admin {
    /// Validate the configuration and print the route table.
    Check,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// List or revoke sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Show the audit trail.
    Audit(AuditArgs),
    /// List or lift bans of users and client addresses.
    #[command(subcommand)]
    Bans(BansCommand),
    /// Make the running gateway re-read its configuration (as SIGHUP does).
    Reload,
    /// Copy this configuration's SQLite store into an empty PostgreSQL database, in one
    /// transaction, and check every table's count. The key file stays the same.
    Migrate {
        /// The PostgreSQL database, as `[storage] url` would name it (password from the URL
        /// or PORTCULLIS_DB_PASSWORD).
        #[arg(long = "to", value_name = "postgres://...")]
        to: String,
    },
}

/// What a new user may be given besides a name and a password.
#[derive(Debug, Args)]
pub struct Profile {
    #[arg(long)]
    pub email: Option<String>,
    /// Display name.
    #[arg(long = "name")]
    pub display_name: Option<String>,
    /// A group (repeatable).
    #[arg(long = "group")]
    pub groups: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Add {
        name: String,
        #[command(flatten)]
        profile: Profile,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Set a user's password (ends their sessions).
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user (ends their sessions).
    Disable { name: String },
    /// Enable a disabled user.
    Enable { name: String },
    /// Delete a user and everything of theirs.
    Delete { name: String },
    /// Add or remove groups.
    Groups {
        name: String,
        #[arg(long = "add")]
        add: Vec<String>,
        #[arg(long = "remove")]
        remove: Vec<String>,
    },
    /// Remove the user's TOTP, recovery codes and passkeys, and end their sessions.
    #[command(name = "reset-2fa")]
    Reset2fa { name: String },
    /// List the user's passkeys; `--remove ID` removes one (its id from the list).
    Passkeys {
        name: String,
        #[arg(long)]
        remove: Option<i64>,
    },
    /// Create a user without a password and print a single-use link where they choose one
    /// (and set up two-factor sign-in). Again for the same user: a new link, the old one dies.
    Invite {
        name: String,
        #[command(flatten)]
        profile: Profile,
        /// How long the link lives (default: `[invites] expires`, 72h).
        #[arg(long)]
        expires: Option<humantime::Duration>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List live sessions.
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// End every session of a user.
    Revoke { name: String },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this user's events.
    #[arg(long)]
    pub user: Option<String>,
    /// How many of the newest events.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// One JSON object per line (times as Unix seconds).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum BansCommand {
    /// List active bans: who or which address, until when, and how long remains.
    List,
    /// Lift the bans of a user or of a client address; a running gateway stops enforcing them
    /// at once.
    ///
    /// A user's bans are those of their password and of their second factor. Any address of
    /// an IPv6 /64 lifts the ban of the /64. `user:NAME` names a user whose name reads as an
    /// address.
    Lift {
        /// A user name, or an IP address.
        #[arg(value_name = "USER|IP")]
        subject: String,
    },
}

/// Runs a command that reads the config at `config_path`, does its work and returns.
pub fn run_admin(config_path: &Path, command: Admin, out: &mut dyn Write) -> anyhow::Result<()> {
    let config = match Config::load(config_path) {
        Ok(config) => config,
        // The commands that work on the data need only the database: a mistake elsewhere in
        // the file (say, one a reload just refused) must not lock the operator out of them.
        Err(e) if !matches!(command, Admin::Check | Admin::Reload) => {
            let Ok(config) = Config::storage_only(config_path) else {
                return Err(e.into());
            };
            eprintln!("warning: {e}");
            eprintln!("warning: using only the [storage] section of the configuration");
            config
        }
        Err(e) => return Err(e.into()),
    };
    match command {
        Admin::Check => check::print_routes(&config, out),
        Admin::User(cmd) => user::run(&config, cmd, out),
        Admin::Sessions(cmd) => sessions::run(&config, cmd, out),
        Admin::Audit(args) => audit::run(&config, args, out),
        Admin::Bans(cmd) => bans::run(&config, cmd, out),
        Admin::Reload => reload(&config, out),
        Admin::Migrate { to } => migrate(&config, &to, out),
    }
}

/// Copies the SQLite store into PostgreSQL and says what moved.
fn migrate(config: &Config, to: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    if config.storage.postgres.is_some() {
        bail!("this configuration already uses PostgreSQL: migrate copies from its SQLite `path`");
    }
    if !config.storage.path.exists() {
        bail!("no SQLite database at {}", config.storage.path.display());
    }
    let target = crate::store::PgTarget {
        url: to.to_string(),
        password: std::env::var("PORTCULLIS_DB_PASSWORD").ok(),
        ca_file: std::env::var_os("PORTCULLIS_DB_CA_FILE").map(PathBuf::from),
    };
    target.config().map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    let from = open_store(config)?;
    let into = Store::open_at(&crate::store::Location::Postgres(target.clone()))
        .with_context(|| format!("cannot open {}", target.shown()))?;
    let copied = crate::store::copy_into(&from, &into)
        .with_context(|| format!("nothing was copied into {}", target.shown()))?;
    for (table, rows) in &copied.0 {
        writeln!(out, "{table:<20} {rows:>8} rows")?;
    }
    writeln!(
        out,
        "copied {} into {}; set [storage] url to it and keep key_file = {} on every gateway",
        config.storage.path.display(),
        target.shown(),
        config.storage.key_file.display()
    )?;
    Ok(())
}

/// Asks the gateway running with this config's database to reload; the file has just been
/// checked here, and the gateway checks it again and answers with the outcome.
fn reload(config: &Config, out: &mut dyn Write) -> anyhow::Result<()> {
    let socket = control_socket(config);
    match crate::background::ask_gateway(&socket, &ControlMessage::Reload) {
        Some(answer) if answer.starts_with("ok") => {
            writeln!(
                out,
                "reloaded {}",
                answer
                    .strip_prefix("ok")
                    .unwrap_or("")
                    .trim_start_matches("; ")
            )?;
            Ok(())
        }
        Some(answer) => bail!("the gateway kept its configuration: {answer}"),
        None => bail!(
            "no gateway answered on {} (is it running with this configuration?)",
            socket.display()
        ),
    }
}

fn open_store(config: &Config) -> anyhow::Result<Store> {
    Store::open_at(&config.storage.location())
        .with_context(|| format!("cannot open the database {}", config.storage.describe()))
}

/// Where a running gateway listens for the command line.
fn control_socket(config: &Config) -> PathBuf {
    crate::background::control_socket_path(config)
}

/// Tells a running gateway (if any) about a change it caches; whether it acknowledged.
fn tell_gateway(config: &Config, message: &ControlMessage) -> bool {
    crate::background::tell_gateway(&control_socket(config), message)
}

/// Tells a running gateway that sessions changed, so cached ones are dropped at once.
fn sessions_changed(config: &Config) {
    tell_gateway(config, &ControlMessage::InvalidateSessions);
}

/// Records what an operator did to `user` in the audit trail; a failure to record it does not
/// undo the change, which is already made.
fn audit_change(store: &Store, event: AuditKind, user: Option<&str>, detail: Option<String>) {
    let _ = store.audit(&AuditEvent {
        at: unix_now(),
        username: user.map(str::to_string),
        event: event.as_str().to_string(),
        client_ip: None,
        user_agent: Some("portcullis cli".into()),
        detail,
    });
}

/// Text from the database (typed by anyone at the login page) made safe for a terminal.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_parses_as_documented() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).map(|c| c.command);
        assert!(matches!(
            parse(&["portcullis", "bans", "lift", "alice"]),
            Ok(Command::Admin(Admin::Bans(BansCommand::Lift { subject }))) if subject == "alice"
        ));
        assert!(matches!(
            parse(&["portcullis", "audit", "--user", "bob", "--limit", "3"]),
            Ok(Command::Admin(Admin::Audit(AuditArgs { user: Some(u), limit: 3, json: false })))
                if u == "bob"
        ));
        assert!(matches!(
            parse(&["portcullis", "serve", "-c", "x.toml"]),
            Ok(Command::Serve)
        ));
        assert!(matches!(
            parse(&["portcullis", "demo", "--listen", "127.0.0.1:9"]),
            Ok(Command::Demo { .. })
        ));
        assert!(parse(&["portcullis", "bans", "lift"]).is_err());
        assert!(parse(&["portcullis", "admin"]).is_err());
    }
}
