## El área de administración: usuarios, bloqueos y el registro de auditoría, para miembros de los grupos de administradores.

admin-link-from-account = Administración
admin-nav-label = Administración
admin-nav-users = Usuarios
admin-nav-bans = Bloqueos
admin-nav-audit = Registro de auditoría

admin-forbidden-title = Solo administradores
admin-forbidden-text = Esta parte del sitio es para administradores. Su cuenta no está en un grupo de administradores.

admin-reauth-title = Confirme que es usted
admin-reauth-text = Los cambios en la administración requieren un segundo factor reciente. Introduzca el código actual de su aplicación de autenticación para continuar.
admin-reauth-submit = Confirmar
admin-reauth-who = Ha iniciado sesión como { $username }.
admin-reauth-text-passkey = Los cambios en la administración necesitan un segundo factor reciente. Confirme con su llave de acceso para continuar.
admin-reauth-passkey = Confirmar con una llave de acceso

admin-users-title = Usuarios
admin-search-label = Buscar por nombre de usuario, nombre o correo electrónico
admin-search-submit = Buscar
admin-users-none = Ningún usuario coincide.
admin-state = Estado
admin-state-active = activo
admin-state-disabled = desactivado
admin-2fa-on = activada
admin-2fa-off = desactivada
admin-last-sign-in = Último inicio de sesión
admin-never = nunca
admin-sessions = Sesiones
admin-sessions-none = No hay sesiones activas.
admin-session-created = Inicio (UTC)
admin-session-seen = Última actividad (UTC)
admin-client-ip = IP del cliente
admin-user-agent = Navegador
admin-session-end = Cerrar
admin-sessions-end-all = Cerrar todas las sesiones
admin-level-pending = a la espera del segundo factor

admin-no-user-title = No existe ese usuario
admin-no-user-text = No hay ningún usuario con ese nombre. Puede que se haya eliminado.

admin-profile-heading = Perfil
admin-profile-submit = Guardar perfil
admin-profile-invalid = Un nombre o correo electrónico puede tener como máximo 256 caracteres, sin saltos de línea.
admin-group-remove = Quitar
admin-group-add-label = Añadir al grupo
admin-group-add-submit = Añadir
admin-group-invalid = Un nombre de grupo tiene de 1 a 64 caracteres, sin comas ni espacios.

admin-danger-heading = Acceso a la cuenta
admin-disable-text = Desactivar cierra al instante todas las sesiones de este usuario; no podrá iniciar sesión hasta que se vuelva a activar.
admin-disable-submit = Desactivar usuario
admin-enable-submit = Activar usuario
admin-reset-text = Restablecer elimina el autenticador, los códigos de recuperación y las llaves de acceso y cierra todas las sesiones; el usuario vuelve a configurar la verificación en dos pasos.
admin-reset-submit = Restablecer la verificación en dos pasos
admin-delete-label = Para eliminar este usuario y todo lo suyo, escriba el nombre de usuario ({ $username }):
admin-delete-submit = Eliminar usuario
admin-delete-mismatch = El nombre de usuario escrito no coincide. No se ha eliminado nada.

admin-refused-last-admin = Es el último administrador activo. No se ha cambiado nada: primero haga administrador a otra persona.
admin-refused-own-group = No puede quitarse su propio grupo de administradores. No se ha cambiado nada: otro administrador puede hacerlo.
admin-unknown-action = No se entiende ese cambio. No se ha cambiado nada.

admin-done-disabled = El usuario está desactivado y se han cerrado todas sus sesiones.
admin-done-enabled = El usuario está activado.
admin-done-deleted = El usuario se ha eliminado.
admin-done-profile = El perfil se ha guardado.
admin-done-groups = Los grupos se han cambiado.
admin-done-reset = La verificación en dos pasos se ha restablecido y se han cerrado todas las sesiones del usuario.
admin-done-sessions = Se han cerrado todas las sesiones del usuario.
admin-done-session = La sesión se ha cerrado.
admin-done-ban = El bloqueo se ha levantado.

admin-bans-title = Bloqueos
admin-bans-none = No hay nadie bloqueado.
admin-ban-subject = Quién
admin-ban-kind = Tipo
admin-ban-ends = Termina (UTC)
admin-ban-until = hasta { $time } UTC
admin-ban-lift = Levantar bloqueo
admin-ban-none = No hay ningún bloqueo vigente sobre eso. No se ha cambiado nada.
admin-ban-kind-user = intentos de contraseña de un usuario
admin-ban-kind-2fa = intentos de segundo factor de un usuario
admin-ban-kind-address = dirección del cliente
admin-ban-kind-network = red del cliente
admin-ban-kind-other = otro

admin-audit-title = Registro de auditoría
admin-audit-event = Evento
admin-audit-any-event = cualquiera
admin-audit-from = Desde (UTC)
admin-audit-to = Hasta (UTC)
admin-audit-filter = Mostrar
admin-audit-none = Ningún evento coincide.
admin-audit-time = Hora (UTC)
admin-audit-detail = Detalle
admin-audit-bad-date = Las fechas se escriben AAAA-MM-DD, por ejemplo 2025-03-31.
admin-audit-bad-filter = Un nombre de usuario tiene como máximo 64 caracteres, y el evento es uno de la lista.
admin-pages-label = Páginas
admin-page-prev = Más recientes
admin-page-next = Más antiguos
admin-page-number = Página { $count }

## Invitaciones
admin-nav-invite = Invitar
admin-state-invited = invitado, aún sin contraseña
admin-invite-title = Invitar a un usuario
admin-invite-intro = La persona recibe un enlace donde elige su propia contraseña y configura la verificación en dos pasos cuando se le pida. Nadie más conoce la contraseña.
admin-invite-name = Nombre (opcional)
admin-invite-email = Correo electrónico (opcional)
admin-invite-groups = Grupos (opcional, separados por espacios)
admin-invite-expires = Enlace válido durante (por ejemplo 72h o 7d, 30d como máximo)
admin-invite-submit = Crear enlace de invitación
admin-invite-made = Envíe este enlace a { $username }. Funciona una sola vez, hasta el { $time } UTC, y no se volverá a mostrar.
admin-invite-bad-username = Un nombre de usuario tiene de 1 a 64 letras, dígitos, «.», «_», «-» o «@».
admin-invite-bad-expires = Indique cuánto tiempo es válido el enlace, entre un minuto y 30 días, por ejemplo 72h o 7d.
admin-invite-taken = Ese usuario ya tiene contraseña. No se ha cambiado nada.
admin-passkey-facts = para { $rp }, añadida el { $created }
admin-passkey-used = último uso: { $last_used }
admin-done-passkey = La llave de acceso se ha quitado.
admin-passkey-gone = Esa llave de acceso ya no existe.
