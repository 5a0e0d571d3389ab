# Invites, passwords people choose, and the account page's sessions and password form.

## Invites
unavailable-invite = Invites cannot be used right now. Try again shortly.
invite-title = Choose your password
invite-heading = Welcome to { $title }
invite-intro = You have been invited as { $username }. Choose the password you will sign in with.
invite-totp-next = Next, you will set up two-factor sign-in with an authenticator app.
invite-submit = Set password and continue
invite-used-title = Invite already used
invite-used-text = This invite link has been used already. Sign in with the password you chose.
invite-expired-title = Invite expired
invite-expired-text = This invite link has expired. Ask the people who run this site for a new one.
invite-unknown-title = Invite not valid
invite-unknown-text = This invite link is not valid. It may have been replaced by a newer one; ask the people who run this site.

## Passwords people choose
current-password-label = Current password
new-password-label = New password
confirm-password-label = New password again
password-rules = At least 8 characters. Not a commonly used password, and not your username.
password-too-short = The password needs at least 8 characters.
password-too-long = That password is too long: at most 1024 bytes.
password-common = That password is one of the most commonly used passwords, which attackers try first. Choose another.
password-has-username = The password must not be or contain your username.
password-mismatch = The two passwords are not the same.
password-missing = Fill in every password field.
password-current-wrong = Your current password is not right.

## Sessions on the account page
device-unknown-browser = Unknown browser
device-on = { $browser } on { $system }
account-sessions-heading = Where you are signed in
account-session-current = This browser
account-session-pending = Waiting for the second factor
account-session-facts = { $ip } · signed in { $signed_in } · last active { $last_active }
account-session-end = Sign out this session
account-end-others = Sign out everywhere else
account-session-ended = That session is signed out.
account-others-ended = Every other session is signed out.

## Changing the password
account-password-heading = Change password
account-password-submit = Change password
account-password-changed = Your password is changed. Every other session is signed out.

## Remembered browsers
totp-remember-days = { $count ->
    [one] Remember this browser for 1 day
   *[other] Remember this browser for { $count } days
}
totp-remember-hours = { $count ->
    [one] Remember this browser for 1 hour
   *[other] Remember this browser for { $count } hours
}
account-browsers-heading = Remembered browsers
account-browsers-intro = These browsers sign in without the two-factor code until the date shown. Your password is always asked.
account-browser-facts = { $ip } · remembered { $since } · until { $until }
account-browser-forget = Forget this browser
account-browser-forgotten = That browser is forgotten: it will ask for the two-factor code again.
