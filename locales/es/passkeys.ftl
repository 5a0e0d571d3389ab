# Llaves de acceso: añadirlas desde la página de la cuenta, usarlas como segundo factor o para iniciar sesión solas, y confirmar de nuevo el segundo factor.

## Confirmar de nuevo
again-title = Confirme que es usted
again-intro = Este cambio necesita un segundo factor confirmado hace pocos minutos. Confírmelo y volverá enseguida.
again-cancel = Volver a su cuenta

## En el paso del segundo factor
passkey-challenge-heading = Confirme con su llave de acceso
passkey-challenge-intro = Use la llave de acceso o la llave de seguridad que añadió para { $username }.
passkey-or-code = O introduzca un código
passkey-use = Usar mi llave de acceso
passkey-unavailable-here = Las llaves de acceso no funcionan en esta dirección. Abra el sitio con su nombre habitual para usarlas.
passkey-elsewhere = Sus llaves de acceso se crearon para { $places }. Abra esa dirección para usarlas o use otro método.
passkey-needs-script = Las llaves de acceso necesitan JavaScript en su navegador. Actívelo para usar una aquí.
passkey-browser-failed = Su navegador no terminó la operación con la llave de acceso. Inténtelo de nuevo o use otro método.
passkey-refused = Esa llave de acceso no fue aceptada. Inténtelo de nuevo o use otro método.

## Iniciar sesión con una llave de acceso
passkey-login-heading = ¿Sin contraseña?
passkey-sign-in = Iniciar sesión con una llave de acceso

## Añadir una llave de acceso
passkey-instead-text = ¿Prefiere una llave de acceso, en este dispositivo o en una llave de seguridad?
passkey-instead-link = Añadir una llave de acceso en su lugar
passkey-name-label = Nombre de la llave de acceso
passkey-add-submit = Añadir una llave de acceso
passkey-new-title = Añadir una llave de acceso
passkey-new-intro = Esta llave de acceso se llamará «{ $name }».
passkey-new-how = Pulse el botón y siga lo que le pida su navegador: toque su llave de seguridad o desbloquee con su huella, su cara o un PIN.
passkey-create = Crear la llave de acceso
passkey-new-cancel = Cancelar
passkey-expired = Ese intento caducó o venía de otra página. Inténtelo de nuevo.
passkey-not-added = La respuesta de su navegador no fue aceptada, así que no se añadió ninguna llave de acceso. Inténtelo de nuevo.
passkey-known = Esta llave de acceso ya está registrada. Cada llave de acceso pertenece a una sola cuenta.

## Las llaves de acceso en la página de la cuenta
passkeys-heading = Llaves de acceso
passkeys-intro = Las llaves de acceso y las llaves de seguridad le permiten entrar sin escribir un código. Cada una se puede renombrar o quitar.
passkey-facts = Añadida el { $created } · último uso: { $last_used }
passkey-never-used = nunca
passkey-rename-label = Nuevo nombre
passkey-rename-submit = Renombrar
passkey-remove-submit = Quitar
passkey-name-missing = Dé un nombre a la llave de acceso.
account-setup-app = Añadir también una aplicación de autenticación
account-passkey-added = La llave de acceso se ha añadido.
account-passkey-renamed = La llave de acceso se ha renombrado.
account-passkey-removed = La llave de acceso se ha quitado.

## Recovery codes with passkeys
codes-passkey-on = Su llave de acceso se ha añadido. Si alguna vez la pierde, un código de recuperación le permite iniciar sesión.
passkey-lost = ¿Perdió su llave de acceso? Use un código de recuperación
recovery-use-passkey = Usar su llave de acceso
passkey-codes-text = Los códigos de recuperación le permiten entrar si pierde sus llaves de acceso. Los nuevos sustituyen a los anteriores.
account-totp-disabled-passkey = La aplicación de autenticación se ha quitado. Sus llaves de acceso siguen siendo su segundo factor.
confirm-disable-passkey = Entiendo que la aplicación dejará de funcionar; mis llaves de acceso se mantienen.
recovered-add-passkey = Añadir una nueva llave de acceso
recovered-lost-passkey = Si perdió su llave de acceso, añada una nueva ahora y quite la perdida en la página de su cuenta.
