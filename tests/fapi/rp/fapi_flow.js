// A FAPI 2.0 relying party made with openid-client 6 (panva; OpenID certified), driven by
// tests/fapi/test_openid_client.py against a real `idp serve`.
//
// Input: FAPI_RP_CONFIG (JSON): issuer, client_id, redirect_uri, scope, id_token_alg and the
// portal's private key for private_key_jwt (client_key: {jwk, kid, alg}).
// Protocol on stdio, one JSON object a line:
//   out {"step": "authorize", "url": ..., "dpop_jkt": ...}   the browser's part is the test's
//   in  the callback URL (the redirect to redirect_uri, with code, state and iss)
//   out {"step": "done", ...}                                 what happened, for the asserts
// Any failure: out {"step": "error", ...} and exit status 1.
//
// The flow: discovery; PAR (RFC 9126) with private_key_jwt (RFC 7523), PKCE S256 and a DPoP
// proof (RFC 9449 10.1: binds the code); the code exchange with DPoP; UserInfo with DPoP;
// refresh with DPoP; UserInfo with the refreshed token; then the same access token without its
// proof (as a bearer token, with the DPoP scheme but no proof, with another key's proof), each
// of which must be refused. Server nonces (use_dpop_nonce) are answered by openid-client itself.

import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';

import * as client from 'openid-client';

const config = JSON.parse(process.env.FAPI_RP_CONFIG);
const stdin = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

function emit(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

async function readLine() {
  const { value, done } = await stdin.next();
  if (done) throw new Error('stdin closed before the callback URL came');
  return value;
}

function b64url(buffer) {
  return Buffer.from(buffer).toString('base64url');
}

// RFC 7638: the SHA-256 thumbprint of the public key's required members, in order.
async function thumbprint(publicKey) {
  const jwk = await crypto.subtle.exportKey('jwk', publicKey);
  const members = jwk.kty === 'EC'
    ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
    : jwk.kty === 'OKP'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
      : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return b64url(createHash('sha256').update(JSON.stringify(members)).digest());
}

// What a refused request looked like: the HTTP status and the WWW-Authenticate error.
function refusal(error) {
  const response = error?.response;
  const challenge = error?.cause?.[0];
  return {
    refused: true,
    name: error?.name,
    code: error?.code,
    status: error?.status ?? response?.status,
    scheme: challenge?.scheme,
    error: challenge?.parameters?.error ?? error?.error,
  };
}

async function expectRefused(request) {
  try {
    const response = await request();
    if (response instanceof Response) {
      const header = response.headers.get('www-authenticate') ?? '';
      return {
        refused: response.status >= 400,
        status: response.status,
        scheme: header.split(' ')[0].toLowerCase(),
        error: /error="([^"]+)"/.exec(header)?.[1],
      };
    }
    return { refused: false };
  } catch (error) {
    return refusal(error);
  }
}

async function main() {
  const key = config.client_key;
  const algorithm = key.alg === 'ES256'
    ? { name: 'ECDSA', namedCurve: 'P-256' }
    : { name: 'RSA-PSS', hash: 'SHA-256' };
  const privateKey = await crypto.subtle.importKey('jwk', key.jwk, algorithm, false, ['sign']);

  const rp = await client.discovery(
    new URL(config.issuer),
    config.client_id,
    {
      token_endpoint_auth_method: 'private_key_jwt',
      id_token_signed_response_alg: config.id_token_alg,
    },
    client.PrivateKeyJwt({ key: privateKey, kid: key.kid }),
    { execute: [client.allowInsecureRequests] }, // the test's issuer is http://127.0.0.1
  );
  const metadata = rp.serverMetadata();

  const dpopKeys = await client.randomDPoPKeyPair('ES256');
  const dpop = client.getDPoPHandle(rp, dpopKeys);
  const jkt = await thumbprint(dpopKeys.publicKey);

  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = await client.buildAuthorizationUrlWithPAR(
    rp,
    {
      redirect_uri: config.redirect_uri,
      scope: config.scope,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      prompt: 'consent',
    },
    { DPoP: dpop },
  );
  emit({ step: 'authorize', url: url.href, dpop_jkt: jkt });

  const callback = new URL(await readLine());
  const tokens = await client.authorizationCodeGrant(
    rp,
    callback,
    { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
    undefined,
    { DPoP: dpop },
  );
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(rp, tokens.access_token, claims.sub, { DPoP: dpop });

  const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token, undefined, {
    DPoP: dpop,
  });
  const userinfoAfterRefresh = await client.fetchUserInfo(
    rp,
    refreshed.access_token,
    claims.sub,
    { DPoP: dpop },
  );

  // The same (refreshed) access token without its proof.
  const access = refreshed.access_token;
  const userinfoUrl = new URL(metadata.userinfo_endpoint);
  const asBearer = await expectRefused(() => client.fetchUserInfo(rp, access, claims.sub));
  const withoutProof = await expectRefused(() => fetch(userinfoUrl, {
    headers: { authorization: `DPoP ${access}` },
  }));
  const otherKey = client.getDPoPHandle(rp, await client.randomDPoPKeyPair('ES256'));
  const otherKeysProof = await expectRefused(
    () => client.fetchUserInfo(rp, access, claims.sub, { DPoP: otherKey }),
  );

  emit({
    step: 'done',
    discovery: {
      pushed_authorization_request_endpoint: metadata.pushed_authorization_request_endpoint,
      dpop_signing_alg_values_supported: metadata.dpop_signing_alg_values_supported,
    },
    authorization_url: url.href,
    dpop_jkt: jkt,
    token: {
      token_type: tokens.token_type,
      scope: tokens.scope,
      has_refresh_token: Boolean(tokens.refresh_token),
      id_token_sub: claims.sub,
      id_token_iss: claims.iss,
      id_token_aud: claims.aud,
      access_token: tokens.access_token,
    },
    userinfo,
    refreshed: {
      token_type: refreshed.token_type,
      rotated: refreshed.refresh_token !== tokens.refresh_token,
      access_token: refreshed.access_token,
    },
    userinfo_after_refresh: userinfoAfterRefresh,
    without_proof: { as_bearer: asBearer, dpop_scheme_no_proof: withoutProof, other_key: otherKeysProof },
  });
}

main().then(
  () => process.exit(0),
  (error) => {
    emit({
      step: 'error',
      name: error?.name,
      message: String(error?.message ?? error),
      code: error?.code,
      error: error?.error,
      error_description: error?.error_description,
      status: error?.status,
      cause: error?.cause ? String(error.cause?.message ?? JSON.stringify(error.cause)) : undefined,
    });
    process.exit(1);
  },
);
