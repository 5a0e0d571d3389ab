//! The command line: argument types and the administrative commands.
//!
//! Every command that touches data finds the database through the config (`-c FILE`). Errors
//! are one line on stderr and a non-zero exit; changes that affect sessions tell a running
//! gateway at once (see [`crate::background::notify_gateway`]).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::{Parser, Subcommand};

use crate::auth::password::hash_password;
use crate::auth::unix_now;
use crate::config::Config;
use crate::session::Level;
use crate::store::{NewUser, Store};

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve,
    /// Validate the configuration and print the route table.
    Check,
    /// Run the gateway in front of a built-in demo app, with a throw-away data directory.
    Demo {
        /// Address of the gateway.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// List or revoke sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Show the audit trail.
    Audit {
        /// Only this user's events.
        #[arg(long)]
        user: Option<String>,
        /// How many of the newest events.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Add {
        name: String,
        #[arg(long)]
        email: Option<String>,
        /// Display name.
        #[arg(long = "name")]
        display_name: Option<String>,
        /// A group (repeatable).
        #[arg(long = "group")]
        groups: Vec<String>,
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
    /// Remove the user's TOTP and recovery codes and end their sessions.
    #[command(name = "reset-2fa")]
    Reset2fa { name: String },
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

/// Shortest password accepted (NIST SP 800-63B asks at least 8).
pub const MIN_PASSWORD: usize = 8;

fn load(path: &Path) -> anyhow::Result<Config> {
    Ok(Config::load(path)?)
}

fn open_store(config: &Config) -> anyhow::Result<Store> {
    Store::open(&config.storage.path)
        .with_context(|| format!("cannot open the database {}", config.storage.path.display()))
}

fn valid_username(name: &str) -> anyhow::Result<()> {
    if name.is_empty()
        || name.chars().count() > 64
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || "._-@".contains(c))
    {
        bail!(
            "`{name}` is not a valid username: use 1 to 64 letters, digits, `.`, `_`, `-` or `@`"
        );
    }
    Ok(())
}

/// A display name or email: one line of printable text (it travels in HTTP headers).
fn valid_text(what: &str, value: &str) -> anyhow::Result<()> {
    if value.chars().count() > 256 || value.chars().any(char::is_control) {
        bail!("the {what} must be at most 256 characters with no control characters");
    }
    Ok(())
}

/// A group name: it is sent comma-separated in the groups header, so no commas or spaces.
fn valid_group(group: &str) -> anyhow::Result<()> {
    if group.is_empty()
        || group.chars().count() > 64
        || group
            .chars()
            .any(|c| c == ',' || c.is_whitespace() || c.is_control())
    {
        bail!("`{group}` is not a valid group: use 1 to 64 characters without commas or spaces");
    }
    Ok(())
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

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        let first = rpassword::prompt_password("Password: ").context("cannot read the password")?;
        let second = rpassword::prompt_password("Again: ").context("cannot read the password")?;
        if first != second {
            bail!("the passwords do not match");
        }
        first
    };
    if password.chars().count() < MIN_PASSWORD {
        bail!("the password must have at least {MIN_PASSWORD} characters");
    }
    if password.len() > crate::portal::MAX_PASSWORD {
        bail!(
            "the password must have at most {} bytes",
            crate::portal::MAX_PASSWORD
        );
    }
    Ok(password)
}

/// Tells a running gateway that sessions changed, so cached ones are dropped at once.
fn tell_gateway(config: &Config) {
    crate::background::notify_gateway(&crate::control_socket_path(config));
}

fn audit(store: &Store, event: &str, user: &str) {
    let _ = store.audit(&crate::store::AuditEvent {
        at: unix_now(),
        username: Some(user.to_string()),
        event: event.to_string(),
        client_ip: None,
        user_agent: Some("portcullis cli".into()),
        detail: None,
    });
}

/// Runs an administrative command (everything but serve and demo).
pub fn run_admin(config_path: &Path, command: Command, out: &mut dyn Write) -> anyhow::Result<()> {
    let config = load(config_path)?;
    match command {
        Command::Check => print_routes(&config, out)?,
        Command::User(cmd) => user(&config, cmd, out)?,
        Command::Sessions(cmd) => sessions(&config, cmd, out)?,
        Command::Audit { user, limit, json } => {
            let store = open_store(&config)?;
            let events = store.audit_events(user.as_deref(), limit)?;
            if !json {
                writeln!(
                    out,
                    "{:<20}  {:<28} {:<16} {:<16} DETAIL  [USER AGENT]",
                    "TIME (UTC)", "EVENT", "USER", "CLIENT IP"
                )?;
            }
            for e in events {
                if json {
                    writeln!(out, "{}", serde_json::to_string(&e)?)?;
                } else {
                    writeln!(
                        out,
                        "{}  {:<28} {:<16} {:<16} {}{}",
                        format_time(e.at),
                        e.event,
                        printable(e.username.as_deref().unwrap_or("-")),
                        e.client_ip.as_deref().unwrap_or("-"),
                        printable(e.detail.as_deref().unwrap_or("")),
                        e.user_agent
                            .as_deref()
                            .map(|ua| format!("  [{}]", printable(ua)))
                            .unwrap_or_default()
                    )?;
                }
            }
        }
        Command::Serve | Command::Demo { .. } => bail!("not an administrative command"),
    }
    Ok(())
}

fn format_time(unix: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

fn print_routes(config: &Config, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(out, "{}: ok", config.source.display())?;
    writeln!(
        out,
        "listen {}  portal {}",
        config
            .server
            .listen
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        config.server.portal_prefix
    )?;
    let mut rows = vec![[
        "APP".to_string(),
        "HOST".into(),
        "PATH".into(),
        "METHODS".into(),
        "POLICY".into(),
        "SUBJECT".into(),
        "UPSTREAM".into(),
    ]];
    for app in config.router.apps() {
        let hosts = if app.hosts.is_empty() {
            "*".to_string()
        } else {
            app.hosts.join(",")
        };
        for rule in &app.rules {
            let mut subject = Vec::new();
            if !rule.users.is_empty() {
                subject.push(format!("users={}", rule.users.join(",")));
            }
            if !rule.groups.is_empty() {
                subject.push(format!("groups={}", rule.groups.join(",")));
            }
            rows.push([
                app.name.clone(),
                hosts.clone(),
                rule.paths
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                rule.methods.as_ref().map_or("*".into(), |m| m.join(",")),
                rule.policy.to_string(),
                if subject.is_empty() {
                    "-".into()
                } else {
                    subject.join(" ")
                },
                app.upstream.text.clone(),
            ]);
        }
        rows.push([
            app.name.clone(),
            hosts,
            "(default)".into(),
            "*".into(),
            app.default_policy.to_string(),
            "-".into(),
            app.upstream.text.clone(),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}

fn user(config: &Config, cmd: UserCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    let store = open_store(config)?;
    match cmd {
        UserCommand::Add {
            name,
            email,
            display_name,
            groups,
            password_stdin,
        } => {
            valid_username(&name)?;
            if let Some(email) = &email {
                valid_text("email", email)?;
            }
            if let Some(display_name) = &display_name {
                valid_text("name", display_name)?;
            }
            for g in &groups {
                valid_group(g)?;
            }
            if store.user_by_name(&name)?.is_some() {
                bail!("user `{name}` already exists");
            }
            let password = read_password(password_stdin)?;
            store.create_user(
                &NewUser {
                    username: name.clone(),
                    email,
                    display_name,
                    password_hash: hash_password(&password),
                    groups,
                },
                unix_now(),
            )?;
            audit(&store, "user_created", &name);
            writeln!(out, "created user {name}")?;
        }
        UserCommand::List => {
            let users = store.list_users()?;
            writeln!(
                out,
                "{:<20} {:<8} {:<5} {:<28} {:<20} GROUPS",
                "USERNAME", "STATE", "2FA", "EMAIL", "NAME"
            )?;
            for u in users {
                let has_totp = store.totp(u.id)?.is_some();
                writeln!(
                    out,
                    "{:<20} {:<8} {:<5} {:<28} {:<20} {}",
                    u.username,
                    if u.disabled { "disabled" } else { "active" },
                    if has_totp { "on" } else { "off" },
                    u.email.as_deref().unwrap_or("-"),
                    u.display_name.as_deref().unwrap_or("-"),
                    if u.groups.is_empty() {
                        "-".to_string()
                    } else {
                        u.groups.join(",")
                    }
                )?;
            }
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            if store.user_by_name(&name)?.is_none() {
                bail!("no user named `{name}`");
            }
            let password = read_password(password_stdin)?;
            store.set_password(&name, &hash_password(&password))?;
            tell_gateway(config);
            audit(&store, "password_changed", &name);
            writeln!(out, "password of {name} changed; their sessions ended")?;
        }
        UserCommand::Disable { name } => {
            store.set_disabled(&name, true)?;
            tell_gateway(config);
            audit(&store, "user_disabled", &name);
            writeln!(out, "disabled {name}; their sessions ended")?;
        }
        UserCommand::Enable { name } => {
            store.set_disabled(&name, false)?;
            tell_gateway(config);
            audit(&store, "user_enabled", &name);
            writeln!(out, "enabled {name}")?;
        }
        UserCommand::Delete { name } => {
            store.delete_user(&name)?;
            tell_gateway(config);
            audit(&store, "user_deleted", &name);
            writeln!(out, "deleted {name}")?;
        }
        UserCommand::Groups { name, add, remove } => {
            for g in &add {
                valid_group(g)?;
            }
            store.change_groups(&name, &add, &remove)?;
            tell_gateway(config);
            audit(&store, "groups_changed", &name);
            let u = store
                .user_by_name(&name)?
                .ok_or_else(|| anyhow!("no user named `{name}`"))?;
            writeln!(
                out,
                "{name}: {}",
                if u.groups.is_empty() {
                    "no groups".to_string()
                } else {
                    u.groups.join(",")
                }
            )?;
        }
        UserCommand::Reset2fa { name } => {
            store.reset_second_factor(&name)?;
            tell_gateway(config);
            audit(&store, "second_factor_reset", &name);
            writeln!(
                out,
                "removed two-factor sign-in and recovery codes of {name}; their sessions ended"
            )?;
        }
    }
    Ok(())
}

fn sessions(config: &Config, cmd: SessionsCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    let store = open_store(config)?;
    match cmd {
        SessionsCommand::List { user } => {
            if let Some(u) = &user {
                if store.user_by_name(u)?.is_none() {
                    bail!("no user named `{u}`");
                }
            }
            let now = unix_now();
            let idle = config.session.idle_timeout.as_secs() as i64;
            writeln!(
                out,
                "{:<20} {:<11} {:<20} {:<20} {:<16} {:<12} USER AGENT",
                "USER", "LEVEL", "CREATED", "LAST SEEN", "CLIENT IP", "ID"
            )?;
            for s in store.list_sessions(user.as_deref())? {
                let r = &s.row;
                if r.expires_at <= now || now - r.last_seen >= idle {
                    continue;
                }
                writeln!(
                    out,
                    "{:<20} {:<11} {:<20} {:<20} {:<16} {:<12} {}",
                    s.username,
                    Level::from_u8(r.level).map_or("?", |l| l.as_str()),
                    format_time(r.created_at),
                    format_time(r.last_seen),
                    r.client_ip,
                    &hex::encode(r.id_hash)[..12],
                    printable(&r.user_agent)
                )?;
            }
        }
        SessionsCommand::Revoke { name } => {
            let n = store.revoke_user_sessions(&name)?;
            tell_gateway(config);
            audit(&store, "sessions_revoked", &name);
            writeln!(out, "ended {n} session(s) of {name}")?;
        }
    }
    Ok(())
}
