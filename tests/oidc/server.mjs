// Real OAuth 2.0 / OpenID Connect authorization server for conn's end-to-end
// tests: oidc-provider (panva) 9.13.3 on 127.0.0.1 with in-memory storage.
//
//   PORT=0 AT_TTL=3600 node server.mjs
//
// Prints exactly one line to stdout once listening:
//   {"issuer":"http://127.0.0.1:NNNN"}
// Everything else (oidc-provider notices/warnings, errors) goes to stderr.
// See README.md for the clients and the requests that work.

import * as http from 'node:http';

// oidc-provider prints NOTICEs with console.info; stdout must carry only the
// issuer line, so route every console method to stderr.
for (const m of ['log', 'info', 'debug']) {
  console[m] = (...args) => console.error(...args);
}

const { default: Provider, errors } = await import('oidc-provider');

function intEnv(name, dflt) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`invalid ${name}=${raw}: expected a non-negative integer`);
    process.exit(2);
  }
  return n;
}

const PORT = intEnv('PORT', 0);
const AT_TTL = intEnv('AT_TTL', 3600) || 1;
// Optional audience-restricted API tokens: send resource=urn:conn:api.
const API_RESOURCE = 'urn:conn:api';
const API_SCOPES = 'api:read api:write';

// Bind first so the issuer can carry the real (possibly ephemeral) port.
const server = http.createServer();
server.on('error', (err) => {
  console.error(`server error: ${err.stack || err}`);
  process.exit(1);
});
await new Promise((resolve) => { server.listen(PORT, '127.0.0.1', resolve); });
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const loopbackRedirect = ['http://127.0.0.1/callback'];

const configuration = {
  clients: [
    {
      client_id: 'conn-cli',
      client_secret: 'conn-cli-secret',
      client_name: 'conn CLI (confidential)',
      token_endpoint_auth_method: 'client_secret_basic',
      application_type: 'native',
      // native + http loopback: any port is accepted at /auth (RFC 8252 7.3),
      // e.g. http://127.0.0.1:54321/callback. Built into oidc-provider.
      redirect_uris: loopbackRedirect,
      response_types: ['code'],
      grant_types: [
        'authorization_code',
        'refresh_token',
        'urn:ietf:params:oauth:grant-type:device_code',
        'client_credentials',
      ],
    },
    {
      client_id: 'conn-public',
      client_name: 'conn CLI (public)',
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      redirect_uris: loopbackRedirect,
      response_types: ['code'],
      grant_types: [
        'authorization_code',
        'refresh_token',
        'urn:ietf:params:oauth:grant-type:device_code',
      ],
    },
  ],

  // api:read / api:write are plain (static) scopes, so they are carried by the
  // default access token in every grant (auth code, device, refresh, client
  // credentials) without any resource indicator.
  scopes: ['openid', 'offline_access', 'email', 'profile', 'api:read', 'api:write'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },

  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id, email: `${id}@example.test`, email_verified: true, name: id,
        };
      },
    };
  },

  pkce: { required: () => true }, // only S256 exists in v9

  // Refresh token whenever the client may use the refresh_token grant: no
  // offline_access scope and no prompt=consent needed.
  // OFFLINE=strict: OpenID Connect's rule instead, a refresh token only for a granted
  // offline_access scope (which oidc-provider grants only with prompt=consent).
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token')
    && (process.env.OFFLINE !== 'strict' || code.scopes.has('offline_access')),
  // Always rotate: every refresh returns a new refresh token; the old one is
  // consumed (re-using it -> invalid_grant AND the whole grant is revoked).
  rotateRefreshToken: true,
  // Tokens live independently of the browser session.
  expiresWithSession: async () => false,

  // Default is 15 s of leeway on token expiry; 0 makes AT_TTL=2 really expire
  // after (at most) 2 s so the refresh path can be tested.
  clockTolerance: 0,

  ttl: {
    AccessToken: AT_TTL,
    ClientCredentials: AT_TTL,
    AuthorizationCode: 600,
    DeviceCode: 600,
    IdToken: 3600,
    RefreshToken: 14 * 24 * 60 * 60,
    Grant: 14 * 24 * 60 * 60,
    Interaction: 3600,
    Session: 14 * 24 * 60 * 60,
  },

  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // No default: plain requests get unrestricted opaque tokens usable at /me.
      defaultResource: async (ctx, client, oneOf) => oneOf,
      useGrantedResource: async () => false,
      async getResourceServerInfo(ctx, resourceIndicator) {
        if (resourceIndicator === API_RESOURCE) {
          return {
            scope: API_SCOPES,
            audience: API_RESOURCE,
            accessTokenTTL: AT_TTL,
            accessTokenFormat: 'opaque',
          };
        }
        throw new errors.InvalidTarget();
      },
    },
  },

  cookies: { keys: ['conn-oidc-test-cookie-key'] },
  // No jwks: oidc-provider's bundled development keys sign ID tokens (a
  // warning on stderr); no key generation at startup.

  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><html><head><title>oops! something went wrong</title></head>`
      + `<body><h1>oops! something went wrong</h1><pre id="error">${
        Object.entries(out).map(([k, v]) => `${k}: ${String(v).replace(/[<>&]/g, '')}`).join('\n')
      }</pre></body></html>`;
  },
};

const provider = new Provider(issuer, configuration);
provider.proxy = false; // plain http, no X-Forwarded-* trust

provider.on('server_error', (ctx, err) => console.error('server_error', err));

// Test-only: POST /_test/destroy-access-token (body: the token) destroys that one access
// token in the server's storage, as a provider ending a session early would. The revocation
// endpoint cannot do this alone: revoking an access token there revokes every token of its
// grant, refresh tokens included (oidc-provider's helpers/revoke.js).
const callback = provider.callback();
server.on('request', (req, res) => {
  if (req.method !== 'POST' || req.url !== '/_test/destroy-access-token') {
    callback(req, res);
    return;
  }
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', async () => {
    const token = await provider.AccessToken.find(body.trim());
    if (token) await token.destroy();
    res.statusCode = token ? 204 : 404;
    res.end();
  });
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { server.close(); process.exit(0); });
}
