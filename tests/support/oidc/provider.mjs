// A real OpenID Connect provider (the npm package oidc-provider) on loopback, for the staff
// single sign-on tests. Started by tests/support/oidc.py:
//
//   node provider.mjs SETTINGS.json
//
// SETTINGS.json: {"port": 0, "client": {"client_id", "client_secret", "redirect_uris"},
// "users_file": "users.json"}. users.json maps a login to the claims the provider vouches for
// ({"officer": {"email": "...", "email_verified": true, "eduPersonEntitlement": ["..."]}}); it is
// read at every sign-in, so a test can change a person's claims at the provider between logins.
// The sign-in page is a minimal one of our own (oidc-provider's development pages load a web
// font from a third party): any password is taken for a login named in users.json, since the
// provider's own password check is not what these tests are about. Consent is given beforehand
// for our client, as a school's provider does for its own services.
// Once listening it prints one line of JSON: {"issuer": "http://127.0.0.1:PORT"}.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const users = () => JSON.parse(readFileSync(settings.users_file, 'utf8'));

// A signing key of this run only: nothing secret is kept in the repository.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-run', use: 'sig', alg: 'RS256' };

const server = createServer();
await new Promise((resolve) => server.listen(settings.port || 0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    ...settings.client,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  // The claims a school's provider releases, and the scopes that release them.
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    entitlements: ['eduPersonEntitlement'],
    groups: ['groups'],
  },
  features: {
    devInteractions: { enabled: false },
    // Off: only the flow these tests use (no dynamic registration, no introspection).
    registration: { enabled: false },
    introspection: { enabled: false },
    revocation: { enabled: false },
  },
  async findAccount(ctx, id) {
    const claims = users()[id];
    if (!claims) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...claims };
      },
    };
  },
  // Consent for our own client is given by the school, not asked of each person.
  async loadExistingGrant(ctx) {
    const { client, session, params } = ctx.oidc;
    const existing = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    if (existing) return ctx.oidc.provider.Grant.find(existing);
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope(params.scope);
    await grant.save();
    session.grantIdFor(client.clientId, grant.jti);
    return grant;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { Session: 60, Interaction: 600, Grant: 600, AuthorizationCode: 60, AccessToken: 300, IdToken: 300 },
});
// Errors of the provider itself show in the test output.
provider.on('server_error', (ctx, error) => console.error('provider error:', error));

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function signInPage(res, uid, status, message) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>School sign-in</title></head>
<body><h1>School sign-in</h1>${message ? `<p role="alert">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}">
<label>Login <input name="login" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form></body></html>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

// GET shows the sign-in form; POST signs a known login in and sends the browser on.
async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid || details.prompt.name !== 'login') {
    res.writeHead(400).end('unexpected interaction');
    return;
  }
  if (req.method !== 'POST') {
    signInPage(res, uid, 200);
    return;
  }
  const login = (await readForm(req)).get('login') || '';
  if (!Object.hasOwn(users(), login)) {
    signInPage(res, uid, 401, 'Unknown login.');
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
server.on('request', (req, res) => {
  const match = /^\/interaction\/([\w-]+)$/.exec(new URL(req.url, issuer).pathname);
  if (!match) {
    callback(req, res);
    return;
  }
  interaction(req, res, match[1]).catch((error) => {
    console.error('interaction error:', error);
    if (!res.headersSent) res.writeHead(400);
    res.end('interaction failed');
  });
});
console.log(JSON.stringify({ issuer }));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
