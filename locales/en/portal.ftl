# The portal's pages in English. Every other catalog has exactly these keys.

language-name = English
picker-label = Language

## Links onward
link-account = Go to your account
link-sign-in = Go to the sign-in page
link-try-again = Try again
link-reload = Back to the form

## Sign-in
login-title = Sign in
login-heading = Sign in to { $title }
login-username = Username
login-password = Password
login-submit = Sign in
login-signed-out = You are signed out.
login-wrong = Wrong username or password.
login-missing = Enter your username and password.
login-too-long = That is longer than any username or password here.
login-expired = The form timed out. Enter your password again.

## Too many attempts
banned-title = Too many attempts
banned-text = { $minutes ->
    [one] Too many failed attempts. Try again in 1 minute, at { $time } UTC.
   *[other] Too many failed attempts. Try again in { $minutes } minutes, at { $time } UTC.
}
banned-advice = Wait until then, or ask the people who run this site to lift the block.

## Two-factor code
totp-title = Two-factor code
totp-heading = Enter your code
totp-intro = Open your authenticator app and enter the { $digits }-digit code for { $issuer } ({ $username }).
totp-code = Code
totp-submit = Verify
totp-lost = Lost your device? Use a recovery code
totp-cancel = Cancel and sign out
totp-missing = Enter the code your app shows.
totp-replayed = That code was already used. Wait for the next one.
totp-wrong = That code is not right. Check the time on your device and try again.

## Recovery code at sign-in
recovery-title = Recovery code
recovery-heading = Use a recovery code
recovery-intro = Enter one of the recovery codes you saved when you set up two-factor sign-in ({ $username }). Each code works once.
recovery-code = Recovery code
recovery-placeholder = XXXX-XXXX-XXXX-XXXX
recovery-submit = Continue
recovery-use-app = Use your authenticator app instead
recovery-missing = Enter one of your recovery codes.
recovery-wrong = That recovery code is not valid, or it was already used.

## Signed in with a recovery code
recovered-title = Signed in with a recovery code
recovered-heading = You are signed in
recovered-used = That recovery code is now used up.
recovered-remaining = { $count ->
    [0] No recovery codes remain.
    [one] 1 recovery code remains.
   *[other] { $count } recovery codes remain.
}
recovered-continue = Continue
recovered-setup = Set up a new authenticator
recovered-lost = If you lost your authenticator, set up a new one: it asks for one more recovery code, and a fresh set of recovery codes comes with it.
recovered-regen-summary = Still have your authenticator? Get a new set of recovery codes
current-code-label = Current code from your authenticator
regen-submit = Replace all recovery codes

## Setting up an authenticator
setup-title = Set up two-factor sign-in
setup-heading = Set up your authenticator
setup-forced = This page needs two-factor sign-in. Set it up once and you will come straight back.
setup-qr-label = QR code to scan with your authenticator app
setup-scan = Scan this QR code with Google Authenticator, Aegis, 1Password, Bitwarden or any TOTP app.
setup-key = Or type this key by hand:
setup-link-intro = On this phone? Open the set-up link with your authenticator app:
setup-enter = Enter the { $digits }-digit code the app shows.
setup-current = Code from your current authenticator, or a recovery code
setup-code = Code from the new authenticator
setup-submit = Turn on two-factor sign-in
setup-missing = Enter the code the new authenticator shows.
setup-expired = That set-up expired or was started elsewhere. Scan this new code and try again.
setup-current-wrong = The code from your current authenticator (or the recovery code) is not right.
move-title = Move to a new authenticator
move-intro = Two-factor sign-in stays on while you move. Once you confirm, your current authenticator and your recovery codes stop working, and you get new recovery codes.
move-submit = Move to the new authenticator
move-cancel = Cancel and keep your current authenticator

## Recovery codes shown once
codes-title = Your recovery codes
codes-heading = Save your recovery codes
codes-enabled = Two-factor sign-in is on.
codes-moved = You have moved to your new authenticator. The previous one and your old recovery codes no longer work.
codes-replaced = Your old recovery codes no longer work.
codes-intro = If you lose your authenticator, each of these codes lets you sign in once.
codes-once = This is the only time they are shown.
codes-keep = Keep them somewhere safe and apart from your phone: a password manager, or printed and put away.
codes-download = Download as text
codes-print = To print, use your browser's print command.
codes-done = I have saved them, continue
codes-file-heading = { $issuer } recovery codes
codes-file-account = Account: { $username }
codes-file-created = Created: { $date }
codes-file-use = Each code signs you in once if you lose your authenticator.
codes-file-keep = Keep this file somewhere safe, apart from your phone.
codes-shown-title = Recovery codes already shown
codes-shown-text = These recovery codes were already shown, and they are never shown twice.
codes-shown-more = If you did not save them, make a new set: the codes shown before then stop working.
codes-shown-new = Make a new set of recovery codes

## Account
account-title = Your account
account-sign-out = Sign out
account-username = Username
account-name = Name
account-email = Email
account-groups = Groups
account-groups-none = none
account-level = Signed in with
account-level-one = password
account-level-two = password and second factor
account-2fa = Two-factor sign-in
account-2fa-on = on
account-2fa-pending = set-up pending
account-2fa-off = off
account-codes-left = Recovery codes left
account-codes-low = { $count ->
    [0] No recovery codes left: make a new set below.
    [one] Only 1 recovery code left: make a new set below.
   *[other] Only { $count } recovery codes left: make a new set below.
}
account-totp-disabled = Two-factor sign-in is off.
account-move = Move to a new authenticator
account-setup = Set up two-factor sign-in
account-setup-finish = Finish setting up two-factor sign-in
account-codes-heading = Recovery codes
account-regen-submit = Make a new set
confirm-regen = I understand that my current recovery codes stop working.
account-disable-heading = Turn off two-factor sign-in
account-disable-code = Current code or a recovery code
account-disable-submit = Turn off two-factor sign-in
confirm-disable = I understand that signing in will then need only my password.

## Changing a second factor
code-needed-title = Code needed
code-refused-title = Code not accepted
disable-missing = Enter a current code or a recovery code to turn off two-factor sign-in.
disable-refused = That code is not right; two-factor sign-in is still on.
regen-missing = Enter the current code from your authenticator.
regen-refused = That code is not right; your recovery codes are unchanged.
regen-off-title = Two-factor sign-in is off
regen-off-text = Recovery codes come with two-factor sign-in: set it up first.

## Errors
unavailable-title = Unavailable
unavailable-sign-in = Sign-in is unavailable right now. Try again shortly.
unavailable-code = Codes cannot be checked right now. Try again shortly.
unavailable-setup = Two-factor set-up is unavailable right now. Try again shortly.
unavailable-account = Your account is unavailable right now. Try again shortly.
unavailable-sessions = Signed-in sessions cannot be checked right now. Try again shortly.
not-form-title = Unsupported form
not-form-text = Forms must be sent as application/x-www-form-urlencoded.
bad-request-title = Bad request
bad-encoding-text = The form was not valid UTF-8.
foreign-title = Form refused
foreign-text = This form was not sent from this site, so it was not accepted.
expired-title = Form timed out
expired-text = The form timed out before it was sent. Open the page again and try once more.
not-found-title = Not found
not-found-text = There is no such page.
method-title = Method not allowed
method-no-forms = This page does not take forms.
method-forms-only = This page takes only forms.
method-other = This page does not take that method.
no-host-text = The request names no host.
no-app-text = No application is served at this address.
bad-path-text = That path is not allowed.
forbidden-title = Forbidden
forbidden-text = You do not have access to this page.
too-large-title = Too large
too-large-text = That form is larger than any form here.
unreadable-form-text = The form could not be read.
unreadable-request-text = The request could not be read.
bad-gateway-title = Bad gateway
bad-gateway-text = The application is not answering. Try again in a moment.
timeout-title = Gateway timeout
timeout-text = The application did not answer in time. Try again in a moment.
headers-title = Headers too large
headers-text = The request's headers are too large.
headers-limit-text = The request's headers are larger than this gateway accepts.
uri-too-long-title = Address too long
uri-too-long-text = The address is longer than this gateway accepts.
length-twice-text = The request gives its body length more than once.
error-title = Error
error-text = Something went wrong.
