// How long a 2GIS token copied from the browser has been in use (issue 21, item 2): read from the database's record
// of its first sign-in and, when the token is a JWT, its own issue and expiry times; said by doctor in one line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jwtClaims, tokenAge, tokenFingerprint } from '../../src/core/doctor/token-age.ts';
import { messages } from '../../src/ui/messages.ts';

const jwt = (payload: object) => `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`;
const now = new Date('2026-12-07T12:00:00.000Z');

test('a JWT says when it was issued and expires; an opaque token says nothing; nothing is verified, nothing thrown', () => {
  assert.deepEqual(jwtClaims(jwt({ iat: 1_765_000_000, exp: 1_765_086_400 })), { issuedAt: new Date(1_765_000_000_000), expiresAt: new Date(1_765_086_400_000) });
  assert.deepEqual(jwtClaims(jwt({ exp: 1_765_086_400 })), { issuedAt: null, expiresAt: new Date(1_765_086_400_000) });
  for (const opaque of ['0123456789abcdef0123456789abcdef01234567', 'a.b.c', 'a..c', jwt({ sub: 'x' }), jwt({ iat: 'soon' }), `x.${'!'.repeat(10)}.y`]) {
    assert.equal(jwtClaims(opaque), null, opaque);
  }
  assert.match(tokenFingerprint('secret-token'), /^[0-9a-f]{64}$/);
  assert.notEqual(tokenFingerprint('secret-token'), tokenFingerprint('secret-token2'));
});

test('the age runs from the first sign-in here, or from the JWT issue time when that is earlier; the expiry as the token says', () => {
  const use = { firstUsedAt: new Date('2026-12-04T07:55:00.000Z'), lastUsedAt: now };
  assert.deepEqual(tokenAge(use, null, now), { since: use.firstUsedAt, minutes: (3 * 24 + 4) * 60 + 5, expiresAt: null });
  const issued = new Date('2026-12-01T12:00:00.000Z');
  const expires = new Date('2026-12-07T17:30:00.000Z');
  assert.deepEqual(tokenAge(use, { issuedAt: issued, expiresAt: expires }, now), { since: issued, minutes: 6 * 24 * 60, expiresAt: expires });
  assert.equal(tokenAge({ firstUsedAt: now, lastUsedAt: now }, null, now).minutes, 0);
});

test("doctor's words: minutes, hours, days; the expiry ahead or past", () => {
  const line = (minutes: number, expiresIn: number | null) => messages.checks.tokenAge(minutes, '2026-12-04T07:55:00.000Z', expiresIn);
  assert.equal(
    line(5, null),
    'the token has been in use for 5 min (since 2026-12-04 07:55 UTC); when 2GIS stops taking it, copy a fresh one (README: Signing in with a token)',
  );
  assert.match(line(125, 330), /in use for 2 h 5 min \(since .*\); it expires in 5 h 30 min;/);
  assert.match(line((3 * 24 + 4) * 60 + 5, -90), /in use for 3 d 4 h .*; it expired 1 h 30 min ago;/);
});
