# As páginas do portal em português do Brasil. Mesmas chaves do catálogo em inglês.

language-name = Português (Brasil)
picker-label = Idioma

## Links
link-account = Ir para sua conta
link-sign-in = Ir para a página de entrada
link-try-again = Tentar novamente
link-reload = Voltar ao formulário

## Entrar
login-title = Entrar
login-heading = Entrar em { $title }
login-username = Nome de usuário
login-password = Senha
login-submit = Entrar
login-signed-out = Você saiu da sua conta.
login-wrong = Nome de usuário ou senha incorretos.
login-missing = Informe seu nome de usuário e sua senha.
login-too-long = Isso é mais longo do que qualquer nome de usuário ou senha aceitos aqui.
login-expired = O formulário expirou. Digite sua senha novamente.

## Tentativas demais
banned-title = Tentativas demais
banned-text = { $minutes ->
    [one] Houve tentativas malsucedidas demais. Tente novamente em 1 minuto, às { $time } UTC.
   *[other] Houve tentativas malsucedidas demais. Tente novamente em { $minutes } minutos, às { $time } UTC.
}
banned-advice = Aguarde até lá ou peça aos responsáveis por este site que removam o bloqueio.

## Código de dois fatores
totp-title = Código de verificação
totp-heading = Digite seu código
totp-intro = Abra seu aplicativo autenticador e digite o código de { $digits } dígitos de { $issuer } ({ $username }).
totp-code = Código
totp-submit = Verificar
totp-lost = Perdeu seu dispositivo? Use um código de recuperação
totp-cancel = Cancelar e sair
totp-missing = Digite o código exibido no aplicativo.
totp-replayed = Esse código já foi usado. Aguarde o próximo.
totp-wrong = Esse código não está correto. Verifique a hora do seu dispositivo e tente novamente.

## Código de recuperação na entrada
recovery-title = Código de recuperação
recovery-heading = Usar um código de recuperação
recovery-intro = Digite um dos códigos de recuperação que você guardou ao configurar a verificação em duas etapas ({ $username }). Cada código funciona uma única vez.
recovery-code = Código de recuperação
recovery-placeholder = XXXX-XXXX-XXXX-XXXX
recovery-submit = Continuar
recovery-use-app = Usar o aplicativo autenticador
recovery-missing = Digite um dos seus códigos de recuperação.
recovery-wrong = Esse código de recuperação não é válido ou já foi usado.

## Entrada com código de recuperação
recovered-title = Entrada com código de recuperação
recovered-heading = Você entrou
recovered-used = Esse código de recuperação já foi usado.
recovered-remaining = { $count ->
    [0] Não resta nenhum código de recuperação.
    [one] Resta 1 código de recuperação.
   *[other] Restam { $count } códigos de recuperação.
}
recovered-continue = Continuar
recovered-setup = Configurar um novo autenticador
recovered-lost = Se você perdeu seu autenticador, configure um novo: será pedido mais um código de recuperação, e você receberá um novo conjunto de códigos.
recovered-regen-summary = Ainda tem seu autenticador? Gere um novo conjunto de códigos de recuperação
current-code-label = Código atual do seu autenticador
regen-submit = Substituir todos os códigos de recuperação

## Configurar um autenticador
setup-title = Configurar a verificação em duas etapas
setup-heading = Configure seu autenticador
setup-forced = Esta página exige verificação em duas etapas. Configure-a uma vez e você voltará para cá em seguida.
setup-qr-label = Código QR para ler com seu aplicativo autenticador
setup-scan = Leia este código QR com o Google Authenticator, Aegis, 1Password, Bitwarden ou qualquer aplicativo TOTP.
setup-key = Ou digite esta chave manualmente:
setup-link-intro = Está neste celular? Abra o link de configuração com seu aplicativo autenticador:
setup-enter = Digite o código de { $digits } dígitos exibido no aplicativo.
setup-current = Código do seu autenticador atual ou um código de recuperação
setup-code = Código do novo autenticador
setup-submit = Ativar a verificação em duas etapas
setup-missing = Digite o código exibido no novo autenticador.
setup-expired = Essa configuração expirou ou foi iniciada em outro lugar. Leia este novo código e tente novamente.
setup-current-wrong = O código do seu autenticador atual (ou o código de recuperação) não está correto.
move-title = Mudar para um novo autenticador
move-intro = A verificação em duas etapas continua ativa durante a mudança. Ao confirmar, seu autenticador atual e seus códigos de recuperação deixam de funcionar, e você recebe novos códigos de recuperação.
move-submit = Mudar para o novo autenticador
move-cancel = Cancelar e manter o autenticador atual

## Códigos de recuperação exibidos uma vez
codes-title = Seus códigos de recuperação
codes-heading = Guarde seus códigos de recuperação
codes-enabled = A verificação em duas etapas está ativada.
codes-moved = Você mudou para o novo autenticador. O anterior e seus códigos de recuperação antigos não funcionam mais.
codes-replaced = Seus códigos de recuperação antigos não funcionam mais.
codes-intro = Se você perder seu autenticador, cada um destes códigos permite entrar uma vez.
codes-once = Esta é a única vez em que eles são exibidos.
codes-keep = Guarde-os em um lugar seguro e longe do seu celular: em um gerenciador de senhas ou impressos e bem guardados.
codes-download = Baixar como texto
codes-print = Para imprimir, use o comando de impressão do navegador.
codes-done = Já os guardei, continuar
codes-file-heading = Códigos de recuperação de { $issuer }
codes-file-account = Conta: { $username }
codes-file-created = Criados em: { $date }
codes-file-use = Cada código permite entrar uma vez se você perder seu autenticador.
codes-file-keep = Guarde este arquivo em um lugar seguro, longe do seu celular.
codes-shown-title = Códigos de recuperação já exibidos
codes-shown-text = Estes códigos de recuperação já foram exibidos, e nunca são exibidos duas vezes.
codes-shown-more = Se você não os guardou, gere um novo conjunto: os códigos exibidos antes deixarão de funcionar.
codes-shown-new = Gerar um novo conjunto de códigos de recuperação

## Conta
account-title = Sua conta
account-sign-out = Sair
account-username = Nome de usuário
account-name = Nome
account-email = E-mail
account-groups = Grupos
account-groups-none = nenhum
account-level = Entrada feita com
account-level-one = senha
account-level-two = senha e segundo fator
account-2fa = Verificação em duas etapas
account-2fa-on = ativada
account-2fa-pending = configuração pendente
account-2fa-off = desativada
account-codes-left = Códigos de recuperação restantes
account-codes-low = { $count ->
    [0] Não resta nenhum código de recuperação: gere um novo conjunto abaixo.
    [one] Resta apenas 1 código de recuperação: gere um novo conjunto abaixo.
   *[other] Restam apenas { $count } códigos de recuperação: gere um novo conjunto abaixo.
}
account-totp-disabled = A verificação em duas etapas está desativada.
account-move = Mudar para um novo autenticador
account-setup = Configurar a verificação em duas etapas
account-setup-finish = Concluir a configuração da verificação em duas etapas
account-codes-heading = Códigos de recuperação
account-regen-submit = Gerar um novo conjunto
confirm-regen = Entendo que meus códigos de recuperação atuais deixarão de funcionar.
account-disable-heading = Desativar a verificação em duas etapas
account-disable-code = Código atual ou um código de recuperação
account-disable-submit = Desativar a verificação em duas etapas
confirm-disable = Entendo que, a partir de então, entrar exigirá apenas minha senha.

## Alterar um segundo fator
code-needed-title = Código necessário
code-refused-title = Código não aceito
disable-missing = Digite um código atual ou um código de recuperação para desativar a verificação em duas etapas.
disable-refused = Esse código não está correto; a verificação em duas etapas continua ativada.
regen-missing = Digite o código atual do seu autenticador.
regen-refused = Esse código não está correto; seus códigos de recuperação não foram alterados.
regen-off-title = A verificação em duas etapas está desativada
regen-off-text = Os códigos de recuperação acompanham a verificação em duas etapas: configure-a primeiro.

## Erros
unavailable-title = Indisponível
unavailable-sign-in = A entrada está indisponível no momento. Tente novamente em instantes.
unavailable-code = Não é possível verificar códigos no momento. Tente novamente em instantes.
unavailable-setup = A configuração da verificação em duas etapas está indisponível no momento. Tente novamente em instantes.
unavailable-account = Sua conta está indisponível no momento. Tente novamente em instantes.
unavailable-sessions = Não é possível verificar as sessões conectadas agora. Tente novamente em instantes.
not-form-title = Formulário não suportado
not-form-text = Os formulários devem ser enviados como application/x-www-form-urlencoded.
bad-request-title = Requisição inválida
bad-encoding-text = O formulário não estava em UTF-8 válido.
foreign-title = Formulário recusado
foreign-text = Este formulário não foi enviado a partir deste site, por isso não foi aceito.
expired-title = Formulário expirado
expired-text = O formulário expirou antes de ser enviado. Abra a página novamente e tente outra vez.
not-found-title = Não encontrado
not-found-text = Esta página não existe.
method-title = Método não permitido
method-no-forms = Esta página não aceita formulários.
method-forms-only = Esta página aceita apenas formulários.
method-other = Esta página não aceita esse método.
no-host-text = A requisição não indica nenhum host.
no-app-text = Nenhum aplicativo é servido neste endereço.
bad-path-text = Esse caminho não é permitido.
forbidden-title = Acesso negado
forbidden-text = Você não tem acesso a esta página.
too-large-title = Grande demais
too-large-text = Esse formulário é maior do que qualquer formulário deste site.
unreadable-form-text = Não foi possível ler o formulário.
unreadable-request-text = Não foi possível ler a requisição.
bad-gateway-title = Gateway inválido
bad-gateway-text = O aplicativo não está respondendo. Tente novamente em instantes.
timeout-title = Tempo de resposta esgotado
timeout-text = O aplicativo não respondeu a tempo. Tente novamente em instantes.
headers-title = Cabeçalhos grandes demais
headers-text = Os cabeçalhos da requisição são grandes demais.
headers-limit-text = Os cabeçalhos da requisição excedem o limite aceito por este gateway.
uri-too-long-title = Endereço longo demais
uri-too-long-text = O endereço é mais longo do que este gateway aceita.
length-twice-text = A requisição informa o tamanho do corpo mais de uma vez.
error-title = Erro
error-text = Algo deu errado.
