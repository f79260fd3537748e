// The receiving end of Web Push for the end-to-end test: what a browser vendor's push service and
// the browser do between them, on this machine. It holds a subscription's keys (a P-256 key pair
// and a 16-byte auth secret, as a browser makes them), runs the HTTP endpoint the application
// server POSTs to, checks the VAPID signature of each request (RFC 8292) and decrypts its body
// (RFC 8291: aes128gcm, RFC 8188) with node:crypto, so that the encryption under test is real.

import { createECDH, createPublicKey, hkdfSync, createDecipheriv, randomBytes, verify } from 'node:crypto';
import { createServer } from 'node:http';

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');
const fromB64url = (text) => Buffer.from(text, 'base64url');

/** A browser's keys for one subscription: the ECDH pair and the auth secret. */
export function subscriptionKeysCreate() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return { ecdh, auth, p256dh: b64url(ecdh.getPublicKey()), authText: b64url(auth) };
}

/**
 * Decrypts an aes128gcm Web Push body (RFC 8291 section 3.4, RFC 8188 section 2) with the
 * subscription's keys. Throws when any record fails its authentication tag.
 */
export function webPushDecrypt(body, { ecdh, auth }) {
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const keyIdLength = body.readUInt8(20);
  const serverPublicKey = body.subarray(21, 21 + keyIdLength);
  const ciphertext = body.subarray(21 + keyIdLength);
  if (keyIdLength !== 65) throw new Error(`the key id is ${keyIdLength} bytes, not a P-256 public key (65)`);
  if (recordSize < 18) throw new Error(`record size ${recordSize} is below the minimum of 18`);

  const sharedSecret = ecdh.computeSecret(serverPublicKey);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), ecdh.getPublicKey(), serverPublicKey]);
  const inputKey = Buffer.from(hkdfSync('sha256', sharedSecret, auth, keyInfo, 32));
  const contentKey = Buffer.from(hkdfSync('sha256', inputKey, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const baseNonce = Buffer.from(hkdfSync('sha256', inputKey, salt, Buffer.from('Content-Encoding: nonce\0'), 12));

  const records = [];
  for (let offset = 0, sequence = 0; offset < ciphertext.length; offset += recordSize, sequence += 1) {
    const record = ciphertext.subarray(offset, Math.min(offset + recordSize, ciphertext.length));
    const nonce = Buffer.from(baseNonce);
    // The record's sequence number is XORed into the nonce's end (RFC 8188 section 2.3); fewer than
    // 2^32 records leave its first eight bytes as they are.
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ sequence) >>> 0, 8);
    const decipher = createDecipheriv('aes-128-gcm', contentKey, nonce);
    decipher.setAuthTag(record.subarray(record.length - 16));
    const plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
    // Padding: the delimiter (2 in the last record, 1 before) then zeros.
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end -= 1;
    const last = offset + recordSize >= ciphertext.length;
    if (plain[end] !== (last ? 2 : 1)) throw new Error(`record ${sequence} has no valid padding delimiter`);
    records.push(plain.subarray(0, end));
  }
  return Buffer.concat(records).toString('utf8');
}

/**
 * The VAPID Authorization header, `vapid t=<JWT>, k=<public key>` (RFC 8292 section 3): answers
 * the JWT's claims once its ES256 signature checks out with the key it names.
 */
export function vapidVerify(header) {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? '');
  if (!match) throw new Error(`not a VAPID Authorization header: ${header}`);
  const [, token, key] = match;
  const [encodedHeader, encodedClaims, signature] = token.split('.');
  const point = fromB64url(key);
  const publicKey = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64url(point.subarray(1, 33)), y: b64url(point.subarray(33, 65)) },
    format: 'jwk',
  });
  const signed = Buffer.from(`${encodedHeader}.${encodedClaims}`);
  if (!verify('sha256', signed, { key: publicKey, dsaEncoding: 'ieee-p1363' }, fromB64url(signature))) {
    throw new Error('the VAPID JWT signature does not verify with its key');
  }
  return { key, claims: JSON.parse(fromB64url(encodedClaims).toString('utf8')) };
}

/**
 * The local push endpoint: every POST is kept with its arrival time, headers, decrypted payload
 * and VAPID claims (or the error that stopped them), and answered 201 as push services do.
 */
export async function pushEndpointStart(keys) {
  const received = [];
  const waiters = [];
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const entry = { at: Date.now(), method: request.method, path: request.url, headers: request.headers };
      try {
        if (request.headers['content-encoding'] !== 'aes128gcm') {
          throw new Error(`Content-Encoding is ${request.headers['content-encoding']}, not aes128gcm`);
        }
        entry.vapid = vapidVerify(request.headers.authorization);
        entry.payload = JSON.parse(webPushDecrypt(Buffer.concat(chunks), keys));
      } catch (error) {
        entry.error = error;
      }
      received.push(entry);
      for (const waiter of waiters.splice(0)) waiter();
      response.writeHead(201, { Location: `${request.url}/messages/${received.length}` }).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/push/e2e-tablet`;
  /** The first message `accept(entry)` takes, waiting up to timeoutMs for it. */
  const next = async (accept, timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = received.find(accept);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no push message arrived within ${timeoutMs / 1000} s (${received.length} others)`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  return { url, received, next, close: () => new Promise((resolve) => server.close(resolve)) };
}
