# Clés d'accès : les ajouter depuis la page du compte, s'en servir comme second facteur ou pour se connecter seules, et confirmer à nouveau le second facteur.

## Confirmer à nouveau
again-title = Confirmez que c'est bien vous
again-intro = Cette modification demande un second facteur confirmé il y a quelques minutes au plus. Confirmez-le et vous reviendrez aussitôt.
again-cancel = Retour à votre compte

## À l'étape du second facteur
passkey-challenge-heading = Confirmez avec votre clé d'accès
passkey-challenge-intro = Utilisez la clé d'accès ou la clé de sécurité ajoutée pour { $username }.
passkey-or-code = Ou saisissez un code
passkey-use = Utiliser ma clé d'accès
passkey-unavailable-here = Les clés d'accès ne fonctionnent pas à cette adresse. Ouvrez ce site sous son nom habituel pour les utiliser.
passkey-elsewhere = Vos clés d'accès ont été créées pour { $places }. Ouvrez cette adresse pour les utiliser, ou choisissez un autre moyen.
passkey-needs-script = Les clés d'accès demandent que JavaScript soit activé dans votre navigateur. Activez-le pour en utiliser une ici.
passkey-browser-failed = Votre navigateur n'a pas terminé l'opération avec la clé d'accès. Réessayez ou choisissez un autre moyen.
passkey-refused = Cette clé d'accès n'a pas été acceptée. Réessayez ou choisissez un autre moyen.

## Se connecter avec une clé d'accès
passkey-login-heading = Pas de mot de passe ?
passkey-sign-in = Se connecter avec une clé d'accès

## Ajouter une clé d'accès
passkey-instead-text = Vous préférez une clé d'accès, sur cet appareil ou une clé de sécurité ?
passkey-instead-link = Ajouter plutôt une clé d'accès
passkey-name-label = Nom de la clé d'accès
passkey-add-submit = Ajouter une clé d'accès
passkey-new-title = Ajouter une clé d'accès
passkey-new-intro = Cette clé d'accès s'appellera « { $name } ».
passkey-new-how = Appuyez sur le bouton, puis suivez ce que demande votre navigateur : touchez votre clé de sécurité, ou déverrouillez avec votre empreinte, votre visage ou un code PIN.
passkey-create = Créer la clé d'accès
passkey-new-cancel = Annuler
passkey-expired = Cette tentative a expiré ou venait d'une autre page. Réessayez.
passkey-not-added = La réponse de votre navigateur n'a pas été acceptée : aucune clé d'accès n'a été ajoutée. Réessayez.
passkey-known = Cette clé d'accès est déjà enregistrée. Chaque clé d'accès appartient à un seul compte.

## Les clés d'accès sur la page du compte
passkeys-heading = Clés d'accès
passkeys-intro = Les clés d'accès et les clés de sécurité vous connectent sans code à saisir. Chacune peut être renommée ou retirée.
passkey-facts = Ajoutée le { $created } · dernière utilisation : { $last_used }
passkey-never-used = jamais
passkey-rename-label = Nouveau nom
passkey-rename-submit = Renommer
passkey-remove-submit = Retirer
passkey-name-missing = Donnez un nom à la clé d'accès.
account-setup-app = Ajouter aussi une application d’authentification
account-passkey-added = La clé d'accès est ajoutée.
account-passkey-renamed = La clé d'accès est renommée.
account-passkey-removed = La clé d'accès est retirée.

## Recovery codes with passkeys
codes-passkey-on = Votre clé d'accès est ajoutée. Si vous la perdez, un code de récupération vous permet de vous connecter.
passkey-lost = Clé d'accès perdue ? Utilisez un code de récupération
recovery-use-passkey = Utiliser plutôt votre clé d'accès
passkey-codes-text = Les codes de récupération vous permettent d'entrer si vous perdez vos clés d'accès. De nouveaux codes remplacent les anciens.
account-totp-disabled-passkey = L'application d'authentification est retirée. Vos clés d'accès restent votre second facteur.
confirm-disable-passkey = Je comprends que l'application ne fonctionnera plus ; mes clés d'accès restent.
recovered-add-passkey = Ajouter une nouvelle clé d'accès
recovered-lost-passkey = Si vous avez perdu votre clé d'accès, ajoutez-en une nouvelle maintenant, puis retirez la clé perdue sur la page de votre compte.
