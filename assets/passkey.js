// Passkeys on the gateway's pages: the only script it serves, loaded by the pages that offer a
// passkey. A form marked `data-passkey` carries the options the gateway made for this page
// (`data-options`); its button asks the browser for a passkey (`create` or `get`), puts the
// answer in the form's `credential` field and sends the form. Everything else on the pages
// works without it.
"use strict";

(function () {
  function toBase64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let text = "";
    for (let i = 0; i < bytes.length; i++) {
      text += String.fromCharCode(bytes[i]);
    }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  function withIds(list) {
    return (list || []).map((c) => Object.assign({}, c, { id: fromBase64url(c.id) }));
  }

  function creationOptions(options) {
    const o = Object.assign({}, options.publicKey);
    o.challenge = fromBase64url(o.challenge);
    o.user = Object.assign({}, o.user, { id: fromBase64url(o.user.id) });
    o.excludeCredentials = withIds(o.excludeCredentials);
    return o;
  }

  function requestOptions(options) {
    const o = Object.assign({}, options.publicKey);
    o.challenge = fromBase64url(o.challenge);
    o.allowCredentials = withIds(o.allowCredentials);
    return o;
  }

  // The browser's answer as JSON: binary fields in base64url, `response` picked by `fields`.
  function answer(credential, fields) {
    const response = {};
    for (const [name, value] of Object.entries(fields(credential.response))) {
      response[name] = value instanceof ArrayBuffer ? toBase64url(value) : value;
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: response,
      extensions: credential.getClientExtensionResults(),
    };
  }

  function created(credential) {
    return answer(credential, (r) => ({
      attestationObject: r.attestationObject,
      clientDataJSON: r.clientDataJSON,
      transports: typeof r.getTransports === "function" ? r.getTransports() : [],
    }));
  }

  function asserted(credential) {
    return answer(credential, (r) => ({
      authenticatorData: r.authenticatorData,
      clientDataJSON: r.clientDataJSON,
      signature: r.signature,
      userHandle: r.userHandle,
    }));
  }

  function offer(form) {
    const button = form.querySelector(".passkey-start");
    const unsupported = form.querySelector(".passkey-unsupported");
    const failed = form.querySelector(".passkey-failed");
    if (!button || !window.PublicKeyCredential || !navigator.credentials) {
      return;
    }
    if (unsupported) {
      unsupported.hidden = true;
    }
    button.hidden = false;
    button.addEventListener("click", async function () {
      button.disabled = true;
      if (failed) {
        failed.hidden = true;
      }
      try {
        const options = JSON.parse(form.dataset.options);
        const answer =
          form.dataset.passkey === "create"
            ? created(await navigator.credentials.create({ publicKey: creationOptions(options) }))
            : asserted(await navigator.credentials.get({ publicKey: requestOptions(options) }));
        form.elements.credential.value = JSON.stringify(answer);
        form.submit();
      } catch (e) {
        button.disabled = false;
        if (failed) {
          failed.hidden = false;
        }
      }
    });
  }

  document.querySelectorAll("form[data-passkey]").forEach(offer);
})();
