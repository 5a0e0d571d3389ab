# Invitations, mots de passe choisis par les personnes, et les sessions et le changement de mot de passe sur la page du compte.

## Invitations
unavailable-invite = Les invitations ne peuvent pas être utilisées pour le moment. Réessayez dans un instant.
invite-title = Choisissez votre mot de passe
invite-heading = Bienvenue sur { $title }
invite-intro = Vous avez été invité en tant que { $username }. Choisissez le mot de passe avec lequel vous vous connecterez.
invite-totp-next = Vous configurerez ensuite la connexion à deux facteurs avec une application d’authentification.
invite-submit = Enregistrer le mot de passe et continuer
invite-used-title = Invitation déjà utilisée
invite-used-text = Ce lien d’invitation a déjà été utilisé. Connectez-vous avec le mot de passe que vous avez choisi.
invite-expired-title = Invitation expirée
invite-expired-text = Ce lien d’invitation a expiré. Demandez-en un nouveau aux responsables de ce site.
invite-unknown-title = Invitation non valable
invite-unknown-text = Ce lien d’invitation n’est pas valable. Il a peut-être été remplacé par un plus récent ; adressez-vous aux responsables de ce site.

## Mots de passe choisis par les personnes
current-password-label = Mot de passe actuel
new-password-label = Nouveau mot de passe
confirm-password-label = Nouveau mot de passe, encore une fois
password-rules = Au moins 8 caractères. Ni un mot de passe courant, ni votre nom d’utilisateur.
password-too-short = Le mot de passe doit comporter au moins 8 caractères.
password-too-long = Ce mot de passe est trop long : 1024 octets au plus.
password-common = Ce mot de passe fait partie des plus utilisés, ceux que les attaquants essaient en premier. Choisissez-en un autre.
password-has-username = Le mot de passe ne doit être ni contenir votre nom d’utilisateur.
password-mismatch = Les deux mots de passe ne sont pas identiques.
password-missing = Remplissez tous les champs de mot de passe.
password-current-wrong = Votre mot de passe actuel n’est pas correct.

## Sessions sur la page du compte
device-unknown-browser = Navigateur inconnu
device-on = { $browser } sous { $system }
account-sessions-heading = Où vous êtes connecté
account-session-current = Ce navigateur
account-session-pending = En attente du second facteur
account-session-facts = { $ip } · connexion le { $signed_in } · dernière activité le { $last_active }
account-session-end = Fermer cette session
account-end-others = Me déconnecter partout ailleurs
account-session-ended = Cette session est fermée.
account-others-ended = Toutes les autres sessions sont fermées.

## Changement de mot de passe
account-password-heading = Changer le mot de passe
account-password-submit = Changer le mot de passe
account-password-changed = Votre mot de passe est changé. Toutes les autres sessions sont fermées.

## Navigateurs mémorisés
totp-remember-days = { $count ->
    [one] Mémoriser ce navigateur pendant 1 jour
   *[other] Mémoriser ce navigateur pendant { $count } jours
}
totp-remember-hours = { $count ->
    [one] Mémoriser ce navigateur pendant 1 heure
   *[other] Mémoriser ce navigateur pendant { $count } heures
}
account-browsers-heading = Navigateurs mémorisés
account-browsers-intro = Ces navigateurs se connectent sans le code à deux facteurs jusqu’à la date indiquée. Votre mot de passe est toujours demandé.
account-browser-facts = { $ip } · mémorisé le { $since } · jusqu’au { $until }
account-browser-forget = Oublier ce navigateur
account-browser-forgotten = Ce navigateur est oublié : il demandera de nouveau le code à deux facteurs.
