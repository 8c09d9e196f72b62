// Passkeys: the only part of Thai Nguyen ID that needs JavaScript (WebAuthn has no HTML form).
// A form marked data-passkey="get" (log in) or "create" (add a passkey) asks the server for
// options, lets the browser talk to the authenticator, puts the answer in the form's hidden
// "credential" field, and submits the form as usual. The server verifies everything.
(function () {
  "use strict";

  function toBytes(value) {
    var text = value.replace(/-/g, "+").replace(/_/g, "/");
    while (text.length % 4) { text += "="; }
    var raw = atob(text), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeOptions(options) {
    options.challenge = toBytes(options.challenge);
    if (options.user) { options.user.id = toBytes(options.user.id); }
    ["excludeCredentials", "allowCredentials"].forEach(function (name) {
      (options[name] || []).forEach(function (cred) { cred.id = toBytes(cred.id); });
    });
    return options;
  }

  function encodeCredential(cred) {
    var response = { clientDataJSON: toText(cred.response.clientDataJSON) };
    if (cred.response.attestationObject) {
      response.attestationObject = toText(cred.response.attestationObject);
      if (cred.response.getTransports) { response.transports = cred.response.getTransports(); }
    } else {
      response.authenticatorData = toText(cred.response.authenticatorData);
      response.signature = toText(cred.response.signature);
      if (cred.response.userHandle) { response.userHandle = toText(cred.response.userHandle); }
    }
    return JSON.stringify({
      id: cred.id, rawId: toText(cred.rawId), type: cred.type, response: response,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      authenticatorAttachment: cred.authenticatorAttachment || undefined
    });
  }

  function start(form, event) {
    var field = form.querySelector('input[name="credential"]');
    if (field.value) { return; } // the answer is in: let the form go
    event.preventDefault();
    var problem = form.querySelector(".passkey-error");
    if (!window.PublicKeyCredential || !navigator.credentials) {
      if (problem) { problem.hidden = false; }
      return;
    }
    var kind = form.getAttribute("data-passkey");
    var body = new FormData(form);
    fetch(form.getAttribute("data-options"), { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("options " + r.status); } return r.json(); })
      .then(function (options) {
        var publicKey = decodeOptions(options);
        return kind === "create" ? navigator.credentials.create({ publicKey: publicKey })
                                 : navigator.credentials.get({ publicKey: publicKey });
      })
      .then(function (cred) {
        field.value = encodeCredential(cred);
        form.submit();
      })
      .catch(function () { if (problem) { problem.hidden = false; } });
  }

  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    form.addEventListener("submit", function (event) { start(form, event); });
  });
})();
