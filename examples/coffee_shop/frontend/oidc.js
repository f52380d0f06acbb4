// A small OpenID Connect client for the browser: authorization code + PKCE (RFC 7636, S256),
// state and nonce, ID token checks with WebCrypto, refresh with rotation, RP-initiated logout.
// Tokens live in memory only; the one-shot login transaction (verifier, state, nonce) survives
// the redirect in sessionStorage and is deleted as soon as the callback reads it.

const TRANSACTION_KEY = "coffee.oidc.transaction";

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function randomString(bytes = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function s256(verifier) {
  return base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
}

export function decodeJwt(token) {
  const [header, payload] = token.split(".");
  const decode = (part) => JSON.parse(new TextDecoder().decode(fromBase64url(part)));
  return { header: decode(header), payload: decode(payload) };
}

export class OidcClient {
  constructor({ issuer, clientId, redirectUri, postLogoutRedirectUri, scope, audience }) {
    Object.assign(this, { issuer, clientId, redirectUri, postLogoutRedirectUri, scope, audience });
    this.tokens = null; // { accessToken, refreshToken, idToken, expiresAt, claims }
    this.metadata = null;
  }

  async discover() {
    if (!this.metadata) {
      const response = await fetch(`${this.issuer}/.well-known/openid-configuration`);
      if (!response.ok) throw new Error(`discovery failed (${response.status})`);
      this.metadata = await response.json();
      if (this.metadata.issuer !== this.issuer) throw new Error("discovery issuer mismatch");
    }
    return this.metadata;
  }

  async login(extra = {}) {
    const metadata = await this.discover();
    const transaction = { verifier: randomString(48), state: randomString(), nonce: randomString() };
    sessionStorage.setItem(TRANSACTION_KEY, JSON.stringify(transaction));
    const url = new URL(metadata.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: "code", client_id: this.clientId, redirect_uri: this.redirectUri, scope: this.scope,
      audience: this.audience, state: transaction.state, nonce: transaction.nonce,
      code_challenge: await s256(transaction.verifier), code_challenge_method: "S256", ...extra,
    });
    window.location.assign(url.toString());
  }

  // Returns true when the page was a login callback that completed.
  async handleCallback(location = window.location) {
    const params = new URLSearchParams(location.search);
    if (!params.has("state")) return false;
    const transaction = JSON.parse(sessionStorage.getItem(TRANSACTION_KEY) || "null");
    sessionStorage.removeItem(TRANSACTION_KEY);
    if (!transaction || params.get("state") !== transaction.state) throw new Error("state mismatch: login not started here");
    const metadata = await this.discover();
    if (metadata.authorization_response_iss_parameter_supported && params.get("iss") !== this.issuer) {
      throw new Error("issuer mismatch in the authorization response (RFC 9207)");
    }
    if (params.has("error")) throw new Error(params.get("error_description") || params.get("error"));
    await this.#token({
      grant_type: "authorization_code", code: params.get("code"), redirect_uri: this.redirectUri,
      client_id: this.clientId, code_verifier: transaction.verifier,
    }, transaction.nonce);
    return true;
  }

  async refresh() {
    if (!this.tokens?.refreshToken) throw new Error("no refresh token");
    await this.#token({ grant_type: "refresh_token", refresh_token: this.tokens.refreshToken, client_id: this.clientId }, null);
  }

  async logout() {
    const metadata = await this.discover();
    const url = new URL(metadata.end_session_endpoint);
    const params = { client_id: this.clientId, post_logout_redirect_uri: this.postLogoutRedirectUri };
    if (this.tokens?.idToken) params.id_token_hint = this.tokens.idToken;
    url.search = new URLSearchParams(params);
    this.tokens = null;
    window.location.assign(url.toString());
  }

  async #token(form, expectedNonce) {
    const metadata = await this.discover();
    const response = await fetch(metadata.token_endpoint, {
      method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error_description || body.error || `token request failed (${response.status})`);
    const idToken = body.id_token || this.tokens?.idToken;
    const claims = body.id_token ? await this.#checkIdToken(body.id_token, expectedNonce) : this.tokens?.claims;
    this.tokens = {
      accessToken: body.access_token, refreshToken: body.refresh_token || this.tokens?.refreshToken,
      idToken, claims, expiresAt: Date.now() + body.expires_in * 1000,
    };
  }

  // OIDC Core §3.1.3.7: signature (RS256, key from the JWKS), iss, aud, exp, nonce.
  async #checkIdToken(idToken, expectedNonce) {
    const { header, payload } = decodeJwt(idToken);
    if (header.alg !== "RS256") throw new Error("unexpected ID token algorithm");
    const jwks = await (await fetch(this.metadata.jwks_uri)).json();
    const jwk = jwks.keys.find((key) => key.kid === header.kid);
    if (!jwk) throw new Error("ID token signed by an unknown key");
    const key = await crypto.subtle.importKey("jwk", jwk, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"]);
    const [h, p, signature] = idToken.split(".");
    const valid = await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, fromBase64url(signature), new TextEncoder().encode(`${h}.${p}`));
    if (!valid) throw new Error("ID token signature is invalid");
    const audiences = [].concat(payload.aud);
    if (payload.iss !== this.issuer || !audiences.includes(this.clientId)) throw new Error("ID token is not for this app");
    if (payload.exp * 1000 < Date.now() - 60000) throw new Error("ID token expired");
    if (expectedNonce !== null && payload.nonce !== expectedNonce) throw new Error("ID token nonce mismatch");
    if (this.tokens?.claims && payload.sub !== this.tokens.claims.sub) throw new Error("ID token subject changed");
    return payload;
  }

  get permissions() {
    return this.tokens ? decodeJwt(this.tokens.accessToken).payload.permissions || [] : [];
  }
}
