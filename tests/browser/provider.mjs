// A real OpenID Connect provider for the gateway's end-to-end tests
// (panva/oidc-provider, its development login pages). Usage:
//   node provider.mjs <gateway base URL>...
// Registers, for every gateway, the staff client `gateway` (callback
// <base>/auth/callback) and the guardians' client `ouders` (callback
// <base>/ouders/auth/callback), both with refresh tokens (the gateway checks
// a login again with them), and systems' clients for the JSON API (client
// credentials: an opaque token, introspected, or with `resource` set to
// urn:carenet:api (or urn:other) a JWT access token, RFC 9068). Prints
// {"issuer": "...", "port": N} once it listens.
// Env: ISSUER (the issuer URL, when a test puts something in front of the
// provider; default its own address), KID (its signing key's id).
// Test hook, as an administrator at a school's identity provider would:
//   PUT /test/accounts/<sub> {claims}  changes an account's claims (roles);
//   DELETE /test/accounts/<sub>        blocks the account.
import http from 'node:http';
import crypto from 'node:crypto';
import { Provider, errors } from 'oidc-provider';

const bases = process.argv.slice(2);
// Test staff: the claims a school's identity provider would give.
// Test guardians: what a DigiD broker would give (a subject and a name).
// Each has an e-mail address, released with the `email` scope only.
const USERS = {
  // Each with a name (`name`, or as `given_name` and `family_name`) and
  // groups, for the gateway's staff directory.
  'ib-1': { staff: 'ib-1', party: 'po-1', roles: ['support_coordinator_po'], name: 'Sanne de Vries', groups: ['zorgteam'], email: 'ib-1@po-1.example' },
  'mentor-2': { staff: 'mentor-2', party: 'po-1', roles: ['mentor'], given_name: 'Joost', family_name: 'van Dam', groups: ['groep-8a', 'groep-8b'], email: 'mentor-2@po-1.example' },
  'zc-9': { staff: 'zc-9', party: 'vo-1', roles: ['care_coordinator'], name: 'Ingrid Bakker', groups: ['zorgteam'], email: 'zc-9@vo-1.example' },
  'mentor-7': { staff: 'mentor-7', party: 'vo-1', roles: ['mentor'], name: 'Mark de Wit', groups: ['1b'], email: 'mentor-7@vo-1.example' },
  'jgz-3': { staff: 'jgz-3', party: 'jgz-1', roles: ['zat_member'], name: 'Roos Dijkstra', email: 'jgz-3@jgz-1.example' },
  'ouder-1': { name: 'J. de Vries', email: 'ouder-1@thuis.example' },
  'ouder-2': { name: 'A. Jansen', email: 'ouder-2@thuis.example' },
  'intake-4': { staff: 'intake-4', party: 'mbo-1', roles: ['intake_coordinator'], name: 'Karin Smit', email: 'intake-4@mbo-1.example' },
  'slb-5': { staff: 'slb-5', party: 'mbo-1', roles: ['study_career_coach'], name: 'Youssef Bennani', email: 'slb-5@mbo-1.example' },
  // A pupil of 17, through the same login as guardians (ADR 0008).
  'leerling-1': { name: 'Sem de Boer', email: 'leerling-1@thuis.example' },
};
const jwk = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = process.env.ISSUER || `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'gateway',
      client_secret: 'gatewaysecret0123',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: bases.map((b) => `${b}/auth/callback`),
      post_logout_redirect_uris: bases.map((b) => `${b}/`),
    }, {
      client_id: 'ouders',
      client_secret: 'oudersecret01234',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: bases.map((b) => `${b}/ouders/auth/callback`),
      post_logout_redirect_uris: bases.map((b) => `${b}/ouders`),
    },
    // Schools' own systems calling the JSON API with client credentials.
    ...['las-po-1', 'las-teacher', 'las-unknown', 'las-zc', 'las-jgz'].map((id) => ({
      client_id: id,
      client_secret: `${id}-secret-0123456789`,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: 'carenet-api',
    }))],
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        useGrantedResource: () => false,
        async getResourceServerInfo(ctx, resource) {
          if (resource !== 'urn:carenet:api' && resource !== 'urn:other') throw new errors.InvalidTarget();
          return { scope: 'carenet-api', audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: 600 };
        },
      },
    },
    // The gateway's login clients get refresh tokens without offline_access
    // (they end with the login's session at the provider).
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    pkce: { required: () => true },
    claims: { openid: ['sub'], carenet: ['staff', 'party', 'roles', 'groups'], profile: ['name', 'given_name', 'family_name'], email: ['email'] },
    scopes: ['openid', 'carenet', 'profile', 'email', 'carenet-api'],
    conformIdTokenClaims: false,
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    jwks: { keys: [{ ...jwk, kid: process.env.KID || 'test-1', use: 'sig', alg: 'RS256' }] },
    async findAccount(ctx, sub) {
      const user = USERS[sub];
      if (!user) return undefined;
      return { accountId: sub, claims: () => ({ sub, ...user }) };
    },
  });
  const callback = provider.callback();
  server.on('request', (req, res) => {
    const hook = req.url.match(/^\/test\/accounts\/([\w-]+)$/);
    if (!hook) return callback(req, res);
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      if (req.method === 'PUT') USERS[hook[1]] = JSON.parse(body);
      else if (req.method === 'DELETE') delete USERS[hook[1]];
      res.writeHead(204).end();
    });
  });
  console.log(JSON.stringify({ issuer, port: server.address().port }));
});
