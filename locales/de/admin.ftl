## Der Verwaltungsbereich: Benutzer, Sperren und das Prüfprotokoll, für Mitglieder der Administratorgruppen.

admin-link-from-account = Verwaltung
admin-nav-label = Verwaltung
admin-nav-users = Benutzer
admin-nav-bans = Sperren
admin-nav-audit = Prüfprotokoll

admin-forbidden-title = Nur für Administratoren
admin-forbidden-text = Dieser Teil der Website ist Administratoren vorbehalten. Ihr Konto gehört zu keiner Administratorgruppe.

admin-reauth-title = Bestätigen Sie, dass Sie es sind
admin-reauth-text = Änderungen in der Verwaltung erfordern einen kürzlich bestätigten zweiten Faktor. Geben Sie den aktuellen Code aus Ihrer Authenticator-App ein, um fortzufahren.
admin-reauth-submit = Bestätigen
admin-reauth-who = Angemeldet als { $username }.
admin-reauth-text-passkey = Änderungen in der Verwaltung brauchen einen frisch bestätigten zweiten Faktor. Bestätigen Sie mit Ihrem Passkey, um fortzufahren.
admin-reauth-passkey = Mit einem Passkey bestätigen

admin-users-title = Benutzer
admin-search-label = Nach Benutzername, Name oder E-Mail suchen
admin-search-submit = Suchen
admin-users-none = Keine passenden Benutzer.
admin-state = Status
admin-state-active = aktiv
admin-state-disabled = deaktiviert
admin-2fa-on = an
admin-2fa-off = aus
admin-last-sign-in = Letzte Anmeldung
admin-never = nie
admin-sessions = Sitzungen
admin-sessions-none = Keine aktiven Sitzungen.
admin-session-created = Beginn (UTC)
admin-session-seen = Zuletzt aktiv (UTC)
admin-client-ip = Client-IP
admin-user-agent = Browser
admin-session-end = Beenden
admin-sessions-end-all = Alle Sitzungen beenden
admin-level-pending = wartet auf den zweiten Faktor

admin-no-user-title = Benutzer nicht gefunden
admin-no-user-text = Es gibt keinen Benutzer mit diesem Namen. Vielleicht wurde er gelöscht.

admin-profile-heading = Profil
admin-profile-submit = Profil speichern
admin-profile-invalid = Ein Name oder eine E-Mail-Adresse hat höchstens 256 Zeichen und keine Zeilenumbrüche.
admin-group-remove = Entfernen
admin-group-add-label = Zu Gruppe hinzufügen
admin-group-add-submit = Hinzufügen
admin-group-invalid = Ein Gruppenname hat 1 bis 64 Zeichen, ohne Kommas und Leerzeichen.

admin-danger-heading = Zugang zum Konto
admin-disable-text = Das Deaktivieren beendet sofort alle Sitzungen dieses Benutzers; er kann sich erst wieder anmelden, wenn er aktiviert wird.
admin-disable-submit = Benutzer deaktivieren
admin-enable-submit = Benutzer aktivieren
admin-reset-text = Das Zurücksetzen entfernt den Authenticator, die Wiederherstellungscodes und die Passkeys und beendet alle Sitzungen; der Benutzer richtet die Zwei-Faktor-Anmeldung neu ein.
admin-reset-submit = Zwei-Faktor-Anmeldung zurücksetzen
admin-delete-label = Um diesen Benutzer und alles, was ihm gehört, zu löschen, geben Sie den Benutzernamen ein ({ $username }):
admin-delete-submit = Benutzer löschen
admin-delete-mismatch = Der eingegebene Benutzername stimmt nicht überein. Es wurde nichts gelöscht.

admin-refused-last-admin = Dies ist der letzte aktive Administrator. Es wurde nichts geändert: Machen Sie zuerst jemand anderen zum Administrator.
admin-refused-own-group = Sie können Ihre eigene Administratorgruppe nicht entfernen. Es wurde nichts geändert: Ein anderer Administrator kann das tun.
admin-unknown-action = Diese Änderung ist unbekannt. Es wurde nichts geändert.

admin-done-disabled = Der Benutzer ist deaktiviert und überall abgemeldet.
admin-done-enabled = Der Benutzer ist aktiviert.
admin-done-deleted = Der Benutzer ist gelöscht.
admin-done-profile = Das Profil ist gespeichert.
admin-done-groups = Die Gruppen sind geändert.
admin-done-reset = Die Zwei-Faktor-Anmeldung ist zurückgesetzt und der Benutzer überall abgemeldet.
admin-done-sessions = Alle Sitzungen des Benutzers sind beendet.
admin-done-session = Die Sitzung ist beendet.
admin-done-ban = Die Sperre ist aufgehoben.

admin-bans-title = Sperren
admin-bans-none = Niemand ist gesperrt.
admin-ban-subject = Wer
admin-ban-kind = Art
admin-ban-ends = Endet (UTC)
admin-ban-until = bis { $time } UTC
admin-ban-lift = Sperre aufheben
admin-ban-none = Dafür besteht keine Sperre. Es wurde nichts geändert.
admin-ban-kind-user = Passwortversuche eines Benutzers
admin-ban-kind-2fa = Versuche mit dem zweiten Faktor eines Benutzers
admin-ban-kind-address = Client-Adresse
admin-ban-kind-network = Client-Netz
admin-ban-kind-other = Sonstiges

admin-audit-title = Prüfprotokoll
admin-audit-event = Ereignis
admin-audit-any-event = alle
admin-audit-from = Von (UTC)
admin-audit-to = Bis (UTC)
admin-audit-filter = Anzeigen
admin-audit-none = Keine passenden Ereignisse.
admin-audit-time = Zeit (UTC)
admin-audit-detail = Detail
admin-audit-bad-date = Datumsangaben werden JJJJ-MM-TT geschrieben, zum Beispiel 2025-03-31.
admin-audit-bad-filter = Ein Benutzername hat höchstens 64 Zeichen, und das Ereignis ist eines aus der Liste.
admin-pages-label = Seiten
admin-page-prev = Neuere
admin-page-next = Ältere
admin-page-number = Seite { $count }

## Einladen
admin-nav-invite = Einladen
admin-state-invited = eingeladen, noch ohne Passwort
admin-invite-title = Benutzer einladen
admin-invite-intro = Die Person erhält einen Link, über den sie ihr Passwort selbst wählt und, wenn verlangt, die Zwei-Faktor-Anmeldung einrichtet. Niemand sonst erfährt das Passwort.
admin-invite-name = Name (optional)
admin-invite-email = E-Mail (optional)
admin-invite-groups = Gruppen (optional, durch Leerzeichen getrennt)
admin-invite-expires = Link gültig für (zum Beispiel 72h oder 7d, höchstens 30d)
admin-invite-submit = Einladungslink erstellen
admin-invite-made = Senden Sie diesen Link an { $username }. Er funktioniert einmal, bis { $time } UTC, und wird nicht noch einmal angezeigt.
admin-invite-bad-username = Ein Benutzername hat 1 bis 64 Buchstaben, Ziffern, „.“, „_“, „-“ oder „@“.
admin-invite-bad-expires = Geben Sie an, wie lange der Link gilt, zwischen einer Minute und 30 Tagen, zum Beispiel 72h oder 7d.
admin-invite-taken = Dieser Benutzer hat bereits ein Passwort. Es wurde nichts geändert.
admin-passkey-facts = für { $rp }, hinzugefügt { $created }
admin-passkey-used = zuletzt verwendet { $last_used }
admin-done-passkey = Der Passkey ist entfernt.
admin-passkey-gone = Diesen Passkey gibt es nicht mehr.
