## L’espace d’administration : utilisateurs, blocages et journal d’audit, pour les membres des groupes d’administrateurs.

admin-link-from-account = Administration
admin-nav-label = Administration
admin-nav-users = Utilisateurs
admin-nav-bans = Blocages
admin-nav-audit = Journal d’audit

admin-forbidden-title = Réservé aux administrateurs
admin-forbidden-text = Cette partie du site est réservée aux administrateurs. Votre compte ne fait partie d’aucun groupe d’administrateurs.

admin-reauth-title = Confirmez votre identité
admin-reauth-text = Les modifications dans l’administration demandent un second facteur récent. Saisissez le code actuel de votre application d’authentification pour continuer.
admin-reauth-submit = Confirmer
admin-reauth-who = Vous êtes connecté en tant que { $username }.
admin-reauth-text-passkey = Les modifications dans l'administration demandent un second facteur récent. Confirmez avec votre clé d'accès pour continuer.
admin-reauth-passkey = Confirmer avec une clé d'accès

admin-users-title = Utilisateurs
admin-search-label = Rechercher par nom d’utilisateur, nom ou adresse e-mail
admin-search-submit = Rechercher
admin-users-none = Aucun utilisateur ne correspond.
admin-state = État
admin-state-active = actif
admin-state-disabled = désactivé
admin-2fa-on = activée
admin-2fa-off = désactivée
admin-last-sign-in = Dernière connexion
admin-never = jamais
admin-sessions = Sessions
admin-sessions-none = Aucune session active.
admin-session-created = Début (UTC)
admin-session-seen = Dernière activité (UTC)
admin-client-ip = IP du client
admin-user-agent = Navigateur
admin-session-end = Fermer
admin-sessions-end-all = Fermer toutes les sessions
admin-level-pending = en attente du second facteur

admin-no-user-title = Utilisateur introuvable
admin-no-user-text = Aucun utilisateur ne porte ce nom. Il a peut-être été supprimé.

admin-profile-heading = Profil
admin-profile-submit = Enregistrer le profil
admin-profile-invalid = Un nom ou une adresse e-mail compte au plus 256 caractères, sans saut de ligne.
admin-group-remove = Retirer
admin-group-add-label = Ajouter au groupe
admin-group-add-submit = Ajouter
admin-group-invalid = Un nom de groupe compte de 1 à 64 caractères, sans virgule ni espace.

admin-danger-heading = Accès au compte
admin-disable-text = La désactivation ferme immédiatement toutes les sessions de cet utilisateur ; il ne peut plus se connecter tant qu’il n’est pas réactivé.
admin-disable-submit = Désactiver l’utilisateur
admin-enable-submit = Réactiver l’utilisateur
admin-reset-text = La réinitialisation supprime l’authentificateur, les codes de récupération et les clés d'accès et ferme toutes les sessions ; l’utilisateur configure de nouveau la validation en deux étapes.
admin-reset-submit = Réinitialiser la validation en deux étapes
admin-delete-label = Pour supprimer cet utilisateur et tout ce qui lui appartient, saisissez le nom d’utilisateur ({ $username }) :
admin-delete-submit = Supprimer l’utilisateur
admin-delete-mismatch = Le nom d’utilisateur saisi ne correspond pas. Rien n’a été supprimé.

admin-refused-last-admin = C’est le dernier administrateur actif. Rien n’a été modifié : nommez d’abord un autre administrateur.
admin-refused-own-group = Vous ne pouvez pas retirer votre propre groupe d’administrateurs. Rien n’a été modifié : un autre administrateur peut le faire.
admin-unknown-action = Cette modification n’est pas comprise. Rien n’a été modifié.

admin-done-disabled = L’utilisateur est désactivé et déconnecté partout.
admin-done-enabled = L’utilisateur est réactivé.
admin-done-deleted = L’utilisateur est supprimé.
admin-done-profile = Le profil est enregistré.
admin-done-groups = Les groupes sont modifiés.
admin-done-reset = La validation en deux étapes est réinitialisée et l’utilisateur est déconnecté partout.
admin-done-sessions = Toutes les sessions de l’utilisateur sont fermées.
admin-done-session = La session est fermée.
admin-done-ban = Le blocage est levé.

admin-bans-title = Blocages
admin-bans-none = Personne n’est bloqué.
admin-ban-subject = Qui
admin-ban-kind = Type
admin-ban-ends = Fin (UTC)
admin-ban-until = jusqu’au { $time } UTC
admin-ban-lift = Lever le blocage
admin-ban-none = Aucun blocage n’est en vigueur à ce sujet. Rien n’a été modifié.
admin-ban-kind-user = tentatives de mot de passe d’un utilisateur
admin-ban-kind-2fa = tentatives de second facteur d’un utilisateur
admin-ban-kind-address = adresse du client
admin-ban-kind-network = réseau du client
admin-ban-kind-other = autre

admin-audit-title = Journal d’audit
admin-audit-event = Événement
admin-audit-any-event = tous
admin-audit-from = Du (UTC)
admin-audit-to = Au (UTC)
admin-audit-filter = Afficher
admin-audit-none = Aucun événement ne correspond.
admin-audit-time = Heure (UTC)
admin-audit-detail = Détail
admin-audit-bad-date = Les dates s’écrivent AAAA-MM-JJ, par exemple 2025-03-31.
admin-audit-bad-filter = Un nom d’utilisateur compte au plus 64 caractères, et l’événement est l’un de ceux de la liste.
admin-pages-label = Pages
admin-page-prev = Plus récents
admin-page-next = Plus anciens
admin-page-number = Page { $count }

## Invitations
admin-nav-invite = Inviter
admin-state-invited = invité, sans mot de passe pour l’instant
admin-invite-title = Inviter un utilisateur
admin-invite-intro = La personne reçoit un lien où elle choisit elle-même son mot de passe et configure la connexion à deux facteurs lorsqu’elle est exigée. Personne d’autre ne connaît le mot de passe.
admin-invite-name = Nom (facultatif)
admin-invite-email = Adresse e-mail (facultative)
admin-invite-groups = Groupes (facultatif, séparés par des espaces)
admin-invite-expires = Lien valable pendant (par exemple 72h ou 7d, 30d au plus)
admin-invite-submit = Créer le lien d’invitation
admin-invite-made = Envoyez ce lien à { $username }. Il ne fonctionne qu’une fois, jusqu’au { $time } UTC, et ne sera plus affiché.
admin-invite-bad-username = Un nom d’utilisateur compte de 1 à 64 lettres, chiffres, « . », « _ », « - » ou « @ ».
admin-invite-bad-expires = Indiquez la durée de validité du lien, entre une minute et 30 jours, par exemple 72h ou 7d.
admin-invite-taken = Cet utilisateur a déjà un mot de passe. Rien n’a été modifié.
admin-passkey-facts = pour { $rp }, ajoutée le { $created }
admin-passkey-used = dernière utilisation : { $last_used }
admin-done-passkey = La clé d'accès est retirée.
admin-passkey-gone = Cette clé d'accès n'existe plus.
