## The admin area: users, bans and the audit trail, for members of the admin groups.

admin-link-from-account = Administration
admin-nav-label = Administration
admin-nav-users = Users
admin-nav-bans = Bans
admin-nav-audit = Audit log

admin-forbidden-title = Admins only
admin-forbidden-text = This part of the site is for administrators. Your account is not in an admin group.

admin-reauth-title = Confirm it is you
admin-reauth-text = Changes in the administration need a recent second factor. Enter the current code from your authenticator app to continue.
admin-reauth-submit = Confirm
admin-reauth-who = Signed in as { $username }.
admin-reauth-text-passkey = Changes in the administration need a recent second factor. Confirm with your passkey to continue.
admin-reauth-passkey = Confirm with a passkey

admin-users-title = Users
admin-search-label = Search by username, name or email
admin-search-submit = Search
admin-users-none = No users match.
admin-state = State
admin-state-active = active
admin-state-disabled = disabled
admin-2fa-on = on
admin-2fa-off = off
admin-last-sign-in = Last sign-in
admin-never = never
admin-sessions = Sessions
admin-sessions-none = No active sessions.
admin-session-created = Started (UTC)
admin-session-seen = Last seen (UTC)
admin-client-ip = Client IP
admin-user-agent = Browser
admin-session-end = End
admin-sessions-end-all = End all sessions
admin-level-pending = awaiting second factor

admin-no-user-title = No such user
admin-no-user-text = There is no user by that name. They may have been deleted.

admin-profile-heading = Profile
admin-profile-submit = Save profile
admin-profile-invalid = A name or email may have at most 256 characters and no line breaks.
admin-group-remove = Remove
admin-group-add-label = Add to group
admin-group-add-submit = Add
admin-group-invalid = A group name has 1 to 64 characters, without commas or spaces.

admin-danger-heading = Account access
admin-disable-text = Disabling ends every session of this user at once; they cannot sign in until enabled again.
admin-disable-submit = Disable user
admin-enable-submit = Enable user
admin-reset-text = Resetting removes the authenticator, the recovery codes and the passkeys and ends every session; the user sets up two-factor sign-in again.
admin-reset-submit = Reset two-factor sign-in
admin-delete-label = To delete this user and everything of theirs, type the username ({ $username }):
admin-delete-submit = Delete user
admin-delete-mismatch = The username typed does not match. Nothing was deleted.

admin-refused-last-admin = This is the last enabled administrator. Nothing was changed: make someone else an administrator first.
admin-refused-own-group = You cannot remove your own admin group. Nothing was changed: another administrator can do it.
admin-unknown-action = That change is not understood. Nothing was changed.

admin-done-disabled = The user is disabled and signed out everywhere.
admin-done-enabled = The user is enabled.
admin-done-deleted = The user is deleted.
admin-done-profile = The profile is saved.
admin-done-groups = The groups are changed.
admin-done-reset = Two-factor sign-in is reset and the user is signed out everywhere.
admin-done-sessions = Every session of the user has ended.
admin-done-session = The session has ended.
admin-done-ban = The ban is lifted.

admin-bans-title = Bans
admin-bans-none = Nobody is banned.
admin-ban-subject = Who
admin-ban-kind = Kind
admin-ban-ends = Ends (UTC)
admin-ban-until = until { $time } UTC
admin-ban-lift = Lift ban
admin-ban-none = There is no ban in force on that. Nothing was changed.
admin-ban-kind-user = password attempts of a user
admin-ban-kind-2fa = second-factor attempts of a user
admin-ban-kind-address = client address
admin-ban-kind-network = client network
admin-ban-kind-other = other

admin-audit-title = Audit log
admin-audit-event = Event
admin-audit-any-event = any
admin-audit-from = From (UTC)
admin-audit-to = To (UTC)
admin-audit-filter = Show
admin-audit-none = No events match.
admin-audit-time = Time (UTC)
admin-audit-detail = Detail
admin-audit-bad-date = Dates are written YYYY-MM-DD, for example 2025-03-31.
admin-audit-bad-filter = A username has at most 64 characters, and the event is one of the list.
admin-pages-label = Pages
admin-page-prev = Newer
admin-page-next = Older
admin-page-number = Page { $count }

## Inviting
admin-nav-invite = Invite
admin-state-invited = invited, no password yet
admin-invite-title = Invite a user
admin-invite-intro = The person gets a link where they choose their own password, and set up two-factor sign-in when it is asked of them. Nobody else learns the password.
admin-invite-name = Name (optional)
admin-invite-email = Email (optional)
admin-invite-groups = Groups (optional, separated by spaces)
admin-invite-expires = Link valid for (for example 72h or 7d, at most 30d)
admin-invite-submit = Create invite link
admin-invite-made = Send this link to { $username }. It works once, until { $time } UTC, and is not shown again.
admin-invite-bad-username = A username has 1 to 64 letters, digits, “.”, “_”, “-” or “@”.
admin-invite-bad-expires = Say how long the link is valid, between one minute and 30 days, for example 72h or 7d.
admin-invite-taken = That user already has a password. Nothing was changed.
admin-passkey-facts = for { $rp }, added { $created }
admin-passkey-used = last used { $last_used }
admin-done-passkey = The passkey is removed.
admin-passkey-gone = That passkey is no longer there.
