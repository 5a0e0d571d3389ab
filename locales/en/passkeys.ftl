# Passkeys: adding them on the account page, using them at the second-factor step and to sign in alone, and confirming a second factor again.

## Confirming again
again-title = Confirm it is you
again-intro = This change needs a second factor confirmed in the last few minutes. Confirm it and you will come straight back.
again-cancel = Back to your account

## At the second-factor step
passkey-challenge-heading = Confirm with your passkey
passkey-challenge-intro = Use the passkey or security key you added for { $username }.
passkey-or-code = Or enter a code
passkey-use = Use my passkey
passkey-unavailable-here = Passkeys cannot be used at this address. Open this site by its usual name to use them.
passkey-elsewhere = Your passkeys were made for { $places }. Open that address to use them, or use another way.
passkey-needs-script = Passkeys need JavaScript in your browser. Turn it on to use one here.
passkey-browser-failed = Your browser did not finish with the passkey. Try again, or use another way.
passkey-refused = That passkey was not accepted. Try again, or use another way.

## Signing in with a passkey
passkey-login-heading = No password?
passkey-sign-in = Sign in with a passkey

## Adding a passkey
passkey-instead-text = Rather use a passkey, on this device or a security key?
passkey-instead-link = Add a passkey instead
passkey-name-label = Name of the passkey
passkey-add-submit = Add a passkey
passkey-new-title = Add a passkey
passkey-new-intro = This passkey will be called “{ $name }”.
passkey-new-how = Press the button, then follow what your browser asks: touch your security key, or unlock with your fingerprint, face or PIN.
passkey-create = Create the passkey
passkey-new-cancel = Cancel
passkey-expired = That attempt expired or came from another page. Try again.
passkey-not-added = Your browser's answer was not accepted, so no passkey was added. Try again.
passkey-known = This passkey is already registered. Each passkey belongs to one account.

## Passkeys on the account page
passkeys-heading = Passkeys
passkeys-intro = Passkeys and security keys sign you in without a code to type. Each one can be renamed or removed.
passkey-facts = Added { $created } · last used { $last_used }
passkey-never-used = never
passkey-rename-label = New name
passkey-rename-submit = Rename
passkey-remove-submit = Remove
passkey-name-missing = Give the passkey a name.
account-setup-app = Add an authenticator app too
account-passkey-added = The passkey is added.
account-passkey-renamed = The passkey is renamed.
account-passkey-removed = The passkey is removed.

## Recovery codes with passkeys
codes-passkey-on = Your passkey is added. If you ever lose it, a recovery code lets you sign in.
passkey-lost = Lost your passkey? Use a recovery code
recovery-use-passkey = Use your passkey instead
passkey-codes-text = Recovery codes let you in if you lose your passkeys. New ones replace the old.
account-totp-disabled-passkey = The authenticator app is removed. Your passkeys remain your second factor.
confirm-disable-passkey = I understand that the app will no longer work; my passkeys stay.
recovered-add-passkey = Add a new passkey
recovered-lost-passkey = If you lost your passkey, add a new one now, then remove the lost one on your account page.
