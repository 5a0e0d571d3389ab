# Chaves de acesso: adicioná-las na página da conta, usá-las como segundo fator ou para entrar sozinhas, e confirmar de novo o segundo fator.

## Confirmar de novo
again-title = Confirme que é você
again-intro = Esta alteração precisa de um segundo fator confirmado há poucos minutos. Confirme e você voltará em seguida.
again-cancel = Voltar para sua conta

## Na etapa do segundo fator
passkey-challenge-heading = Confirme com sua chave de acesso
passkey-challenge-intro = Use a chave de acesso ou a chave de segurança que você adicionou para { $username }.
passkey-or-code = Ou digite um código
passkey-use = Usar minha chave de acesso
passkey-unavailable-here = As chaves de acesso não funcionam neste endereço. Abra o site pelo nome de sempre para usá-las.
passkey-elsewhere = Suas chaves de acesso foram criadas para { $places }. Abra esse endereço para usá-las ou use outra forma.
passkey-needs-script = As chaves de acesso precisam de JavaScript no seu navegador. Ative-o para usar uma aqui.
passkey-browser-failed = Seu navegador não concluiu a operação com a chave de acesso. Tente de novo ou use outra forma.
passkey-refused = Essa chave de acesso não foi aceita. Tente de novo ou use outra forma.

## Entrar com uma chave de acesso
passkey-login-heading = Sem senha?
passkey-sign-in = Entrar com uma chave de acesso

## Adicionar uma chave de acesso
passkey-instead-text = Prefere uma chave de acesso, neste dispositivo ou em uma chave de segurança?
passkey-instead-link = Adicionar uma chave de acesso em vez disso
passkey-name-label = Nome da chave de acesso
passkey-add-submit = Adicionar uma chave de acesso
passkey-new-title = Adicionar uma chave de acesso
passkey-new-intro = Esta chave de acesso vai se chamar “{ $name }”.
passkey-new-how = Aperte o botão e siga o que o navegador pedir: toque na sua chave de segurança ou desbloqueie com sua digital, seu rosto ou um PIN.
passkey-create = Criar a chave de acesso
passkey-new-cancel = Cancelar
passkey-expired = Essa tentativa expirou ou veio de outra página. Tente de novo.
passkey-not-added = A resposta do seu navegador não foi aceita, então nenhuma chave de acesso foi adicionada. Tente de novo.
passkey-known = Esta chave de acesso já está registrada. Cada chave de acesso pertence a uma única conta.

## As chaves de acesso na página da conta
passkeys-heading = Chaves de acesso
passkeys-intro = Chaves de acesso e chaves de segurança fazem você entrar sem digitar um código. Cada uma pode ser renomeada ou removida.
passkey-facts = Adicionada em { $created } · último uso: { $last_used }
passkey-never-used = nunca
passkey-rename-label = Novo nome
passkey-rename-submit = Renomear
passkey-remove-submit = Remover
passkey-name-missing = Dê um nome à chave de acesso.
account-setup-app = Adicionar também um aplicativo autenticador
account-passkey-added = A chave de acesso foi adicionada.
account-passkey-renamed = A chave de acesso foi renomeada.
account-passkey-removed = A chave de acesso foi removida.

## Recovery codes with passkeys
codes-passkey-on = Sua chave de acesso foi adicionada. Se um dia perdê-la, um código de recuperação permite entrar.
passkey-lost = Perdeu sua chave de acesso? Use um código de recuperação
recovery-use-passkey = Usar sua chave de acesso
passkey-codes-text = Os códigos de recuperação permitem entrar se você perder suas chaves de acesso. Os novos substituem os antigos.
account-totp-disabled-passkey = O aplicativo autenticador foi removido. Suas chaves de acesso continuam sendo seu segundo fator.
confirm-disable-passkey = Entendo que o aplicativo deixará de funcionar; minhas chaves de acesso continuam.
recovered-add-passkey = Adicionar uma nova chave de acesso
recovered-lost-passkey = Se você perdeu sua chave de acesso, adicione uma nova agora e remova a perdida na página da sua conta.
