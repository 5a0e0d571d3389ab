# Passkeys: auf der Kontoseite hinzufügen, beim zweiten Faktor und allein zur Anmeldung verwenden, und den zweiten Faktor erneut bestätigen.

## Erneut bestätigen
again-title = Bestätigen Sie, dass Sie es sind
again-intro = Diese Änderung braucht einen zweiten Faktor, der in den letzten Minuten bestätigt wurde. Bestätigen Sie ihn, dann geht es sofort weiter.
again-cancel = Zurück zu Ihrem Konto

## Beim zweiten Faktor
passkey-challenge-heading = Mit Ihrem Passkey bestätigen
passkey-challenge-intro = Verwenden Sie den Passkey oder Sicherheitsschlüssel, den Sie für { $username } hinzugefügt haben.
passkey-or-code = Oder einen Code eingeben
passkey-use = Meinen Passkey verwenden
passkey-unavailable-here = Unter dieser Adresse können keine Passkeys verwendet werden. Öffnen Sie die Website unter ihrem üblichen Namen, um sie zu verwenden.
passkey-elsewhere = Ihre Passkeys wurden für { $places } erstellt. Öffnen Sie diese Adresse, um sie zu verwenden, oder wählen Sie einen anderen Weg.
passkey-needs-script = Passkeys brauchen JavaScript in Ihrem Browser. Schalten Sie es ein, um hier einen zu verwenden.
passkey-browser-failed = Ihr Browser hat den Vorgang mit dem Passkey nicht abgeschlossen. Versuchen Sie es erneut oder wählen Sie einen anderen Weg.
passkey-refused = Dieser Passkey wurde nicht akzeptiert. Versuchen Sie es erneut oder wählen Sie einen anderen Weg.

## Mit einem Passkey anmelden
passkey-login-heading = Kein Passwort?
passkey-sign-in = Mit einem Passkey anmelden

## Einen Passkey hinzufügen
passkey-instead-text = Lieber einen Passkey auf diesem Gerät oder einem Sicherheitsschlüssel?
passkey-instead-link = Stattdessen einen Passkey hinzufügen
passkey-name-label = Name des Passkeys
passkey-add-submit = Passkey hinzufügen
passkey-new-title = Passkey hinzufügen
passkey-new-intro = Dieser Passkey wird „{ $name }“ heißen.
passkey-new-how = Drücken Sie die Schaltfläche und folgen Sie Ihrem Browser: Berühren Sie Ihren Sicherheitsschlüssel oder entsperren Sie mit Fingerabdruck, Gesicht oder PIN.
passkey-create = Passkey erstellen
passkey-new-cancel = Abbrechen
passkey-expired = Dieser Versuch ist abgelaufen oder kam von einer anderen Seite. Versuchen Sie es erneut.
passkey-not-added = Die Antwort Ihres Browsers wurde nicht akzeptiert, daher wurde kein Passkey hinzugefügt. Versuchen Sie es erneut.
passkey-known = Dieser Passkey ist bereits registriert. Jeder Passkey gehört zu einem einzigen Konto.

## Passkeys auf der Kontoseite
passkeys-heading = Passkeys
passkeys-intro = Mit Passkeys und Sicherheitsschlüsseln melden Sie sich an, ohne einen Code einzugeben. Jeder kann umbenannt oder entfernt werden.
passkey-facts = Hinzugefügt { $created } · zuletzt verwendet { $last_used }
passkey-never-used = nie
passkey-rename-label = Neuer Name
passkey-rename-submit = Umbenennen
passkey-remove-submit = Entfernen
passkey-name-missing = Geben Sie dem Passkey einen Namen.
account-setup-app = Zusätzlich eine Authenticator-App einrichten
account-passkey-added = Der Passkey ist hinzugefügt.
account-passkey-renamed = Der Passkey ist umbenannt.
account-passkey-removed = Der Passkey ist entfernt.

## Recovery codes with passkeys
codes-passkey-on = Ihr Passkey ist hinzugefügt. Sollten Sie ihn verlieren, meldet Sie ein Wiederherstellungscode an.
passkey-lost = Passkey verloren? Einen Wiederherstellungscode verwenden
recovery-use-passkey = Stattdessen den Passkey verwenden
passkey-codes-text = Mit Wiederherstellungscodes kommen Sie hinein, wenn Sie Ihre Passkeys verlieren. Neue ersetzen die alten.
account-totp-disabled-passkey = Die Authenticator-App ist entfernt. Ihre Passkeys bleiben Ihr zweiter Faktor.
confirm-disable-passkey = Mir ist bewusst, dass die App dann nicht mehr funktioniert; meine Passkeys bleiben.
recovered-add-passkey = Einen neuen Passkey hinzufügen
recovered-lost-passkey = Wenn Sie Ihren Passkey verloren haben, fügen Sie jetzt einen neuen hinzu und entfernen Sie den verlorenen auf Ihrer Kontoseite.
