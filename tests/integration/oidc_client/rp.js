// A relying party built on npm's openid-client (v6), driving authgate end to end:
// discovery → authorization code + PKCE (login form submitted over plain HTTP with a cookie jar)
// → token (ID token validated by the library) → userinfo → refresh → RP-initiated logout.
// Configuration comes from the environment; the result is one JSON line on stdout.
import * as client from "openid-client";

const { ISSUER, CLIENT_ID, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI, USERNAME, PASSWORD, SCOPE } = process.env;
const jar = new Map();

async function browse(url, init = {}) {
  const headers = new Headers(init.headers || {});
  if (url.startsWith(ISSUER) && jar.size) headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
  const response = await fetch(url, { ...init, headers, redirect: "manual" });
  for (const cookie of response.headers.getSetCookie()) {
    const [pair] = cookie.split(";");
    const index = pair.indexOf("=");
    jar.set(pair.slice(0, index).trim(), pair.slice(index + 1).trim());
  }
  return response;
}

function hiddenFields(html) {
  const fields = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    fields[match[1]] = match[2].replace(/&amp;/g, "&").replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
  }
  return fields;
}

const absolute = (location) => new URL(location, ISSUER).toString();

async function main() {
  const config = await client.discovery(new URL(ISSUER), CLIENT_ID, undefined, client.None(), {
    execute: [client.allowInsecureRequests], // the test server is plain-http loopback
  });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope: SCOPE, state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
  });

  // The person: follows the redirect to the hosted login page, signs in, is sent back.
  let response = await browse(authorizationUrl.toString());
  if (response.status !== 303) throw new Error(`expected a redirect to the login page, got ${response.status}`);
  const loginPage = await browse(absolute(response.headers.get("location")));
  const form = { ...hiddenFields(await loginPage.text()), username: USERNAME, password: PASSWORD };
  response = await browse(`${ISSUER}/login`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form),
  });
  if (response.status !== 303) throw new Error(`login failed with ${response.status}`);
  response = await browse(absolute(response.headers.get("location")));
  const callback = response.headers.get("location");
  if (!callback || !callback.startsWith(REDIRECT_URI)) throw new Error(`expected the callback, got ${response.status} ${callback}`);

  // The relying party: the library checks state, iss (RFC 9207), PKCE, the ID token and its nonce.
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);

  const logoutUrl = client.buildEndSessionUrl(config, {
    id_token_hint: refreshed.id_token ?? tokens.id_token, post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI, state: "rp-state",
  });
  const logout = await browse(logoutUrl.toString());
  const silent = await browse(client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope: "openid", prompt: "none", state: "after-logout",
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
  }).toString());

  console.log(JSON.stringify({
    id_token_claims: claims,
    scope: tokens.scope,
    userinfo,
    refreshed: { rotated: refreshed.refresh_token !== tokens.refresh_token, id_token_sub: refreshed.claims()?.sub },
    logout: { status: logout.status, location: logout.headers.get("location") },
    after_logout: new URL(silent.headers.get("location")).searchParams.get("error"),
  }));
}

main().catch((error) => {
  console.error(error?.stack || String(error));
  process.exit(1);
});
