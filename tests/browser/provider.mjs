// A real OpenID Connect provider for the gateway's end-to-end tests
// (panva/oidc-provider, its development login pages). Usage:
//   node provider.mjs <gateway base URL>...
// Registers, for every gateway, the staff client `gateway` (callback
// <base>/auth/callback) and the guardians' client `ouders` (callback
// <base>/ouders/auth/callback), and systems' clients for the JSON API
// (client credentials; the gateway introspects their tokens). Prints {"issuer": "..."} once it listens.
import http from 'node:http';
import crypto from 'node:crypto';
import { Provider } from 'oidc-provider';

const bases = process.argv.slice(2);
// Test staff: the claims a school's identity provider would give.
// Test guardians: what a DigiD broker would give (a subject and a name).
const USERS = {
  'ib-1': { staff: 'ib-1', party: 'po-1', roles: ['support_coordinator_po'] },
  'mentor-2': { staff: 'mentor-2', party: 'po-1', roles: ['mentor'] },
  'zc-9': { staff: 'zc-9', party: 'vo-1', roles: ['care_coordinator'] },
  'mentor-7': { staff: 'mentor-7', party: 'vo-1', roles: ['mentor'] },
  'jgz-3': { staff: 'jgz-3', party: 'jgz-1', roles: ['zat_member'] },
  'ouder-1': { name: 'J. de Vries' },
  'ouder-2': { name: 'A. Jansen' },
};
const jwk = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'gateway',
      client_secret: 'gatewaysecret0123',
      redirect_uris: bases.map((b) => `${b}/auth/callback`),
      post_logout_redirect_uris: bases.map((b) => `${b}/`),
    }, {
      client_id: 'ouders',
      client_secret: 'oudersecret01234',
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
    },
    pkce: { required: () => true },
    claims: { openid: ['sub'], carenet: ['staff', 'party', 'roles'], profile: ['name'] },
    scopes: ['openid', 'carenet', 'profile', 'carenet-api'],
    conformIdTokenClaims: false,
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    jwks: { keys: [{ ...jwk, kid: 'test-1', use: 'sig', alg: 'RS256' }] },
    async findAccount(ctx, sub) {
      const user = USERS[sub];
      if (!user) return undefined;
      return { accountId: sub, claims: () => ({ sub, ...user }) };
    },
  });
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer }));
});
