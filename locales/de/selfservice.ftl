# Einladungen, selbst gewählte Passwörter sowie Sitzungen und Passwortänderung auf der Kontoseite.

## Einladungen
unavailable-invite = Einladungen können gerade nicht verwendet werden. Versuchen Sie es gleich noch einmal.
invite-title = Wählen Sie Ihr Passwort
invite-heading = Willkommen bei { $title }
invite-intro = Sie wurden als { $username } eingeladen. Wählen Sie das Passwort, mit dem Sie sich anmelden werden.
invite-totp-next = Anschließend richten Sie die Zwei-Faktor-Anmeldung mit einer Authenticator-App ein.
invite-submit = Passwort festlegen und weiter
invite-used-title = Einladung bereits verwendet
invite-used-text = Dieser Einladungslink wurde bereits verwendet. Melden Sie sich mit dem gewählten Passwort an.
invite-expired-title = Einladung abgelaufen
invite-expired-text = Dieser Einladungslink ist abgelaufen. Bitten Sie die Betreiber dieser Website um einen neuen.
invite-unknown-title = Einladung ungültig
invite-unknown-text = Dieser Einladungslink ist nicht gültig. Vielleicht wurde er durch einen neueren ersetzt; wenden Sie sich an die Betreiber dieser Website.

## Selbst gewählte Passwörter
current-password-label = Aktuelles Passwort
new-password-label = Neues Passwort
confirm-password-label = Neues Passwort wiederholen
password-rules = Mindestens 8 Zeichen. Kein häufig verwendetes Passwort und nicht Ihr Benutzername.
password-too-short = Das Passwort braucht mindestens 8 Zeichen.
password-too-long = Dieses Passwort ist zu lang: höchstens 1024 Bytes.
password-common = Dieses Passwort gehört zu den am häufigsten verwendeten, die Angreifer zuerst ausprobieren. Wählen Sie ein anderes.
password-has-username = Das Passwort darf Ihr Benutzername weder sein noch ihn enthalten.
password-mismatch = Die beiden Passwörter stimmen nicht überein.
password-missing = Füllen Sie alle Passwortfelder aus.
password-current-wrong = Ihr aktuelles Passwort ist nicht richtig.

## Sitzungen auf der Kontoseite
device-unknown-browser = Unbekannter Browser
device-on = { $browser } unter { $system }
account-sessions-heading = Wo Sie angemeldet sind
account-session-current = Dieser Browser
account-session-pending = Wartet auf den zweiten Faktor
account-session-facts = { $ip } · angemeldet am { $signed_in } · zuletzt aktiv am { $last_active }
account-session-end = Diese Sitzung abmelden
account-end-others = Überall sonst abmelden
account-session-ended = Diese Sitzung ist abgemeldet.
account-others-ended = Alle anderen Sitzungen sind abgemeldet.

## Passwort ändern
account-password-heading = Passwort ändern
account-password-submit = Passwort ändern
account-password-changed = Ihr Passwort ist geändert. Alle anderen Sitzungen sind abgemeldet.

## Gemerkte Browser
totp-remember-days = { $count ->
    [one] Diesen Browser 1 Tag lang merken
   *[other] Diesen Browser { $count } Tage lang merken
}
totp-remember-hours = { $count ->
    [one] Diesen Browser 1 Stunde lang merken
   *[other] Diesen Browser { $count } Stunden lang merken
}
account-browsers-heading = Gemerkte Browser
account-browsers-intro = Diese Browser melden sich bis zum angegebenen Datum ohne den Zwei-Faktor-Code an. Ihr Passwort wird immer abgefragt.
account-browser-facts = { $ip } · gemerkt am { $since } · bis { $until }
account-browser-forget = Diesen Browser vergessen
account-browser-forgotten = Dieser Browser ist vergessen: Er fragt wieder nach dem Zwei-Faktor-Code.
