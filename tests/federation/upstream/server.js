// TEST FIXTURE ONLY: an upstream OpenID Provider (panva/oidc-provider) for tests/integration/test_federation.py
// and tests/browser/test_federation_browser.py. The client secret and passwords below are well-known,
// test-only values: never use this configuration anywhere but on 127.0.0.1 in tests.
//
// Usage: node server.js PORT REDIRECT_URI [KEY_GENERATION] [POST_LOGOUT_REDIRECT_URI]
//   Listens on 127.0.0.1:PORT. Its signing key is new on every start and its kid names KEY_GENERATION,
//   so restarting with another generation is the provider rotating its keys. POST_LOGOUT_REDIRECT_URI is
//   where its RP-initiated logout (/session/end, confirmed on its own page) may send the browser back.
// Its own login page (/interaction/:uid) takes a username and password (form fields `login`, `password`)
// or "Cancel" (the authorization ends with error=access_denied); consent is implied.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const [port, redirectUri, generation = '1', postLogoutRedirectUri] = [Number(process.argv[2]), process.argv[3],
  process.argv[4], process.argv[5]];
const issuer = `http://127.0.0.1:${port}`;

const accounts = {
  alice: { sub: 'alice-sub', preferred_username: 'alice', name: 'Alice Upstream', email: 'alice@corp.example',
           email_verified: true, groups: ['engineering'] },
  bob: { sub: 'bob-sub', preferred_username: 'bob', name: 'Bob Upstream', email: 'bob@shop.example',
         email_verified: false, groups: [] },
  carol: { sub: 'carol-sub', preferred_username: 'carol', name: 'Carol Upstream', email: 'carol@shop.example',
           email_verified: true, groups: ['engineering', 'sales'] },
  dave: { sub: 'dave-sub', preferred_username: 'alice', name: 'Dave Upstream', email: 'dave@corp.example',
          email_verified: true, groups: ['sales'] },
};
const passwords = Object.fromEntries(Object.keys(accounts).map((name) => [name, `upstream-${name}`]));
const bySub = Object.fromEntries(Object.values(accounts).map((account) => [account.sub, account]));

const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `gen-${generation}-${crypto.randomUUID()}`, alg: 'ES256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'authgate',
    client_secret: 'upstream-test-secret-0123456789abcdef',
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: postLogoutRedirectUri ? [postLogoutRedirectUri] : [],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: ['test-only-cookie-key'] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'],
            groups: ['groups'] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      // The question "sign out?" with oidc-provider's own form (its hidden xsrf field), answered "yes" by a submit.
      async logoutSource(ctx, form) {
        ctx.body = `<!doctype html><html lang="en"><head><title>Upstream sign-out</title></head><body>
<h1>Sign out of the upstream provider?</h1>${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button></body></html>`;
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const account = bySub[id];
    return account && { accountId: id, async claims() { return { ...account }; } };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
});

function page(uid, error) {
  return `<!doctype html><html lang="en"><head><title>Upstream sign-in</title></head><body>
<h1>Sign in to the upstream provider</h1>${error ? `<p role="alert">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label>Username <input name="login" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in upstream</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Cancel</button></form></body></html>`;
}

async function body(req) {
  let data = '';
  for await (const chunk of req) data += chunk;
  return Object.fromEntries(new URLSearchParams(data));
}

async function interaction(req, res) {
  const [, , uid, action] = req.url.split('?')[0].split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html' });
    return res.end(page(uid));
  }
  const form = await body(req);
  if (action === 'abort') {
    return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The person cancelled.' },
                                        { mergeWithLastSubmission: false });
  }
  const account = accounts[form.login];
  if (!account || passwords[form.login] !== form.password) {
    res.writeHead(401, { 'content-type': 'text/html' });
    return res.end(page(uid, 'Wrong username or password.'));
  }
  return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => { res.writeHead(400); res.end(String(error)); });
  } else {
    callback(req, res);
  }
}).listen(port, '127.0.0.1', () => console.log(`upstream on ${issuer} (keys ${jwk.kid})`));
