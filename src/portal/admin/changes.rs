//! `POST {prefix}/admin/user?name=NAME`: every change an admin makes to a user, named by the
//! form's `action`, through the store functions the command line uses.
//!
//! Last-admin rule ([`last_admin_refusal`]): an admin never removes an admin group from
//! themselves, and no change leaves the gateway without an enabled admin. An admin may disable,
//! delete or demote another admin (who is then not the last one); they may disable or delete
//! themselves while another enabled admin remains.

use super::users::{no_such_user, user_page};
use super::{link, Actor};
use crate::auth::bans::Subject;
use crate::http_response::HttpResponse;
use crate::portal::{During, Form, PortalError, PortalPage, PortalRequest, Task};
use crate::store::{AuditKind, Store, StoreError, User};
use crate::user_fields::{valid_group, valid_text, Field};
use crate::State;

/// A change an admin asks for that can leave the gateway without an admin.
#[derive(Debug, Clone, Copy)]
enum Standing<'a> {
    Disable,
    Delete,
    RemoveGroup(&'a str),
}

/// Why `actor` may not make `change` to `target` among `users`, as a catalog key: removing
/// an admin group from oneself, or leaving no member of `admin_groups` who can sign in.
fn last_admin_refusal(
    users: &[User],
    admin_groups: &[String],
    actor: &str,
    target: &User,
    change: Standing<'_>,
) -> Option<&'static str> {
    let admin_by = |mut groups: std::slice::Iter<'_, String>, except: Option<&str>| {
        groups.any(|g| Some(g.as_str()) != except && admin_groups.contains(g))
    };
    if let Standing::RemoveGroup(group) = change {
        let own = target.username.eq_ignore_ascii_case(actor);
        if own && admin_groups.iter().any(|g| g == group) {
            return Some("admin-refused-own-group");
        }
    }
    // Only admins who can sign in count: not disabled, and not invited with no password yet.
    let can_sign_in = |u: &User| !u.disabled && u.password_hash != crate::store::NO_PASSWORD;
    let admins_after = users
        .iter()
        .filter(|u| can_sign_in(u))
        .filter(|u| match change {
            _ if u.id != target.id => admin_by(u.groups.iter(), None),
            Standing::Disable | Standing::Delete => false,
            Standing::RemoveGroup(group) => admin_by(u.groups.iter(), Some(group)),
        })
        .count();
    let target_counts = can_sign_in(target) && admin_by(target.groups.iter(), None);
    (target_counts && admins_after == 0).then_some("admin-refused-last-admin")
}

/// What a change came to: a notice for the page it returns to (`?done=`), or a refusal shown
/// on the user's page with its status.
enum Outcome {
    Done(&'static str),
    Refused(u16, &'static str),
}

/// Changes to users are made one at a time in a gateway, each judged on the users as they are
/// once the one before it is done: two admins disabling each other at once cannot both succeed.
/// (Gateways that share a database do not share this; there the command line, which no rule
/// binds, restores an admin.)
static ONE_CHANGE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `POST {prefix}/admin/user?name=NAME`: the change named by the field `action`.
pub(super) async fn post(
    state: &State,
    req: &PortalRequest,
    actor: &Actor<'_>,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let _turn = ONE_CHANGE_AT_A_TIME.lock().await;
    let name = req.query_param("name").unwrap_or_default();
    let found = state
        .store
        .call(move |s| Ok((s.user_by_name(&name)?, s.list_users()?)))
        .await
        .during(Task::Account)?;
    let (Some(target), users) = found else {
        return Ok(no_such_user(state, req));
    };
    let outcome = change(state, req, actor, form, &target, &users).await?;
    match outcome {
        Outcome::Done("deleted") => Ok(HttpResponse::redirect(
            303,
            &link(state, PortalPage::Admin, &[("done", "deleted")]),
        )),
        Outcome::Done(done) => Ok(HttpResponse::redirect(
            303,
            &link(
                state,
                PortalPage::AdminUser,
                &[("name", &target.username), ("done", done)],
            ),
        )),
        Outcome::Refused(status, key) => {
            user_page(
                state,
                req,
                actor.session,
                &target.username,
                status,
                Some(key),
            )
            .await
        }
    }
}

/// Makes the change `form` asks of `target` (one of `users`).
async fn change(
    state: &State,
    req: &PortalRequest,
    actor: &Actor<'_>,
    form: &Form,
    target: &User,
    users: &[User],
) -> Result<Outcome, PortalError> {
    let config = state.config();
    let admin_groups = &config.admin.groups;
    let name = target.username.clone();
    let refusal =
        |change| last_admin_refusal(users, admin_groups, actor.username(), target, change);
    let audit = |kind, what: Option<&str>| actor.audit(state, req, kind, Some(&name), what);
    let outcome = match form.get("action") {
        "disable" => {
            if let Some(key) = refusal(Standing::Disable) {
                return Ok(Outcome::Refused(409, key));
            }
            on_user(state, &name, |s, n| s.set_disabled(n, true)).await?;
            audit(AuditKind::UserDisabled, None);
            Outcome::Done("disabled")
        }
        "enable" => {
            on_user(state, &name, |s, n| s.set_disabled(n, false)).await?;
            audit(AuditKind::UserEnabled, None);
            Outcome::Done("enabled")
        }
        "delete" => {
            if form.get("confirm") != target.username {
                return Ok(Outcome::Refused(400, "admin-delete-mismatch"));
            }
            if let Some(key) = refusal(Standing::Delete) {
                return Ok(Outcome::Refused(409, key));
            }
            on_user(state, &name, |s, n| s.delete_user(n)).await?;
            audit(AuditKind::UserDeleted, None);
            Outcome::Done("deleted")
        }
        "profile" => {
            let email = form.get("email").trim().to_string();
            let display_name = form.get("display_name").trim().to_string();
            if valid_text(Field::Email, &email).is_err()
                || valid_text(Field::DisplayName, &display_name).is_err()
            {
                return Ok(Outcome::Refused(400, "admin-profile-invalid"));
            }
            on_user(state, &name, move |s, n| {
                let or_none = |t: &str| (!t.is_empty()).then(|| t.to_string());
                s.set_profile(
                    n,
                    or_none(&email).as_deref(),
                    or_none(&display_name).as_deref(),
                )
            })
            .await?;
            audit(AuditKind::ProfileChanged, None);
            Outcome::Done("profile")
        }
        action @ ("add-group" | "remove-group") => {
            let group = form.get("group").trim().to_string();
            if valid_group(&group).is_err() {
                return Ok(Outcome::Refused(400, "admin-group-invalid"));
            }
            let adding = action == "add-group";
            if !adding {
                if let Some(key) = refusal(Standing::RemoveGroup(&group)) {
                    return Ok(Outcome::Refused(409, key));
                }
            }
            let changed = vec![group.clone()];
            on_user(state, &name, move |s, n| match adding {
                true => s.change_groups(n, &changed, &[]),
                false => s.change_groups(n, &[], &changed),
            })
            .await?;
            let what = if adding { "added" } else { "removed" };
            audit(AuditKind::GroupsChanged, Some(&format!("{what} {group}")));
            Outcome::Done("groups")
        }
        "reset-2fa" => {
            on_user(state, &name, |s, n| s.reset_second_factor(n)).await?;
            audit(AuditKind::SecondFactorReset, None);
            Outcome::Done("reset")
        }
        "remove-passkey" => {
            let Ok(id) = form.get("passkey").parse::<i64>() else {
                return Ok(Outcome::Refused(400, "admin-unknown-action"));
            };
            if !on_user(state, &name, move |s, n| s.remove_passkey_of(n, id)).await? {
                return Ok(Outcome::Refused(404, "admin-passkey-gone"));
            }
            audit(AuditKind::PasskeyRemoved, Some(&format!("#{id}")));
            Outcome::Done("passkey")
        }
        "end-sessions" => {
            let ended = on_user(state, &name, |s, n| s.revoke_user_sessions(n)).await?;
            audit(
                AuditKind::SessionsRevoked,
                Some(&format!("{ended} session(s)")),
            );
            Outcome::Done("sessions")
        }
        "end-session" => return end_one(state, req, actor, form, target).await,
        "lift-ban" => return lift_user_bans(state, req, actor, target).await,
        _ => return Ok(Outcome::Refused(400, "admin-unknown-action")),
    };
    // Whatever changed, the running gateway's copies of the user's sessions go at once.
    state.sessions.forget_user(target.id);
    Ok(outcome)
}

/// Runs `change` on user `name` in the store; a user deleted meanwhile is a 404.
async fn on_user<T: Send + 'static>(
    state: &State,
    name: &str,
    change: impl FnOnce(&Store, &str) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, PortalError> {
    let name = name.to_string();
    match state.store.call(move |s| change(s, &name)).await {
        Err(StoreError::UnknownUser(_)) => Err(PortalError::NotFound),
        other => other.during(Task::Account),
    }
}

/// Ends one session of `target`, named by the hex of its id hash.
async fn end_one(
    state: &State,
    req: &PortalRequest,
    actor: &Actor<'_>,
    form: &Form,
    target: &User,
) -> Result<Outcome, PortalError> {
    let mut id_hash = [0u8; 32];
    if hex::decode_to_slice(form.get("session"), &mut id_hash).is_err() {
        return Ok(Outcome::Refused(400, "admin-unknown-action"));
    }
    let theirs = on_user(state, &target.username, |s, n| s.list_sessions(Some(n)))
        .await?
        .iter()
        .any(|x| x.row.id_hash == id_hash);
    if !theirs {
        return Ok(Outcome::Done("session"));
    }
    state.sessions.end(id_hash).await;
    let what = hex::encode(&id_hash[..6]);
    actor.audit(
        state,
        req,
        AuditKind::SessionEnded,
        Some(&target.username),
        Some(&what),
    );
    Ok(Outcome::Done("session"))
}

/// Lifts the bans on `target` (their password and second factor, and addresses their own
/// failures banned), as `portcullis bans lift NAME` does.
async fn lift_user_bans(
    state: &State,
    req: &PortalRequest,
    actor: &Actor<'_>,
    target: &User,
) -> Result<Outcome, PortalError> {
    let subject = Subject::User(target.username.clone());
    match super::bans::lift(state, req, actor, subject).await? {
        0 => Ok(Outcome::Refused(409, "admin-ban-none")),
        _ => Ok(Outcome::Done("ban")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, name: &str, groups: &[&str], disabled: bool) -> User {
        User {
            id,
            username: name.into(),
            email: None,
            display_name: None,
            password_hash: "a hash".into(),
            disabled,
            created_at: 0,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            must_enrol: false,
        }
    }

    #[test]
    fn the_last_enabled_admin_stays_and_nobody_demotes_themselves() {
        let admins = ["admins".to_string()];
        let root = user(1, "root", &["admins"], false);
        let bob = user(2, "bob", &["staff"], false);
        let old = user(3, "old", &["admins"], true);
        let users = [root.clone(), bob.clone(), old.clone()];
        let refuse =
            |target: &User, change| last_admin_refusal(&users, &admins, "root", target, change);
        let last = Some("admin-refused-last-admin");
        assert_eq!(refuse(&root, Standing::Disable), last);
        assert_eq!(refuse(&root, Standing::Delete), last);
        assert_eq!(
            refuse(&root, Standing::RemoveGroup("admins")),
            Some("admin-refused-own-group")
        );
        assert_eq!(refuse(&root, Standing::RemoveGroup("staff")), None);
        assert_eq!(refuse(&bob, Standing::Disable), None);
        assert_eq!(
            refuse(&old, Standing::Delete),
            None,
            "a disabled admin is no admin"
        );

        // With a second enabled admin, either may leave, but never demote themselves.
        let ann = user(4, "ann", &["admins"], false);
        let users = [root.clone(), ann.clone()];
        let refuse =
            |target: &User, change| last_admin_refusal(&users, &admins, "root", target, change);
        assert_eq!(refuse(&root, Standing::Disable), None);
        assert_eq!(refuse(&ann, Standing::Delete), None);
        assert_eq!(refuse(&ann, Standing::RemoveGroup("admins")), None);
        assert_eq!(
            refuse(&root, Standing::RemoveGroup("admins")),
            Some("admin-refused-own-group")
        );

        // An admin invited but without a password yet cannot sign in: they do not count.
        let invited = User {
            password_hash: crate::store::NO_PASSWORD.into(),
            ..user(5, "ivy", &["admins"], false)
        };
        let users = [root.clone(), invited];
        assert_eq!(
            last_admin_refusal(&users, &admins, "root", &root, Standing::Disable),
            Some("admin-refused-last-admin")
        );
    }
}
