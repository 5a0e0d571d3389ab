# Las páginas del portal en español. Mismas claves que el catálogo en inglés.

language-name = Español
picker-label = Idioma

## Enlaces
link-account = Ir a su cuenta
link-sign-in = Ir a la página de inicio de sesión
link-try-again = Volver a intentarlo
link-reload = Volver al formulario

## Iniciar sesión
login-title = Iniciar sesión
login-heading = Iniciar sesión en { $title }
login-username = Nombre de usuario
login-password = Contraseña
login-submit = Iniciar sesión
login-signed-out = Ha cerrado la sesión.
login-wrong = Nombre de usuario o contraseña incorrectos.
login-missing = Introduzca su nombre de usuario y su contraseña.
login-too-long = Es más largo que cualquier nombre de usuario o contraseña admitidos aquí.
login-expired = El formulario ha caducado. Vuelva a introducir su contraseña.

## Demasiados intentos
banned-title = Demasiados intentos
banned-text = { $minutes ->
    [one] Ha habido demasiados intentos fallidos. Vuelva a intentarlo dentro de 1 minuto, a las { $time } UTC.
   *[other] Ha habido demasiados intentos fallidos. Vuelva a intentarlo dentro de { $minutes } minutos, a las { $time } UTC.
}
banned-advice = Espere hasta entonces o pida a los responsables de este sitio que levanten el bloqueo.

## Código de verificación
totp-title = Código de verificación
totp-heading = Introduzca su código
totp-intro = Abra su aplicación de autenticación e introduzca el código de { $digits } dígitos de { $issuer } ({ $username }).
totp-code = Código
totp-submit = Verificar
totp-lost = ¿Ha perdido su dispositivo? Use un código de recuperación
totp-cancel = Cancelar y cerrar sesión
totp-missing = Introduzca el código que muestra la aplicación.
totp-replayed = Ese código ya se ha usado. Espere al siguiente.
totp-wrong = Ese código no es correcto. Compruebe la hora de su dispositivo y vuelva a intentarlo.

## Código de recuperación al iniciar sesión
recovery-title = Código de recuperación
recovery-heading = Usar un código de recuperación
recovery-intro = Introduzca uno de los códigos de recuperación que guardó al configurar la verificación en dos pasos ({ $username }). Cada código sirve una sola vez.
recovery-code = Código de recuperación
recovery-placeholder = XXXX-XXXX-XXXX-XXXX
recovery-submit = Continuar
recovery-use-app = Usar la aplicación de autenticación
recovery-missing = Introduzca uno de sus códigos de recuperación.
recovery-wrong = Ese código de recuperación no es válido o ya se ha usado.

## Sesión iniciada con un código de recuperación
recovered-title = Sesión iniciada con un código de recuperación
recovered-heading = Ha iniciado sesión
recovered-used = Ese código de recuperación ya está usado.
recovered-remaining = { $count ->
    [0] No le queda ningún código de recuperación.
    [one] Le queda 1 código de recuperación.
   *[other] Le quedan { $count } códigos de recuperación.
}
recovered-continue = Continuar
recovered-setup = Configurar un nuevo autenticador
recovered-lost = Si ha perdido su autenticador, configure uno nuevo: se le pedirá un código de recuperación más y recibirá un nuevo juego de códigos.
recovered-regen-summary = ¿Aún tiene su autenticador? Obtenga un nuevo juego de códigos de recuperación
current-code-label = Código actual de su autenticador
regen-submit = Sustituir todos los códigos de recuperación

## Configurar un autenticador
setup-title = Configurar la verificación en dos pasos
setup-heading = Configure su autenticador
setup-forced = Esta página requiere la verificación en dos pasos. Configúrela una vez y volverá aquí directamente.
setup-qr-label = Código QR para escanear con su aplicación de autenticación
setup-scan = Escanee este código QR con Google Authenticator, Aegis, 1Password, Bitwarden o cualquier aplicación TOTP.
setup-key = O escriba esta clave a mano:
setup-link-intro = ¿Está en este teléfono? Abra el enlace de configuración con su aplicación de autenticación:
setup-enter = Introduzca el código de { $digits } dígitos que muestra la aplicación.
setup-current = Código de su autenticador actual o un código de recuperación
setup-code = Código del nuevo autenticador
setup-submit = Activar la verificación en dos pasos
setup-missing = Introduzca el código que muestra el nuevo autenticador.
setup-expired = Esa configuración ha caducado o se inició en otro lugar. Escanee este nuevo código y vuelva a intentarlo.
setup-current-wrong = El código de su autenticador actual (o el código de recuperación) no es correcto.
move-title = Cambiar a un nuevo autenticador
move-intro = La verificación en dos pasos sigue activa durante el cambio. Cuando lo confirme, su autenticador actual y sus códigos de recuperación dejarán de funcionar y recibirá códigos de recuperación nuevos.
move-submit = Cambiar al nuevo autenticador
move-cancel = Cancelar y conservar el autenticador actual

## Códigos de recuperación mostrados una sola vez
codes-title = Sus códigos de recuperación
codes-heading = Guarde sus códigos de recuperación
codes-enabled = La verificación en dos pasos está activada.
codes-moved = Ha cambiado a su nuevo autenticador. El anterior y sus códigos de recuperación antiguos ya no funcionan.
codes-replaced = Sus códigos de recuperación antiguos ya no funcionan.
codes-intro = Si pierde su autenticador, cada uno de estos códigos le permite iniciar sesión una vez.
codes-once = Es la única vez que se muestran.
codes-keep = Guárdelos en un lugar seguro y lejos de su teléfono: en un gestor de contraseñas, o impresos y bien guardados.
codes-download = Descargar como texto
codes-print = Para imprimirlos, use la orden de impresión de su navegador.
codes-done = Ya los he guardado, continuar
codes-file-heading = Códigos de recuperación de { $issuer }
codes-file-account = Cuenta: { $username }
codes-file-created = Creados: { $date }
codes-file-use = Cada código le permite iniciar sesión una vez si pierde su autenticador.
codes-file-keep = Guarde este archivo en un lugar seguro, lejos de su teléfono.
codes-shown-title = Códigos de recuperación ya mostrados
codes-shown-text = Estos códigos de recuperación ya se mostraron, y nunca se muestran dos veces.
codes-shown-more = Si no los guardó, genere un juego nuevo: los códigos mostrados antes dejarán de funcionar.
codes-shown-new = Generar un nuevo juego de códigos de recuperación

## Cuenta
account-title = Su cuenta
account-sign-out = Cerrar sesión
account-username = Nombre de usuario
account-name = Nombre
account-email = Correo electrónico
account-groups = Grupos
account-groups-none = ninguno
account-level = Sesión iniciada con
account-level-one = contraseña
account-level-two = contraseña y segundo factor
account-2fa = Verificación en dos pasos
account-2fa-on = activada
account-2fa-pending = configuración pendiente
account-2fa-off = desactivada
account-codes-left = Códigos de recuperación restantes
account-codes-low = { $count ->
    [0] No le queda ningún código de recuperación: genere un juego nuevo más abajo.
    [one] Solo le queda 1 código de recuperación: genere un juego nuevo más abajo.
   *[other] Solo le quedan { $count } códigos de recuperación: genere un juego nuevo más abajo.
}
account-totp-disabled = La verificación en dos pasos está desactivada.
account-move = Cambiar a un nuevo autenticador
account-setup = Configurar la verificación en dos pasos
account-setup-finish = Terminar de configurar la verificación en dos pasos
account-codes-heading = Códigos de recuperación
account-regen-submit = Generar un juego nuevo
confirm-regen = Entiendo que mis códigos de recuperación actuales dejarán de funcionar.
account-disable-heading = Desactivar la verificación en dos pasos
account-disable-code = Código actual o un código de recuperación
account-disable-submit = Desactivar la verificación en dos pasos
confirm-disable = Entiendo que, a partir de entonces, para iniciar sesión bastará con mi contraseña.

## Cambiar un segundo factor
code-needed-title = Se necesita un código
code-refused-title = Código no aceptado
disable-missing = Introduzca un código actual o un código de recuperación para desactivar la verificación en dos pasos.
disable-refused = Ese código no es correcto; la verificación en dos pasos sigue activada.
regen-missing = Introduzca el código actual de su autenticador.
regen-refused = Ese código no es correcto; sus códigos de recuperación no han cambiado.
regen-off-title = La verificación en dos pasos está desactivada
regen-off-text = Los códigos de recuperación acompañan a la verificación en dos pasos: configúrela primero.

## Errores
unavailable-title = No disponible
unavailable-sign-in = El inicio de sesión no está disponible en este momento. Vuelva a intentarlo en breve.
unavailable-code = Ahora mismo no se pueden comprobar los códigos. Vuelva a intentarlo en breve.
unavailable-setup = La configuración de la verificación en dos pasos no está disponible en este momento. Vuelva a intentarlo en breve.
unavailable-account = Su cuenta no está disponible en este momento. Vuelva a intentarlo en breve.
unavailable-sessions = Ahora no se pueden comprobar las sesiones iniciadas. Inténtelo de nuevo en unos momentos.
not-form-title = Formulario no admitido
not-form-text = Los formularios deben enviarse como application/x-www-form-urlencoded.
bad-request-title = Solicitud incorrecta
bad-encoding-text = El formulario no estaba en UTF-8 válido.
foreign-title = Formulario rechazado
foreign-text = Este formulario no se envió desde este sitio, por lo que no se ha aceptado.
expired-title = Formulario caducado
expired-text = El formulario caducó antes de enviarse. Vuelva a abrir la página e inténtelo de nuevo.
not-found-title = No encontrado
not-found-text = Esta página no existe.
method-title = Método no permitido
method-no-forms = Esta página no acepta formularios.
method-forms-only = Esta página solo acepta formularios.
method-other = Esta página no acepta ese método.
no-host-text = La solicitud no indica ningún host.
no-app-text = No se sirve ninguna aplicación en esta dirección.
bad-path-text = Esa ruta no está permitida.
forbidden-title = Acceso denegado
forbidden-text = No tiene acceso a esta página.
too-large-title = Demasiado grande
too-large-text = Ese formulario es más grande que cualquier formulario de este sitio.
unreadable-form-text = No se ha podido leer el formulario.
unreadable-request-text = No se ha podido leer la solicitud.
bad-gateway-title = Puerta de enlace incorrecta
bad-gateway-text = La aplicación no responde. Vuelva a intentarlo en un momento.
timeout-title = Tiempo de espera agotado
timeout-text = La aplicación no respondió a tiempo. Vuelva a intentarlo en un momento.
headers-title = Cabeceras demasiado grandes
headers-text = Las cabeceras de la solicitud son demasiado grandes.
headers-limit-text = Las cabeceras de la solicitud superan lo que admite esta puerta de enlace.
uri-too-long-title = Dirección demasiado larga
uri-too-long-text = La dirección es más larga de lo que admite esta puerta de enlace.
length-twice-text = La solicitud indica la longitud de su cuerpo más de una vez.
error-title = Error
error-text = Algo ha fallado.
