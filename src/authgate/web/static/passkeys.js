// Passkeys (WebAuthn) on the hosted pages: sign in, autofill, register, second factor.
// The server (web/pages/passkeys.py) makes and checks every challenge; this file only carries
// options to navigator.credentials and the answer back, as JSON with base64url-encoded bytes.
(function () {
  "use strict";

  function bytesOf(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function base64urlOf(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) { return Object.assign({}, item, { id: bytesOf(item.id) }); });
  }

  function fieldValue(name) {
    const input = document.querySelector('input[name="' + name + '"]');
    return input ? input.value : "";
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": fieldValue("csrf_token") },
      body: JSON.stringify(body || {}),
    });
    let answer = {};
    try { answer = await response.json(); } catch (error) { answer = {}; }
    if (!response.ok) throw new Error(answer.error_description || "The request failed (" + response.status + ").");
    return answer;
  }

  function assertionJSON(credential) {
    const response = credential.response;
    return {
      id: credential.id,
      rawId: base64urlOf(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        clientDataJSON: base64urlOf(response.clientDataJSON),
        authenticatorData: base64urlOf(response.authenticatorData),
        signature: base64urlOf(response.signature),
        userHandle: response.userHandle ? base64urlOf(response.userHandle) : null,
      },
    };
  }

  function attestationJSON(credential) {
    const response = credential.response;
    return {
      id: credential.id,
      rawId: base64urlOf(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        clientDataJSON: base64urlOf(response.clientDataJSON),
        attestationObject: base64urlOf(response.attestationObject),
        transports: response.getTransports ? response.getTransports() : [],
      },
    };
  }

  function say(message, isError) {
    const status = document.getElementById("form-status");
    if (!status) return;
    status.className = "status " + (isError ? "status-error" : "status-notice");
    status.textContent = "";
    const paragraph = document.createElement("p");
    paragraph.textContent = message;
    status.appendChild(paragraph);
  }

  async function assertion(optionsPath, mediation, signal) {
    const options = await post(optionsPath);
    const publicKey = Object.assign({}, options, {
      challenge: bytesOf(options.challenge),
      allowCredentials: descriptors(options.allowCredentials),
    });
    const request = { publicKey: publicKey, signal: signal };
    if (mediation) request.mediation = mediation;
    return navigator.credentials.get(request);
  }

  let autofill = null; // the AbortController of the pending conditional (autofill) request

  async function signInWith(mediation, signal) {
    const credential = await assertion("/login/passkey/options", mediation, signal);
    const answer = await post("/login/passkey/verify", {
      credential: assertionJSON(credential), return_to: fieldValue("return_to"),
    });
    window.location.assign(answer.redirect);
  }

  // "Sign in with a passkey": any passkey of this site, no username (a discoverable credential).
  async function authgatePasskeySignIn() {
    if (autofill) autofill.abort();
    try {
      await signInWith(null, undefined);
    } catch (error) {
      if (error.name !== "NotAllowedError") say(error.message, true);
      authgatePasskeyAutofill();
    }
  }

  // Autofill: the browser offers this site's passkeys in the username field's suggestions
  // (autocomplete="username webauthn", mediation "conditional").
  async function authgatePasskeyAutofill() {
    if (!window.PublicKeyCredential || !PublicKeyCredential.isConditionalMediationAvailable) return;
    if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
    autofill = new AbortController();
    try {
      await signInWith("conditional", autofill.signal);
    } catch (error) {
      // A background offer: it never speaks over the form's own message. Where this browser cannot use
      // the site's passkeys at all (an IP address, a host other than the relying party), the button goes.
      if (error.name === "SecurityError") {
        const login = document.getElementById("passkey-login");
        if (login) login.hidden = true;
      }
    }
  }

  async function authgatePasskeyRegister(name) {
    const options = await post("/account/passkeys/options");
    const publicKey = Object.assign({}, options, {
      challenge: bytesOf(options.challenge),
      user: Object.assign({}, options.user, { id: bytesOf(options.user.id) }),
      excludeCredentials: descriptors(options.excludeCredentials),
    });
    const credential = await navigator.credentials.create({ publicKey: publicKey });
    return post("/account/passkeys/register", { credential: attestationJSON(credential), name: name });
  }

  // The second factor after a password (the MFA step page): one of the user's own passkeys.
  async function authgatePasskeySecondFactor() {
    try {
      const credential = await assertion("/login/passkey/second-factor/options", null, undefined);
      const answer = await post("/login/passkey/second-factor/verify", { credential: assertionJSON(credential) });
      window.location.assign(answer.redirect);
    } catch (error) {
      say(error.name === "NotAllowedError" ? "The passkey was not used. Try again." : error.message, true);
    }
  }

  window.authgatePasskeySignIn = authgatePasskeySignIn;
  window.authgatePasskeyAutofill = authgatePasskeyAutofill;
  window.authgatePasskeyRegister = authgatePasskeyRegister;
  window.authgatePasskeySecondFactor = authgatePasskeySecondFactor;

  function start() {
    if (!window.PublicKeyCredential) return; // no WebAuthn: the password form stays
    const login = document.getElementById("passkey-login");
    if (login) {
      login.hidden = false;
      document.getElementById("passkey-sign-in").addEventListener("click", authgatePasskeySignIn);
      authgatePasskeyAutofill();
    }
    const register = document.getElementById("passkey-register");
    if (register) {
      register.addEventListener("submit", async function (event) {
        event.preventDefault();
        const name = register.querySelector('input[name="name"]').value.trim();
        if (!name) { say("Give the passkey a name.", true); return; }
        try {
          await authgatePasskeyRegister(name);
          window.location.assign("/account/passkeys?done=added");
        } catch (error) {
          say(error.name === "NotAllowedError" ? "No passkey was created." : error.message, true);
        }
      });
    }
    const second = document.getElementById("passkey-second-factor");
    if (second) second.addEventListener("click", authgatePasskeySecondFactor);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
