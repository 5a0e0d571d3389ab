//! `portcullis user ...`: create, list, change and delete users. What ends a user's sessions
//! (password, disable, delete, groups, 2FA reset) tells a running gateway at once.

use std::io::{BufRead, Write};

use anyhow::{anyhow, bail, Context};

use super::{audit_change, open_store, sessions_changed, Profile, UserCommand};
use crate::auth::password::hash_password;
use crate::auth::password_rules;
use crate::auth::unix_now;
use crate::config::Config;
use crate::store::{AuditKind, NewUser, StoreError};
use crate::user_fields::{valid_group, valid_text, valid_username, Field};

pub(super) fn run(config: &Config, cmd: UserCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let audit = |event: AuditKind, name: &str| audit_change(&store, event, Some(name), None);
    match cmd {
        UserCommand::Add {
            name,
            profile,
            password_stdin,
        } => {
            valid_new_user(&name, &profile)?;
            if store.user_by_name(&name)?.is_some() {
                bail!("user `{name}` already exists");
            }
            // The operator's first password for someone (often a temporary one, or an account
            // for a machine): only its length is checked. Passwords people choose (`passwd`,
            // invites, the account page) follow every rule.
            let password = read_password(password_stdin)?;
            password_rules::check_length(&password).map_err(|w| anyhow!(w.explain()))?;
            store.create_user(
                &NewUser {
                    username: name.clone(),
                    email: profile.email,
                    display_name: profile.display_name,
                    password_hash: hash_password(&password),
                    groups: profile.groups,
                },
                unix_now(),
            )?;
            audit(AuditKind::UserCreated, &name);
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
                let has_totp = store.enrolled(u.id)?.any();
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
            password_rules::check(&name, &password).map_err(|w| anyhow!(w.explain()))?;
            store.set_password(&name, &hash_password(&password))?;
            sessions_changed(config);
            audit(AuditKind::PasswordChanged, &name);
            writeln!(out, "password of {name} changed; their sessions ended")?;
        }
        UserCommand::Disable { name } => {
            store.set_disabled(&name, true)?;
            sessions_changed(config);
            audit(AuditKind::UserDisabled, &name);
            writeln!(out, "disabled {name}; their sessions ended")?;
        }
        UserCommand::Enable { name } => {
            store.set_disabled(&name, false)?;
            sessions_changed(config);
            audit(AuditKind::UserEnabled, &name);
            writeln!(out, "enabled {name}")?;
        }
        UserCommand::Delete { name } => {
            store.delete_user(&name)?;
            sessions_changed(config);
            audit(AuditKind::UserDeleted, &name);
            writeln!(out, "deleted {name}")?;
        }
        UserCommand::Groups { name, add, remove } => {
            for g in &add {
                valid_group(g)?;
            }
            store.change_groups(&name, &add, &remove)?;
            sessions_changed(config);
            audit(AuditKind::GroupsChanged, &name);
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
        UserCommand::Invite {
            name,
            profile,
            expires,
        } => {
            valid_new_user(&name, &profile)?;
            let lifetime = expires.map_or(config.invites.expires, Into::into);
            if lifetime.is_zero() {
                bail!("--expires must be longer than zero");
            }
            let new = NewUser {
                username: name.clone(),
                email: profile.email,
                display_name: profile.display_name,
                password_hash: crate::store::NO_PASSWORD.into(),
                groups: profile.groups,
            };
            let prefix = &config.server.portal_prefix;
            let invite = crate::portal::issue_invite(&store, prefix, &new, lifetime, unix_now())
                .map_err(|e| match e {
                    StoreError::DuplicateUser(_) => anyhow!(
                        "user `{name}` already has a password: `portcullis user passwd {name}` sets a new one"
                    ),
                    e => e.into(),
                })?;
            let until = invite.expires_at;
            audit_change(
                &store,
                AuditKind::InviteCreated,
                Some(&name),
                Some(format!(
                    "until {} UTC, groups [{}]",
                    super::utc(until),
                    new.groups.join(" ")
                )),
            );
            writeln!(
                out,
                "invited {name}; this link lets them choose a password, once, until {} UTC:",
                super::utc(until)
            )?;
            writeln!(out, "{}", invite.link(config))?;
        }
        UserCommand::Reset2fa { name } => {
            store.reset_second_factor(&name)?;
            sessions_changed(config);
            audit(AuditKind::SecondFactorReset, &name);
            writeln!(
                out,
                "removed two-factor sign-in, recovery codes and passkeys of {name}; their sessions ended"
            )?;
        }
        UserCommand::Passkeys {
            name,
            remove: Some(id),
        } => {
            if !store.remove_passkey_of(&name, id)? {
                bail!("{name} has no passkey {id} (see `portcullis user passkeys {name}`)");
            }
            sessions_changed(config);
            audit_change(
                &store,
                AuditKind::PasskeyRemoved,
                Some(&name),
                Some(format!("#{id}, from the command line")),
            );
            writeln!(out, "removed passkey {id} of {name}; their sessions ended")?;
        }
        UserCommand::Passkeys { name, remove: None } => {
            let user = store
                .user_by_name(&name)?
                .ok_or_else(|| anyhow::anyhow!("no user named `{name}`"))?;
            let keys = store.passkeys(user.id)?;
            if keys.is_empty() {
                writeln!(out, "{name} has no passkeys")?;
            } else {
                writeln!(
                    out,
                    "{:<6} {:<20} {:<20} NAME",
                    "ID", "ADDED (UTC)", "LAST USED (UTC)"
                )?;
                for k in keys {
                    let last = k.last_used_at.map_or("never".to_string(), super::utc);
                    writeln!(
                        out,
                        "{:<6} {:<20} {:<20} {}",
                        k.id,
                        super::utc(k.created_at),
                        last,
                        k.name
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// A new user's name, email, display name and groups, each checked.
fn valid_new_user(name: &str, profile: &Profile) -> anyhow::Result<()> {
    valid_username(name)?;
    if let Some(email) = &profile.email {
        valid_text(Field::Email, email)?;
    }
    if let Some(display_name) = &profile.display_name {
        valid_text(Field::DisplayName, display_name)?;
    }
    for g in &profile.groups {
        valid_group(g)?;
    }
    Ok(())
}

/// A password, read from standard input or typed twice at a prompt.
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
    Ok(password)
}
