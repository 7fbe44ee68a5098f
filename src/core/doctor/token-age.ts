// How long a 2GIS cabinet token copied from the browser (twogis.accessToken) has been in use, for `gisbot doctor`
// (issue 21, item 2): 2GIS publishes no lifetime and gives no refresh token, so an owner who knows their token has
// worked for four days can expect to take a fresh one soon. The database keeps when each token (by its SHA-256, never
// the token itself) first and last signed in; a token that is a JWT also says when it was issued and expires.
import { createHash } from 'node:crypto';

/** The token as the database knows it: its SHA-256 in hex. The token itself is a secret and is never stored. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** What the token itself says, when it is a JWT (`header.payload.signature`); nothing is verified, only read. */
export interface TokenClaims {
  issuedAt: Date | null;
  expiresAt: Date | null;
}

export function jwtClaims(token: string): TokenClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1]!.length === 0 || parts[1]!.length > 8_000) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof payload !== 'object' || payload === null) return null;
  const at = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value > 0 && value < 1e11 ? new Date(value * 1000) : null);
  const claims = { issuedAt: at((payload as { iat?: unknown }).iat), expiresAt: at((payload as { exp?: unknown }).exp) };
  return claims.issuedAt === null && claims.expiresAt === null ? null : claims;
}

/** The database's record of one token of one business. */
export interface TokenUse {
  firstUsedAt: Date;
  lastUsedAt: Date;
}

export interface TokenAge {
  /** Since when the token is known to be in use: the earlier of its first sign-in here and its JWT issue time. */
  since: Date;
  /** now − since, whole minutes. */
  minutes: number;
  /** From the JWT, when it says. */
  expiresAt: Date | null;
}

export function tokenAge(use: TokenUse, claims: TokenClaims | null, now: Date): TokenAge {
  const issued = claims?.issuedAt ?? null;
  const since = issued !== null && issued < use.firstUsedAt ? issued : use.firstUsedAt;
  return { since, minutes: Math.max(0, Math.floor((now.getTime() - since.getTime()) / 60_000)), expiresAt: claims?.expiresAt ?? null };
}
