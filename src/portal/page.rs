//! `PortalPage`: every URL under the portal prefix in one enum, with its path, and where an
//! access decision sends a visitor. The proxy, `/verify` and the portal's dispatch all read
//! page paths from here.

use super::encode_query;
use crate::policy::Decision;

/// A page under the portal prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalPage {
    Account,
    /// `POST`: ends one of the visitor's other sessions.
    AccountEndSession,
    /// `POST`: ends every session of the visitor but this one.
    AccountEndOthers,
    /// `POST`: forgets a remembered browser.
    AccountForgetBrowser,
    /// `POST`: a new password.
    AccountPassword,
    /// `GET`: the page that creates a passkey.
    AccountPasskeyNew,
    /// `POST`: the browser's new passkey.
    PasskeyRegister,
    /// `POST`: renames a passkey.
    AccountPasskeyRename,
    /// `POST`: removes a passkey.
    AccountPasskeyRemove,
    Admin,
    AdminAudit,
    AdminBans,
    AdminInvite,
    AdminReauth,
    AdminUser,
    Health,
    Invite,
    Language,
    Login,
    Logo,
    Logout,
    /// `POST`: signing in with a passkey alone.
    PasskeyLogin,
    /// `POST`: a passkey as the second factor.
    PasskeyVerify,
    /// The passkey script.
    Script,
    Recovery,
    RecoveryCodes,
    Style,
    Theme,
    Totp,
    TotpDisable,
    TotpSetup,
    Verify,
}

const PAGES: [PortalPage; 32] = [
    PortalPage::Account,
    PortalPage::AccountEndSession,
    PortalPage::AccountEndOthers,
    PortalPage::AccountForgetBrowser,
    PortalPage::AccountPassword,
    PortalPage::AccountPasskeyNew,
    PortalPage::PasskeyRegister,
    PortalPage::AccountPasskeyRename,
    PortalPage::AccountPasskeyRemove,
    PortalPage::Admin,
    PortalPage::AdminAudit,
    PortalPage::AdminBans,
    PortalPage::AdminInvite,
    PortalPage::AdminReauth,
    PortalPage::AdminUser,
    PortalPage::Health,
    PortalPage::Invite,
    PortalPage::Language,
    PortalPage::Login,
    PortalPage::Logo,
    PortalPage::Logout,
    PortalPage::PasskeyLogin,
    PortalPage::PasskeyVerify,
    PortalPage::Script,
    PortalPage::Recovery,
    PortalPage::RecoveryCodes,
    PortalPage::Style,
    PortalPage::Theme,
    PortalPage::Totp,
    PortalPage::TotpDisable,
    PortalPage::TotpSetup,
    PortalPage::Verify,
];

impl PortalPage {
    /// The page's path under the prefix.
    pub fn path(self) -> &'static str {
        match self {
            PortalPage::Account => "/account",
            PortalPage::AccountEndSession => "/account/sessions/end",
            PortalPage::AccountEndOthers => "/account/sessions/end-others",
            PortalPage::AccountForgetBrowser => "/account/browsers/forget",
            PortalPage::AccountPassword => "/account/password",
            PortalPage::AccountPasskeyNew => "/account/passkeys/new",
            PortalPage::PasskeyRegister => "/account/passkeys/register",
            PortalPage::AccountPasskeyRename => "/account/passkeys/rename",
            PortalPage::AccountPasskeyRemove => "/account/passkeys/remove",
            PortalPage::Admin => "/admin",
            PortalPage::AdminAudit => "/admin/audit",
            PortalPage::AdminBans => "/admin/bans",
            PortalPage::AdminInvite => "/admin/invite",
            PortalPage::AdminReauth => "/admin/reauth",
            PortalPage::AdminUser => "/admin/user",
            PortalPage::Health => "/health",
            PortalPage::Invite => "/invite",
            PortalPage::Language => "/language",
            PortalPage::Login => "/login",
            PortalPage::Logo => "/static/logo",
            PortalPage::Logout => "/logout",
            PortalPage::PasskeyLogin => "/passkey/login",
            PortalPage::PasskeyVerify => "/passkey/verify",
            PortalPage::Script => "/static/passkey.js",
            PortalPage::Recovery => "/recovery",
            PortalPage::RecoveryCodes => "/recovery-codes",
            PortalPage::Style => "/static/style.css",
            PortalPage::Theme => "/static/theme.css",
            PortalPage::Totp => "/totp",
            PortalPage::TotpDisable => "/totp/disable",
            PortalPage::TotpSetup => "/totp/setup",
            PortalPage::Verify => "/verify",
        }
    }

    /// The page at `path` (what follows the prefix); the prefix itself is the account page.
    pub fn from_path(path: &str) -> Option<PortalPage> {
        if path.is_empty() || path == "/" {
            return Some(PortalPage::Account);
        }
        PAGES.into_iter().find(|p| p.path() == path)
    }

    /// The page's URL under `prefix`.
    pub fn at(self, prefix: &str) -> String {
        format!("{prefix}{}", self.path())
    }

    /// Whether the page belongs to the admin area (admins only, two factors).
    pub fn is_admin(self) -> bool {
        matches!(
            self,
            PortalPage::Admin
                | PortalPage::AdminAudit
                | PortalPage::AdminBans
                | PortalPage::AdminInvite
                | PortalPage::AdminReauth
                | PortalPage::AdminUser
        )
    }

    /// The page's URL under `prefix`, with `rd` to come back to.
    pub fn url(self, prefix: &str, rd: &str) -> String {
        format!("{prefix}{}?rd={}", self.path(), encode_query(rd))
    }
}

/// Where a request the policy did not let through sends the visitor (a relative URL under
/// `prefix`, with `rd` to come back to), and why, for clients that are not browsers. `None`
/// for decisions that are not a step to take (forward, deny, forbidden).
pub fn next_step(decision: Decision, prefix: &str, rd: &str) -> Option<(String, &'static str)> {
    match decision {
        Decision::Login => Some((PortalPage::Login.url(prefix, rd), "authentication required")),
        Decision::Challenge => Some((PortalPage::Totp.url(prefix, rd), "second factor required")),
        // Forced enrolment: the set-up page says why it is shown.
        Decision::Enrol => Some((
            format!(
                "{prefix}{}?required=1&rd={}",
                PortalPage::TotpSetup.path(),
                encode_query(rd)
            ),
            "second factor set-up required",
        )),
        Decision::Forward { .. } | Decision::Deny | Decision::Forbidden => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_is_found_at_its_own_path() {
        for page in PAGES {
            assert_eq!(PortalPage::from_path(page.path()), Some(page));
        }
        assert_eq!(PortalPage::from_path(""), Some(PortalPage::Account));
        assert_eq!(PortalPage::from_path("/nope"), None);
    }

    #[test]
    fn decisions_lead_to_their_pages() {
        let (url, _) = next_step(Decision::Enrol, "/p", "/x?a=1").unwrap();
        assert_eq!(url, "/p/totp/setup?required=1&rd=%2Fx%3Fa%3D1");
        let (url, _) = next_step(Decision::Login, "/p", "/").unwrap();
        assert_eq!(url, "/p/login?rd=%2F");
        assert!(next_step(Decision::Deny, "/p", "/").is_none());
    }
}
