# Les pages du portail en français. Mêmes clés que le catalogue anglais.

language-name = Français
picker-label = Langue

## Liens
link-account = Aller à votre compte
link-sign-in = Aller à la page de connexion
link-try-again = Réessayer
link-reload = Revenir au formulaire

## Connexion
login-title = Connexion
login-heading = Connexion à { $title }
login-username = Nom d’utilisateur
login-password = Mot de passe
login-submit = Se connecter
login-signed-out = Vous êtes déconnecté.
login-wrong = Nom d’utilisateur ou mot de passe incorrect.
login-missing = Saisissez votre nom d’utilisateur et votre mot de passe.
login-too-long = C’est plus long que tout nom d’utilisateur ou mot de passe accepté ici.
login-expired = Le formulaire a expiré. Saisissez de nouveau votre mot de passe.

## Trop de tentatives
banned-title = Trop de tentatives
banned-text = { $minutes ->
    [one] Trop de tentatives ont échoué. Réessayez dans 1 minute, à { $time } UTC.
   *[other] Trop de tentatives ont échoué. Réessayez dans { $minutes } minutes, à { $time } UTC.
}
banned-advice = Patientez jusque-là, ou demandez aux responsables de ce site de lever le blocage.

## Code de vérification
totp-title = Code de vérification
totp-heading = Saisissez votre code
totp-intro = Ouvrez votre application d’authentification et saisissez le code à { $digits } chiffres de { $issuer } ({ $username }).
totp-code = Code
totp-submit = Vérifier
totp-lost = Appareil perdu ? Utilisez un code de récupération
totp-cancel = Annuler et se déconnecter
totp-missing = Saisissez le code affiché par l’application.
totp-replayed = Ce code a déjà été utilisé. Attendez le suivant.
totp-wrong = Ce code n’est pas correct. Vérifiez l’heure de votre appareil et réessayez.

## Code de récupération à la connexion
recovery-title = Code de récupération
recovery-heading = Utiliser un code de récupération
recovery-intro = Saisissez l’un des codes de récupération que vous avez conservés lors de la configuration de la validation en deux étapes ({ $username }). Chaque code ne sert qu’une fois.
recovery-code = Code de récupération
recovery-placeholder = XXXX-XXXX-XXXX-XXXX
recovery-submit = Continuer
recovery-use-app = Utiliser plutôt l’application d’authentification
recovery-missing = Saisissez l’un de vos codes de récupération.
recovery-wrong = Ce code de récupération n’est pas valide, ou il a déjà été utilisé.

## Connecté avec un code de récupération
recovered-title = Connexion avec un code de récupération
recovered-heading = Vous êtes connecté
recovered-used = Ce code de récupération est désormais utilisé.
recovered-remaining = { $count ->
    [0] Il ne vous reste aucun code de récupération.
    [one] Il vous reste 1 code de récupération.
   *[other] Il vous reste { $count } codes de récupération.
}
recovered-continue = Continuer
recovered-setup = Configurer une nouvelle application d’authentification
recovered-lost = Si vous avez perdu votre application d’authentification, configurez-en une nouvelle : un autre code de récupération vous sera demandé, et vous recevrez une nouvelle série de codes.
recovered-regen-summary = Vous avez encore votre application d’authentification ? Obtenez une nouvelle série de codes de récupération
current-code-label = Code actuel de votre application d’authentification
regen-submit = Remplacer tous les codes de récupération

## Configuration d’une application d’authentification
setup-title = Configurer la validation en deux étapes
setup-heading = Configurez votre application d’authentification
setup-forced = Cette page exige la validation en deux étapes. Configurez-la une fois et vous reviendrez directement ici.
setup-qr-label = Code QR à scanner avec votre application d’authentification
setup-scan = Scannez ce code QR avec Google Authenticator, Aegis, 1Password, Bitwarden ou toute autre application TOTP.
setup-key = Ou saisissez cette clé à la main :
setup-link-intro = Vous êtes sur ce téléphone ? Ouvrez le lien de configuration avec votre application d’authentification :
setup-enter = Saisissez le code à { $digits } chiffres affiché par l’application.
setup-current = Code de votre application d’authentification actuelle, ou un code de récupération
setup-code = Code de la nouvelle application d’authentification
setup-submit = Activer la validation en deux étapes
setup-missing = Saisissez le code affiché par la nouvelle application d’authentification.
setup-expired = Cette configuration a expiré ou a été commencée ailleurs. Scannez ce nouveau code et réessayez.
setup-current-wrong = Le code de votre application d’authentification actuelle (ou le code de récupération) n’est pas correct.
move-title = Passer à une nouvelle application d’authentification
move-intro = La validation en deux étapes reste active pendant le changement. Dès que vous confirmez, votre application actuelle et vos codes de récupération cessent de fonctionner, et vous recevez de nouveaux codes de récupération.
move-submit = Passer à la nouvelle application
move-cancel = Annuler et garder l’application actuelle

## Codes de récupération affichés une seule fois
codes-title = Vos codes de récupération
codes-heading = Conservez vos codes de récupération
codes-enabled = La validation en deux étapes est activée.
codes-moved = Vous utilisez désormais votre nouvelle application d’authentification. L’ancienne et vos anciens codes de récupération ne fonctionnent plus.
codes-replaced = Vos anciens codes de récupération ne fonctionnent plus.
codes-intro = Si vous perdez votre application d’authentification, chacun de ces codes vous permet de vous connecter une fois.
codes-once = C’est la seule fois qu’ils sont affichés.
codes-keep = Conservez-les en lieu sûr, à l’écart de votre téléphone : dans un gestionnaire de mots de passe, ou imprimés et rangés.
codes-download = Télécharger au format texte
codes-print = Pour les imprimer, utilisez la commande d’impression de votre navigateur.
codes-done = Je les ai conservés, continuer
codes-file-heading = Codes de récupération { $issuer }
codes-file-account = Compte : { $username }
codes-file-created = Créés le : { $date }
codes-file-use = Chaque code vous permet de vous connecter une fois si vous perdez votre application d’authentification.
codes-file-keep = Conservez ce fichier en lieu sûr, à l’écart de votre téléphone.
codes-shown-title = Codes de récupération déjà affichés
codes-shown-text = Ces codes de récupération ont déjà été affichés, et ils ne le sont jamais deux fois.
codes-shown-more = Si vous ne les avez pas conservés, créez une nouvelle série : les codes affichés auparavant cesseront alors de fonctionner.
codes-shown-new = Créer une nouvelle série de codes de récupération

## Compte
account-title = Votre compte
account-sign-out = Se déconnecter
account-username = Nom d’utilisateur
account-name = Nom
account-email = Adresse e-mail
account-groups = Groupes
account-groups-none = aucun
account-level = Connecté avec
account-level-one = mot de passe
account-level-two = mot de passe et second facteur
account-2fa = Validation en deux étapes
account-2fa-on = activée
account-2fa-pending = configuration en attente
account-2fa-off = désactivée
account-codes-left = Codes de récupération restants
account-codes-low = { $count ->
    [0] Il ne vous reste aucun code de récupération : créez une nouvelle série ci-dessous.
    [one] Il ne vous reste qu’un seul code de récupération : créez une nouvelle série ci-dessous.
   *[other] Il ne vous reste que { $count } codes de récupération : créez une nouvelle série ci-dessous.
}
account-totp-disabled = La validation en deux étapes est désactivée.
account-move = Passer à une nouvelle application d’authentification
account-setup = Configurer la validation en deux étapes
account-setup-finish = Terminer la configuration de la validation en deux étapes
account-codes-heading = Codes de récupération
account-regen-submit = Créer une nouvelle série
confirm-regen = Je comprends que mes codes de récupération actuels cesseront de fonctionner.
account-disable-heading = Désactiver la validation en deux étapes
account-disable-code = Code actuel ou code de récupération
account-disable-submit = Désactiver la validation en deux étapes
confirm-disable = Je comprends que la connexion ne demandera plus que mon mot de passe.

## Modifier un second facteur
code-needed-title = Code requis
code-refused-title = Code refusé
disable-missing = Saisissez un code actuel ou un code de récupération pour désactiver la validation en deux étapes.
disable-refused = Ce code n’est pas correct ; la validation en deux étapes reste activée.
regen-missing = Saisissez le code actuel de votre application d’authentification.
regen-refused = Ce code n’est pas correct ; vos codes de récupération n’ont pas changé.
regen-off-title = La validation en deux étapes est désactivée
regen-off-text = Les codes de récupération vont de pair avec la validation en deux étapes : configurez-la d’abord.

## Erreurs
unavailable-title = Indisponible
unavailable-sign-in = La connexion est momentanément indisponible. Réessayez dans un instant.
unavailable-code = Les codes ne peuvent pas être vérifiés pour le moment. Réessayez dans un instant.
unavailable-setup = La configuration de la validation en deux étapes est momentanément indisponible. Réessayez dans un instant.
unavailable-account = Votre compte est momentanément indisponible. Réessayez dans un instant.
unavailable-sessions = Les sessions ouvertes ne peuvent pas être vérifiées pour le moment. Réessayez dans un instant.
not-form-title = Formulaire non pris en charge
not-form-text = Les formulaires doivent être envoyés au format application/x-www-form-urlencoded.
bad-request-title = Requête incorrecte
bad-encoding-text = Le formulaire n’était pas en UTF-8 valide.
foreign-title = Formulaire refusé
foreign-text = Ce formulaire n’a pas été envoyé depuis ce site ; il n’a donc pas été accepté.
expired-title = Formulaire expiré
expired-text = Le formulaire a expiré avant d’être envoyé. Rouvrez la page et réessayez.
not-found-title = Page introuvable
not-found-text = Cette page n’existe pas.
method-title = Méthode non autorisée
method-no-forms = Cette page n’accepte pas de formulaires.
method-forms-only = Cette page n’accepte que des formulaires.
method-other = Cette page n’accepte pas cette méthode.
no-host-text = La requête n’indique aucun hôte.
no-app-text = Aucune application n’est servie à cette adresse.
bad-path-text = Ce chemin n’est pas autorisé.
forbidden-title = Accès refusé
forbidden-text = Vous n’avez pas accès à cette page.
too-large-title = Trop volumineux
too-large-text = Ce formulaire est plus volumineux que tout formulaire de ce site.
unreadable-form-text = Le formulaire n’a pas pu être lu.
unreadable-request-text = La requête n’a pas pu être lue.
bad-gateway-title = Passerelle incorrecte
bad-gateway-text = L’application ne répond pas. Réessayez dans un instant.
timeout-title = Délai dépassé
timeout-text = L’application n’a pas répondu à temps. Réessayez dans un instant.
headers-title = En-têtes trop volumineux
headers-text = Les en-têtes de la requête sont trop volumineux.
headers-limit-text = Les en-têtes de la requête dépassent ce que cette passerelle accepte.
uri-too-long-title = Adresse trop longue
uri-too-long-text = L’adresse est plus longue que ce que cette passerelle accepte.
length-twice-text = La requête indique plusieurs fois la longueur de son corps.
error-title = Erreur
error-text = Une erreur s’est produite.
