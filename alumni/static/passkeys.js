// Passkeys (WebAuthn): the browser's navigator.credentials between our options and our checks.
// Our own small script, no third-party library; the server checks everything that matters.
"use strict";

const fromBase64url = (text) => {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
};

const toBase64url = (buffer) => {
  let binary = "";
  new Uint8Array(buffer).forEach((byte) => (binary += String.fromCharCode(byte)));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};

const creationOptions = (json) => {
  const options = { ...json, challenge: fromBase64url(json.challenge) };
  options.user = { ...json.user, id: fromBase64url(json.user.id) };
  options.excludeCredentials = (json.excludeCredentials || []).map((c) => ({
    ...c,
    id: fromBase64url(c.id),
  }));
  return options;
};

const requestOptions = (json) => ({
  ...json,
  challenge: fromBase64url(json.challenge),
  allowCredentials: (json.allowCredentials || []).map((c) => ({ ...c, id: fromBase64url(c.id) })),
});

const registrationJSON = (credential) => ({
  id: credential.id,
  rawId: toBase64url(credential.rawId),
  type: credential.type,
  response: {
    clientDataJSON: toBase64url(credential.response.clientDataJSON),
    attestationObject: toBase64url(credential.response.attestationObject),
    transports: credential.response.getTransports ? credential.response.getTransports() : [],
  },
  clientExtensionResults: credential.getClientExtensionResults(),
  authenticatorAttachment: credential.authenticatorAttachment,
});

const authenticationJSON = (credential) => ({
  id: credential.id,
  rawId: toBase64url(credential.rawId),
  type: credential.type,
  response: {
    clientDataJSON: toBase64url(credential.response.clientDataJSON),
    authenticatorData: toBase64url(credential.response.authenticatorData),
    signature: toBase64url(credential.response.signature),
    userHandle: credential.response.userHandle
      ? toBase64url(credential.response.userHandle)
      : null,
  },
  clientExtensionResults: credential.getClientExtensionResults(),
  authenticatorAttachment: credential.authenticatorAttachment,
});

const post = (url, csrf, body, type) =>
  fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRFToken": csrf, ...(type ? { "Content-Type": type } : {}) },
    body,
  });

const answer = async (response) => {
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
};

const report = (element, error) => {
  const output = document.getElementById(element.dataset.status);
  if (output) output.textContent = error.message || String(error);
};

// Each element with data-passkey names its ceremony; the URLs are in its data attributes.
document.querySelectorAll("[data-passkey]").forEach((element) => {
  const csrf = element.dataset.csrf;
  const run = async (event) => {
    event.preventDefault();
    try {
      const body = element.tagName === "FORM" ? new URLSearchParams(new FormData(element)) : null;
      const options = await answer(await post(element.dataset.optionsUrl, csrf, body));
      let credential;
      if (element.dataset.passkey === "authenticate") {
        credential = authenticationJSON(
          await navigator.credentials.get({ publicKey: requestOptions(options) }),
        );
      } else {
        credential = registrationJSON(
          await navigator.credentials.create({ publicKey: creationOptions(options) }),
        );
      }
      const result = await answer(
        await post(element.dataset.resultUrl, csrf, JSON.stringify(credential), "application/json"),
      );
      if (result.finish) document.getElementById(element.dataset.finishForm).submit();
      else window.location.assign(result.redirect);
    } catch (error) {
      report(element, error);
    }
  };
  element.addEventListener(element.tagName === "FORM" ? "submit" : "click", run);
});
