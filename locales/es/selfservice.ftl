# Invitaciones, contraseñas que eligen las personas, y las sesiones y el cambio de contraseña en la página de la cuenta.

## Invitaciones
unavailable-invite = Las invitaciones no se pueden usar ahora. Inténtelo de nuevo en unos instantes.
invite-title = Elija su contraseña
invite-heading = Le damos la bienvenida a { $title }
invite-intro = Ha recibido una invitación como { $username }. Elija la contraseña con la que iniciará sesión.
invite-totp-next = A continuación configurará la verificación en dos pasos con una aplicación de autenticación.
invite-submit = Guardar la contraseña y continuar
invite-used-title = Invitación ya usada
invite-used-text = Este enlace de invitación ya se ha usado. Inicie sesión con la contraseña que eligió.
invite-expired-title = Invitación caducada
invite-expired-text = Este enlace de invitación ha caducado. Pida uno nuevo a los responsables de este sitio.
invite-unknown-title = Invitación no válida
invite-unknown-text = Este enlace de invitación no es válido. Puede que lo haya sustituido otro más reciente; consulte a los responsables de este sitio.

## Contraseñas que eligen las personas
current-password-label = Contraseña actual
new-password-label = Contraseña nueva
confirm-password-label = Contraseña nueva otra vez
password-rules = Al menos 8 caracteres. Ni una contraseña de uso común ni su nombre de usuario.
password-too-short = La contraseña necesita al menos 8 caracteres.
password-too-long = Esa contraseña es demasiado larga: 1024 bytes como máximo.
password-common = Esa es una de las contraseñas más usadas, las primeras que prueban los atacantes. Elija otra.
password-has-username = La contraseña no puede ser ni contener su nombre de usuario.
password-mismatch = Las dos contraseñas no coinciden.
password-missing = Rellene todos los campos de contraseña.
password-current-wrong = Su contraseña actual no es correcta.

## Sesiones en la página de la cuenta
device-unknown-browser = Navegador desconocido
device-on = { $browser } en { $system }
account-sessions-heading = Dónde tiene la sesión iniciada
account-session-current = Este navegador
account-session-pending = A la espera del segundo factor
account-session-facts = { $ip } · inició sesión el { $signed_in } · última actividad el { $last_active }
account-session-end = Cerrar esta sesión
account-end-others = Cerrar sesión en todos los demás sitios
account-session-ended = Esa sesión se ha cerrado.
account-others-ended = Se han cerrado todas las demás sesiones.

## Cambio de contraseña
account-password-heading = Cambiar la contraseña
account-password-submit = Cambiar la contraseña
account-password-changed = Su contraseña ha cambiado. Se han cerrado todas las demás sesiones.

## Navegadores recordados
totp-remember-days = { $count ->
    [one] Recordar este navegador durante 1 día
   *[other] Recordar este navegador durante { $count } días
}
totp-remember-hours = { $count ->
    [one] Recordar este navegador durante 1 hora
   *[other] Recordar este navegador durante { $count } horas
}
account-browsers-heading = Navegadores recordados
account-browsers-intro = Estos navegadores inician sesión sin el código de verificación en dos pasos hasta la fecha indicada. Su contraseña se pide siempre.
account-browser-facts = { $ip } · recordado el { $since } · hasta el { $until }
account-browser-forget = Olvidar este navegador
account-browser-forgotten = Ese navegador se ha olvidado: volverá a pedir el código de verificación en dos pasos.
