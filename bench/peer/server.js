// node-oidc-provider configured like idp, as the peer that `make bench` (bench/run.py) measures
// idp against. Not a production configuration: keys and the account are made at start and live
// in memory only.
//
//   node server.js [PORT]            (or PORT=... node server.js)
//
// Settings (environment; bench/run.py passes its own):
//   HOST                   listen address, default 127.0.0.1
//   PORT                   listen port when not given as the first argument, default 3000
//   PEER_ISSUER            default http://HOST:PORT
//   PEER_CLIENT_ID         the one static confidential client, default bench-portal
//   PEER_CLIENT_SECRET     its secret (client_secret_basic), default a random one printed at start
//   PEER_REDIRECT_URI      its one redirect URI
//   PEER_USERNAME          the one account, default bench
//   PEER_PASSWORD          its password, hashed with argon2id at start
//   PEER_ARGON2_TIME_COST, PEER_ARGON2_MEMORY_KIB, PEER_ARGON2_PARALLELISM   default 3, 65536, 4
//   PEER_NAME              the account's name claim, default 张三
//
// What is configured as in idp: authorization code flow only, PKCE (S256) required for every
// client, client_secret_basic, scopes openid profile offline_access, refresh token rotation,
// introspection and revocation, RS256 ID tokens (a 2048-bit RSA key), codes living 60 s and
// access and ID tokens 15 minutes, consent remembered per account and client (loadExistingGrant)
// so that a logged-in browser gets a code at once, also with prompt=none.

import crypto from 'node:crypto';
import http from 'node:http';

import argon2 from 'argon2';
import { Provider } from 'oidc-provider';

const env = process.env;
const host = env.HOST || '127.0.0.1';
const port = Number(process.argv[2] || env.PORT || 3000);
const issuer = env.PEER_ISSUER || `http://${host}:${port}`;
const clientId = env.PEER_CLIENT_ID || 'bench-portal';
const clientSecret = env.PEER_CLIENT_SECRET || crypto.randomBytes(32).toString('base64url');
const redirectUri = env.PEER_REDIRECT_URI || 'https://portal.example.gov.cn/bench/callback';
const username = env.PEER_USERNAME || 'bench';
const password = env.PEER_PASSWORD || 'bench correct horse battery staple';
const name = env.PEER_NAME || '张三';
const argon2Options = {
  type: argon2.argon2id,
  timeCost: Number(env.PEER_ARGON2_TIME_COST || 3),
  memoryCost: Number(env.PEER_ARGON2_MEMORY_KIB || 65536),
  parallelism: Number(env.PEER_ARGON2_PARALLELISM || 4),
};

// -- storage -------------------------------------------------------------------------------------
// An in-memory adapter. The one the package falls back on (lib/adapters/memory_adapter.js) is an
// LRU cache of 1,000 entries (2,000 with its stale generation), which would evict the codes and
// tokens a workload made beforehand, and its index of a grant's tokens is rewritten, all of it, on
// every token issued; this one keeps everything until it expires and indexes grants with a Set.

const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);
const entries = new Map(); // "Model:id" -> { payload, expiresAt (ms, Infinity for never) }
const sessionUids = new Map(); // session uid -> session id
const userCodes = new Map(); // device user code -> id
const grantMembers = new Map(); // grant id -> Set of "Model:id" keys

function live(key) {
  const entry = entries.get(key);
  if (entry === undefined) return undefined;
  if (entry.expiresAt <= Date.now()) {
    entries.delete(key);
    return undefined;
  }
  return entry.payload;
}

class MemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
    entries.set(key, { payload, expiresAt });
    if (this.model === 'Session' && payload.uid) sessionUids.set(payload.uid, id);
    if (payload.userCode) userCodes.set(payload.userCode, id);
    if (GRANTABLE.has(this.model) && payload.grantId) {
      let members = grantMembers.get(payload.grantId);
      if (members === undefined) grantMembers.set(payload.grantId, (members = new Set()));
      members.add(key);
    }
  }

  async find(id) {
    return live(this.key(id));
  }

  async findByUid(uid) {
    const id = sessionUids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = userCodes.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const payload = live(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    const key = this.key(id);
    const payload = live(key);
    entries.delete(key);
    if (payload?.uid && sessionUids.get(payload.uid) === id) sessionUids.delete(payload.uid);
    if (payload?.grantId) grantMembers.get(payload.grantId)?.delete(key);
  }

  async revokeByGrantId(grantId) {
    for (const key of grantMembers.get(grantId) ?? []) entries.delete(key);
    grantMembers.delete(grantId);
  }
}

// Expired entries go once a minute (reads already ignore them).
setInterval(() => {
  const now = Date.now();
  for (const [key, entry] of entries) {
    if (entry.expiresAt <= now) entries.delete(key);
  }
  for (const [grantId, members] of grantMembers) {
    for (const key of members) if (!entries.has(key)) members.delete(key);
    if (members.size === 0) grantMembers.delete(grantId);
  }
  for (const [uid, id] of sessionUids) if (!entries.has(`Session:${id}`)) sessionUids.delete(uid);
}, 60_000).unref();

// -- the account and remembered consent ----------------------------------------------------------

const passwordHash = await argon2.hash(password, argon2Options);
const rememberedGrants = new Map(); // "accountId clientId" -> grant id

async function findAccount(_ctx, accountId) {
  if (accountId !== username) return undefined;
  return {
    accountId,
    async claims() {
      return { sub: accountId, name };
    },
  };
}

// Once an account consented to a client, every later authorization request of that account (a
// new browser session included) finds the grant, so no consent prompt, and prompt=none works.
async function loadExistingGrant(ctx) {
  const { session, client, provider } = ctx.oidc;
  const grantId =
    ctx.oidc.result?.consent?.grantId ||
    session.grantIdFor(client.clientId) ||
    rememberedGrants.get(`${session.accountId} ${client.clientId}`);
  if (!grantId) return undefined;
  const grant = await provider.Grant.find(grantId);
  return grant && grant.accountId === session.accountId ? grant : undefined;
}

// -- the provider ---------------------------------------------------------------------------------

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: crypto.randomBytes(8).toString('hex'),
  alg: 'RS256',
  use: 'sig',
};

const provider = new Provider(issuer, {
  adapter: MemoryAdapter,
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'profile', 'offline_access'],
  responseTypes: ['code'],
  claims: { openid: ['sub'], profile: ['name'] },
  pkce: { required: () => true }, // oidc-provider 9 knows S256 only
  features: {
    devInteractions: { enabled: false },
    // A client may introspect the tokens issued to it.
    introspection: {
      enabled: true,
      allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
    },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    // RFC 9449, for the userinfo-dpop workload (tokens are bound only when a proof is sent).
    dPoP: { enabled: true },
  },
  rotateRefreshToken: true,
  // oidc-provider keeps offline_access only when the request carries prompt=consent (OpenID
  // Connect Core 11), so a silent authorization could never yield a refresh token; idp issues one
  // for offline_access without a new consent. The client is allowed the refresh_token grant, so
  // every code exchange issues one, as idp does, and those tokens outlive the browser session.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  expiresWithSession: async () => false,
  // idp's lifetimes (idp/config.py): the refresh token's is its idle one, the session's its absolute.
  ttl: {
    AuthorizationCode: 60,
    AccessToken: 900,
    IdToken: 900,
    Interaction: 1800,
    RefreshToken: 7 * 24 * 3600,
    Session: 12 * 3600,
    Grant: 30 * 24 * 3600,
  },
  findAccount,
  loadExistingGrant,
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
});

provider.on('server_error', (_ctx, error) => console.error('server_error', error));

// -- the interaction pages: a login form and a consent form ----------------------------------------

const escape = (text) =>
  String(text).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );

function page(res, status, title, body) {
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

function loginPage(res, uid, status = 200, problem = '') {
  page(
    res,
    status,
    'Sign in',
    `${problem ? `<p role="alert">${escape(problem)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<input name="username" autocomplete="username"><input type="password" name="password">
<button type="submit">Sign in</button></form>`,
  );
}

function consentPage(res, uid, details) {
  const scopes = (details.missingOIDCScope || []).join(' ');
  page(
    res,
    200,
    'Authorize',
    `<p>Allow access to: ${escape(scopes)}</p>
<form method="post" action="/interaction/${escape(uid)}/confirm">
<button type="submit" name="decision" value="approve">Allow</button></form>`,
  );
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16384) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function interaction(req, res, action) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params, session } = details;
  if (req.method === 'GET' && !action) {
    if (prompt.name === 'login') return loginPage(res, uid);
    if (prompt.name === 'consent') return consentPage(res, uid, prompt.details);
    return page(res, 501, 'Not implemented', `prompt ${escape(prompt.name)}`);
  }
  if (req.method !== 'POST') return page(res, 405, 'Method not allowed', '');
  const form = await readForm(req);
  if (action === 'login' && prompt.name === 'login') {
    const ok =
      form.get('username') === username &&
      (await argon2.verify(passwordHash, form.get('password') || ''));
    if (!ok) return loginPage(res, uid, 401, 'Wrong username or password.');
    return provider.interactionFinished(
      req,
      res,
      { login: { accountId: username } },
      { mergeWithLastSubmission: false },
    );
  }
  if (action === 'confirm' && prompt.name === 'consent' && form.get('decision') === 'approve') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) {
      grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    }
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const grantId = await grant.save();
    rememberedGrants.set(`${session.accountId} ${params.client_id}`, grantId);
    return provider.interactionFinished(
      req,
      res,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    );
  }
  return page(res, 400, 'Bad request', 'unexpected form');
}

// -- the server --------------------------------------------------------------------------------------

const handler = provider.callback();
const INTERACTION = /^\/interaction\/([\w-]+)(?:\/(login|confirm))?$/;

const server = http.createServer((req, res) => {
  const match = INTERACTION.exec(new URL(req.url, issuer).pathname);
  if (!match) return handler(req, res);
  interaction(req, res, match[2]).catch((error) => {
    console.error('interaction', error);
    if (!res.headersSent) page(res, 400, 'Interaction failed', escape(error.message));
    else res.end();
  });
});
server.keepAliveTimeout = 75_000; // longer than any load generator's idle gap
server.listen(port, host, () => {
  console.log(`peer oidc-provider listening on ${issuer} (client ${clientId})`);
  if (!env.PEER_CLIENT_SECRET) console.log(`client secret: ${clientSecret}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)).closeAllConnections());
}
