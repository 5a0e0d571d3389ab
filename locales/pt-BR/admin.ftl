## A área de administração: usuários, bloqueios e o registro de auditoria, para membros dos grupos de administradores.

admin-link-from-account = Administração
admin-nav-label = Administração
admin-nav-users = Usuários
admin-nav-bans = Bloqueios
admin-nav-audit = Registro de auditoria

admin-forbidden-title = Somente administradores
admin-forbidden-text = Esta parte do site é para administradores. Sua conta não está em um grupo de administradores.

admin-reauth-title = Confirme que é você
admin-reauth-text = Alterações na administração exigem um segundo fator recente. Digite o código atual do seu aplicativo autenticador para continuar.
admin-reauth-submit = Confirmar
admin-reauth-who = Você entrou como { $username }.
admin-reauth-text-passkey = Alterações na administração precisam de um segundo fator recente. Confirme com sua chave de acesso para continuar.
admin-reauth-passkey = Confirmar com uma chave de acesso

admin-users-title = Usuários
admin-search-label = Pesquisar por nome de usuário, nome ou e-mail
admin-search-submit = Pesquisar
admin-users-none = Nenhum usuário corresponde.
admin-state = Situação
admin-state-active = ativo
admin-state-disabled = desativado
admin-2fa-on = ativada
admin-2fa-off = desativada
admin-last-sign-in = Último acesso
admin-never = nunca
admin-sessions = Sessões
admin-sessions-none = Nenhuma sessão ativa.
admin-session-created = Início (UTC)
admin-session-seen = Última atividade (UTC)
admin-client-ip = IP do cliente
admin-user-agent = Navegador
admin-session-end = Encerrar
admin-sessions-end-all = Encerrar todas as sessões
admin-level-pending = aguardando o segundo fator

admin-no-user-title = Usuário inexistente
admin-no-user-text = Não há usuário com esse nome. Talvez ele tenha sido excluído.

admin-profile-heading = Perfil
admin-profile-submit = Salvar perfil
admin-profile-invalid = Um nome ou e-mail pode ter no máximo 256 caracteres, sem quebras de linha.
admin-group-remove = Remover
admin-group-add-label = Adicionar ao grupo
admin-group-add-submit = Adicionar
admin-group-invalid = Um nome de grupo tem de 1 a 64 caracteres, sem vírgulas nem espaços.

admin-danger-heading = Acesso à conta
admin-disable-text = Desativar encerra imediatamente todas as sessões deste usuário; ele não poderá entrar até ser reativado.
admin-disable-submit = Desativar usuário
admin-enable-submit = Reativar usuário
admin-reset-text = Redefinir remove o autenticador, os códigos de recuperação e as chaves de acesso e encerra todas as sessões; o usuário configura a verificação em duas etapas de novo.
admin-reset-submit = Redefinir a verificação em duas etapas
admin-delete-label = Para excluir este usuário e tudo o que é dele, digite o nome de usuário ({ $username }):
admin-delete-submit = Excluir usuário
admin-delete-mismatch = O nome de usuário digitado não corresponde. Nada foi excluído.

admin-refused-last-admin = Este é o último administrador ativo. Nada foi alterado: torne outra pessoa administradora primeiro.
admin-refused-own-group = Você não pode remover o seu próprio grupo de administradores. Nada foi alterado: outro administrador pode fazer isso.
admin-unknown-action = Essa alteração não foi entendida. Nada foi alterado.

admin-done-disabled = O usuário foi desativado e desconectado de todos os lugares.
admin-done-enabled = O usuário foi reativado.
admin-done-deleted = O usuário foi excluído.
admin-done-profile = O perfil foi salvo.
admin-done-groups = Os grupos foram alterados.
admin-done-reset = A verificação em duas etapas foi redefinida e o usuário foi desconectado de todos os lugares.
admin-done-sessions = Todas as sessões do usuário foram encerradas.
admin-done-session = A sessão foi encerrada.
admin-done-ban = O bloqueio foi suspenso.

admin-bans-title = Bloqueios
admin-bans-none = Ninguém está bloqueado.
admin-ban-subject = Quem
admin-ban-kind = Tipo
admin-ban-ends = Termina (UTC)
admin-ban-until = até { $time } UTC
admin-ban-lift = Suspender bloqueio
admin-ban-none = Não há bloqueio em vigor para isso. Nada foi alterado.
admin-ban-kind-user = tentativas de senha de um usuário
admin-ban-kind-2fa = tentativas de segundo fator de um usuário
admin-ban-kind-address = endereço do cliente
admin-ban-kind-network = rede do cliente
admin-ban-kind-other = outro

admin-audit-title = Registro de auditoria
admin-audit-event = Evento
admin-audit-any-event = qualquer
admin-audit-from = De (UTC)
admin-audit-to = Até (UTC)
admin-audit-filter = Mostrar
admin-audit-none = Nenhum evento corresponde.
admin-audit-time = Hora (UTC)
admin-audit-detail = Detalhe
admin-audit-bad-date = As datas são escritas AAAA-MM-DD, por exemplo 2025-03-31.
admin-audit-bad-filter = Um nome de usuário tem no máximo 64 caracteres, e o evento é um dos da lista.
admin-pages-label = Páginas
admin-page-prev = Mais recentes
admin-page-next = Mais antigos
admin-page-number = Página { $count }

## Convites
admin-nav-invite = Convidar
admin-state-invited = convidado, ainda sem senha
admin-invite-title = Convidar um usuário
admin-invite-intro = A pessoa recebe um link onde escolhe a própria senha e configura a verificação em duas etapas quando ela for exigida. Ninguém mais fica sabendo a senha.
admin-invite-name = Nome (opcional)
admin-invite-email = E-mail (opcional)
admin-invite-groups = Grupos (opcional, separados por espaços)
admin-invite-expires = Link válido por (por exemplo 72h ou 7d, no máximo 30d)
admin-invite-submit = Criar link de convite
admin-invite-made = Envie este link para { $username }. Ele funciona uma única vez, até { $time } UTC, e não será mostrado novamente.
admin-invite-bad-username = Um nome de usuário tem de 1 a 64 letras, dígitos, “.”, “_”, “-” ou “@”.
admin-invite-bad-expires = Informe por quanto tempo o link vale, entre um minuto e 30 dias, por exemplo 72h ou 7d.
admin-invite-taken = Esse usuário já tem uma senha. Nada foi alterado.
admin-passkey-facts = para { $rp }, adicionada em { $created }
admin-passkey-used = último uso: { $last_used }
admin-done-passkey = A chave de acesso foi removida.
admin-passkey-gone = Essa chave de acesso não existe mais.
