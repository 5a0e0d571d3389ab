# Convites, senhas escolhidas pelas pessoas, e as sessões e a troca de senha na página da conta.

## Convites
unavailable-invite = Os convites não podem ser usados agora. Tente novamente em instantes.
invite-title = Escolha sua senha
invite-heading = Boas-vindas a { $title }
invite-intro = Você foi convidado como { $username }. Escolha a senha com que você vai entrar.
invite-totp-next = Em seguida, você vai configurar a verificação em duas etapas com um aplicativo autenticador.
invite-submit = Definir senha e continuar
invite-used-title = Convite já usado
invite-used-text = Este link de convite já foi usado. Entre com a senha que você escolheu.
invite-expired-title = Convite expirado
invite-expired-text = Este link de convite expirou. Peça um novo aos responsáveis por este site.
invite-unknown-title = Convite inválido
invite-unknown-text = Este link de convite não é válido. Talvez tenha sido substituído por um mais recente; fale com os responsáveis por este site.

## Senhas escolhidas pelas pessoas
current-password-label = Senha atual
new-password-label = Nova senha
confirm-password-label = Nova senha novamente
password-rules = Pelo menos 8 caracteres. Nem uma senha muito usada, nem o seu nome de usuário.
password-too-short = A senha precisa de pelo menos 8 caracteres.
password-too-long = Essa senha é longa demais: no máximo 1024 bytes.
password-common = Essa é uma das senhas mais usadas, que os atacantes tentam primeiro. Escolha outra.
password-has-username = A senha não pode ser nem conter o seu nome de usuário.
password-mismatch = As duas senhas não são iguais.
password-missing = Preencha todos os campos de senha.
password-current-wrong = A sua senha atual não está correta.

## Sessões na página da conta
device-unknown-browser = Navegador desconhecido
device-on = { $browser } no { $system }
account-sessions-heading = Onde você está conectado
account-session-current = Este navegador
account-session-pending = Aguardando a segunda etapa
account-session-facts = { $ip } · entrou em { $signed_in } · ativo pela última vez em { $last_active }
account-session-end = Encerrar esta sessão
account-end-others = Sair de todos os outros lugares
account-session-ended = Essa sessão foi encerrada.
account-others-ended = Todas as outras sessões foram encerradas.

## Troca de senha
account-password-heading = Alterar senha
account-password-submit = Alterar senha
account-password-changed = Sua senha foi alterada. Todas as outras sessões foram encerradas.

## Navegadores lembrados
totp-remember-days = { $count ->
    [one] Lembrar este navegador por 1 dia
   *[other] Lembrar este navegador por { $count } dias
}
totp-remember-hours = { $count ->
    [one] Lembrar este navegador por 1 hora
   *[other] Lembrar este navegador por { $count } horas
}
account-browsers-heading = Navegadores lembrados
account-browsers-intro = Estes navegadores entram sem o código de verificação em duas etapas até a data indicada. A sua senha é sempre pedida.
account-browser-facts = { $ip } · lembrado em { $since } · até { $until }
account-browser-forget = Esquecer este navegador
account-browser-forgotten = Esse navegador foi esquecido: ele vai pedir o código de verificação em duas etapas novamente.
