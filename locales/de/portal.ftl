# Die Seiten des Portals auf Deutsch. Dieselben Schlüssel wie der englische Katalog.

language-name = Deutsch
picker-label = Sprache

## Links
link-account = Zu Ihrem Konto
link-sign-in = Zur Anmeldeseite
link-try-again = Erneut versuchen
link-reload = Zurück zum Formular

## Anmeldung
login-title = Anmelden
login-heading = Bei { $title } anmelden
login-username = Benutzername
login-password = Passwort
login-submit = Anmelden
login-signed-out = Sie sind abgemeldet.
login-wrong = Benutzername oder Passwort ist falsch.
login-missing = Bitte geben Sie Ihren Benutzernamen und Ihr Passwort ein.
login-too-long = Das ist länger als jeder Benutzername und jedes Passwort, das hier gilt.
login-expired = Das Formular ist abgelaufen. Bitte geben Sie Ihr Passwort erneut ein.

## Zu viele Versuche
banned-title = Zu viele Versuche
banned-text = { $minutes ->
    [one] Zu viele fehlgeschlagene Versuche. Versuchen Sie es in 1 Minute erneut, um { $time } UTC.
   *[other] Zu viele fehlgeschlagene Versuche. Versuchen Sie es in { $minutes } Minuten erneut, um { $time } UTC.
}
banned-advice = Bitte warten Sie bis dahin, oder bitten Sie die Betreiber dieser Website, die Sperre aufzuheben.

## Bestätigungscode
totp-title = Bestätigungscode
totp-heading = Code eingeben
totp-intro = Öffnen Sie Ihre Authenticator-App und geben Sie den { $digits }-stelligen Code für { $issuer } ({ $username }) ein.
totp-code = Code
totp-submit = Bestätigen
totp-lost = Gerät verloren? Verwenden Sie einen Wiederherstellungscode
totp-cancel = Abbrechen und abmelden
totp-missing = Bitte geben Sie den Code ein, den Ihre App anzeigt.
totp-replayed = Dieser Code wurde bereits verwendet. Bitte warten Sie auf den nächsten.
totp-wrong = Dieser Code stimmt nicht. Prüfen Sie die Uhrzeit Ihres Geräts und versuchen Sie es erneut.

## Wiederherstellungscode bei der Anmeldung
recovery-title = Wiederherstellungscode
recovery-heading = Wiederherstellungscode verwenden
recovery-intro = Geben Sie einen der Wiederherstellungscodes ein, die Sie beim Einrichten der Zwei-Faktor-Anmeldung gespeichert haben ({ $username }). Jeder Code gilt nur einmal.
recovery-code = Wiederherstellungscode
recovery-placeholder = XXXX-XXXX-XXXX-XXXX
recovery-submit = Weiter
recovery-use-app = Stattdessen die Authenticator-App verwenden
recovery-missing = Bitte geben Sie einen Ihrer Wiederherstellungscodes ein.
recovery-wrong = Dieser Wiederherstellungscode ist ungültig oder wurde bereits verwendet.

## Mit einem Wiederherstellungscode angemeldet
recovered-title = Mit einem Wiederherstellungscode angemeldet
recovered-heading = Sie sind angemeldet
recovered-used = Dieser Wiederherstellungscode ist nun verbraucht.
recovered-remaining = { $count ->
    [0] Es ist kein Wiederherstellungscode mehr übrig.
    [one] Es ist noch 1 Wiederherstellungscode übrig.
   *[other] Es sind noch { $count } Wiederherstellungscodes übrig.
}
recovered-continue = Weiter
recovered-setup = Neuen Authenticator einrichten
recovered-lost = Falls Sie Ihren Authenticator verloren haben, richten Sie einen neuen ein: Dabei wird ein weiterer Wiederherstellungscode abgefragt, und Sie erhalten einen neuen Satz Wiederherstellungscodes.
recovered-regen-summary = Haben Sie Ihren Authenticator noch? Neuen Satz Wiederherstellungscodes erstellen
current-code-label = Aktueller Code aus Ihrem Authenticator
regen-submit = Alle Wiederherstellungscodes ersetzen

## Einen Authenticator einrichten
setup-title = Zwei-Faktor-Anmeldung einrichten
setup-heading = Authenticator einrichten
setup-forced = Diese Seite erfordert die Zwei-Faktor-Anmeldung. Richten Sie sie einmal ein, danach kommen Sie direkt hierher zurück.
setup-qr-label = QR-Code zum Scannen mit Ihrer Authenticator-App
setup-scan = Scannen Sie diesen QR-Code mit Google Authenticator, Aegis, 1Password, Bitwarden oder einer anderen TOTP-App.
setup-key = Oder geben Sie diesen Schlüssel von Hand ein:
setup-link-intro = Sie sind auf diesem Telefon? Öffnen Sie den Einrichtungslink mit Ihrer Authenticator-App:
setup-enter = Geben Sie den { $digits }-stelligen Code ein, den die App anzeigt.
setup-current = Code aus Ihrem bisherigen Authenticator oder ein Wiederherstellungscode
setup-code = Code aus dem neuen Authenticator
setup-submit = Zwei-Faktor-Anmeldung einschalten
setup-missing = Bitte geben Sie den Code ein, den der neue Authenticator anzeigt.
setup-expired = Diese Einrichtung ist abgelaufen oder wurde an anderer Stelle begonnen. Scannen Sie diesen neuen Code und versuchen Sie es erneut.
setup-current-wrong = Der Code aus Ihrem bisherigen Authenticator (oder der Wiederherstellungscode) stimmt nicht.
move-title = Zu einem neuen Authenticator wechseln
move-intro = Die Zwei-Faktor-Anmeldung bleibt während des Wechsels eingeschaltet. Sobald Sie bestätigen, funktionieren Ihr bisheriger Authenticator und Ihre Wiederherstellungscodes nicht mehr, und Sie erhalten neue Wiederherstellungscodes.
move-submit = Zum neuen Authenticator wechseln
move-cancel = Abbrechen und den bisherigen Authenticator behalten

## Wiederherstellungscodes, nur einmal angezeigt
codes-title = Ihre Wiederherstellungscodes
codes-heading = Speichern Sie Ihre Wiederherstellungscodes
codes-enabled = Die Zwei-Faktor-Anmeldung ist eingeschaltet.
codes-moved = Sie verwenden jetzt Ihren neuen Authenticator. Der bisherige und Ihre alten Wiederherstellungscodes funktionieren nicht mehr.
codes-replaced = Ihre alten Wiederherstellungscodes funktionieren nicht mehr.
codes-intro = Falls Sie Ihren Authenticator verlieren, können Sie sich mit jedem dieser Codes einmal anmelden.
codes-once = Sie werden nur dieses eine Mal angezeigt.
codes-keep = Bewahren Sie sie sicher und getrennt von Ihrem Telefon auf: in einem Passwort-Manager oder ausgedruckt an einem sicheren Ort.
codes-download = Als Text herunterladen
codes-print = Zum Drucken verwenden Sie den Druckbefehl Ihres Browsers.
codes-done = Ich habe sie gespeichert, weiter
codes-file-heading = Wiederherstellungscodes für { $issuer }
codes-file-account = Konto: { $username }
codes-file-created = Erstellt: { $date }
codes-file-use = Mit jedem Code können Sie sich einmal anmelden, falls Sie Ihren Authenticator verlieren.
codes-file-keep = Bewahren Sie diese Datei sicher und getrennt von Ihrem Telefon auf.
codes-shown-title = Wiederherstellungscodes bereits angezeigt
codes-shown-text = Diese Wiederherstellungscodes wurden bereits angezeigt, und sie werden nie ein zweites Mal angezeigt.
codes-shown-more = Falls Sie sie nicht gespeichert haben, erstellen Sie einen neuen Satz: Die zuvor angezeigten Codes funktionieren dann nicht mehr.
codes-shown-new = Neuen Satz Wiederherstellungscodes erstellen

## Konto
account-title = Ihr Konto
account-sign-out = Abmelden
account-username = Benutzername
account-name = Name
account-email = E-Mail
account-groups = Gruppen
account-groups-none = keine
account-level = Angemeldet mit
account-level-one = Passwort
account-level-two = Passwort und zweitem Faktor
account-2fa = Zwei-Faktor-Anmeldung
account-2fa-on = eingeschaltet
account-2fa-pending = Einrichtung ausstehend
account-2fa-off = ausgeschaltet
account-codes-left = Verbleibende Wiederherstellungscodes
account-codes-low = { $count ->
    [0] Kein Wiederherstellungscode mehr übrig: Erstellen Sie unten einen neuen Satz.
    [one] Nur noch 1 Wiederherstellungscode übrig: Erstellen Sie unten einen neuen Satz.
   *[other] Nur noch { $count } Wiederherstellungscodes übrig: Erstellen Sie unten einen neuen Satz.
}
account-totp-disabled = Die Zwei-Faktor-Anmeldung ist ausgeschaltet.
account-move = Zu einem neuen Authenticator wechseln
account-setup = Zwei-Faktor-Anmeldung einrichten
account-setup-finish = Einrichtung der Zwei-Faktor-Anmeldung abschließen
account-codes-heading = Wiederherstellungscodes
account-regen-submit = Neuen Satz erstellen
confirm-regen = Mir ist bewusst, dass meine bisherigen Wiederherstellungscodes dann nicht mehr funktionieren.
account-disable-heading = Zwei-Faktor-Anmeldung ausschalten
account-disable-code = Aktueller Code oder ein Wiederherstellungscode
account-disable-submit = Zwei-Faktor-Anmeldung ausschalten
confirm-disable = Mir ist bewusst, dass für die Anmeldung dann nur noch mein Passwort nötig ist.

## Einen zweiten Faktor ändern
code-needed-title = Code erforderlich
code-refused-title = Code nicht angenommen
disable-missing = Bitte geben Sie einen aktuellen Code oder einen Wiederherstellungscode ein, um die Zwei-Faktor-Anmeldung auszuschalten.
disable-refused = Dieser Code stimmt nicht; die Zwei-Faktor-Anmeldung bleibt eingeschaltet.
regen-missing = Bitte geben Sie den aktuellen Code aus Ihrem Authenticator ein.
regen-refused = Dieser Code stimmt nicht; Ihre Wiederherstellungscodes bleiben unverändert.
regen-off-title = Die Zwei-Faktor-Anmeldung ist ausgeschaltet
regen-off-text = Wiederherstellungscodes gehören zur Zwei-Faktor-Anmeldung: Richten Sie diese zuerst ein.

## Fehler
unavailable-title = Nicht verfügbar
unavailable-sign-in = Die Anmeldung ist gerade nicht verfügbar. Bitte versuchen Sie es gleich noch einmal.
unavailable-code = Codes können gerade nicht geprüft werden. Bitte versuchen Sie es gleich noch einmal.
unavailable-setup = Die Einrichtung der Zwei-Faktor-Anmeldung ist gerade nicht verfügbar. Bitte versuchen Sie es gleich noch einmal.
unavailable-account = Ihr Konto ist gerade nicht verfügbar. Bitte versuchen Sie es gleich noch einmal.
unavailable-sessions = Angemeldete Sitzungen können gerade nicht geprüft werden. Versuchen Sie es gleich noch einmal.
not-form-title = Formular nicht unterstützt
not-form-text = Formulare müssen als application/x-www-form-urlencoded gesendet werden.
bad-request-title = Ungültige Anfrage
bad-encoding-text = Das Formular war kein gültiges UTF-8.
foreign-title = Formular abgelehnt
foreign-text = Dieses Formular wurde nicht von dieser Website gesendet und deshalb nicht angenommen.
expired-title = Formular abgelaufen
expired-text = Das Formular ist abgelaufen, bevor es gesendet wurde. Öffnen Sie die Seite erneut und versuchen Sie es noch einmal.
not-found-title = Nicht gefunden
not-found-text = Diese Seite gibt es nicht.
method-title = Methode nicht erlaubt
method-no-forms = Diese Seite nimmt keine Formulare an.
method-forms-only = Diese Seite nimmt nur Formulare an.
method-other = Diese Seite nimmt diese Methode nicht an.
no-host-text = Die Anfrage nennt keinen Host.
no-app-text = Unter dieser Adresse wird keine Anwendung bereitgestellt.
bad-path-text = Dieser Pfad ist nicht erlaubt.
forbidden-title = Zugriff verweigert
forbidden-text = Sie haben keinen Zugriff auf diese Seite.
too-large-title = Zu groß
too-large-text = Dieses Formular ist größer als jedes Formular dieser Website.
unreadable-form-text = Das Formular konnte nicht gelesen werden.
unreadable-request-text = Die Anfrage konnte nicht gelesen werden.
bad-gateway-title = Fehlerhaftes Gateway
bad-gateway-text = Die Anwendung antwortet nicht. Bitte versuchen Sie es gleich noch einmal.
timeout-title = Zeitüberschreitung
timeout-text = Die Anwendung hat nicht rechtzeitig geantwortet. Bitte versuchen Sie es gleich noch einmal.
headers-title = Header zu groß
headers-text = Die Header der Anfrage sind zu groß.
headers-limit-text = Die Header der Anfrage sind größer, als dieses Gateway annimmt.
uri-too-long-title = Adresse zu lang
uri-too-long-text = Die Adresse ist länger, als dieses Gateway annimmt.
length-twice-text = Die Anfrage gibt die Länge ihres Inhalts mehr als einmal an.
error-title = Fehler
error-text = Etwas ist schiefgelaufen.
