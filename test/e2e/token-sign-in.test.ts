// Signing in with a cabinet token copied from the browser (owners who use 2GIS ID have no password): answered with
// the token alone, and a token 2GIS stops taking ends the cycle with one line that says how to take a fresh one.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { World } from '../support/world.ts';

describe('token sign-in through the real binary', () => {
  let world: World;
  let token: string;
  const branch = '7800000000000031';
  const env = () => ({ GISBOT_2GIS_LOGIN: '', GISBOT_2GIS_PASSWORD: '', GISBOT_2GIS_TOKEN: token });

  before(async () => {
    world = await World.start({ database: 'sqlite' });
    world.twogis.addBranch({ id: branch, name: 'Кофейня', orgId: '100' });
    token = world.twogis.browserToken(world.login);
    await world.run(['balance', 'add', '100', '--yes'], { env: env() });
  });
  after(() => world.close());

  test('reviews are answered with the token alone: no login call', async () => {
    world.twogis.addReview(branch, { id: '31001', rating: 5, text: 'Всё отлично' });
    const result = await world.run(['poll-once', '--json'], { env: env() });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).posted, 1);
    assert.equal(world.twogis.requests.filter((request) => request.path.endsWith('users/auth')).length, 0);
  });

  test('doctor says how long the token has been in use: its first sign-in is kept by its fingerprint, never the token', async () => {
    const rows = await world.query('SELECT business_id, fingerprint, first_used_at, last_used_at FROM access_tokens');
    assert.equal(rows.length, 1, 'the sign-in of the cycle above');
    assert.deepEqual([rows[0]!.business_id, rows[0]!.fingerprint], ['default', createHash('sha256').update(token).digest('hex')]);
    assert.ok(!JSON.stringify(rows).includes(token));
    // As if the cycle above had signed in 3 days, 4 hours and 5 minutes ago.
    await world.query('UPDATE access_tokens SET first_used_at = ?', [Date.now() - ((3 * 24 + 4) * 60 + 5) * 60_000]);
    const doctor = await world.run(['doctor', '--json'], { env: env() });
    const twogis = (JSON.parse(doctor.stdout) as { checks: Array<{ name: string; ok: boolean; detail: string }> }).checks.find((check) => check.name === '2GIS')!;
    assert.equal(twogis.ok, true, doctor.stderr);
    assert.match(twogis.detail, /^signed in with the access token at 127\.0\.0\.1:\d+; the token has been in use for 3 d 4 h \(since \d{4}-\d\d-\d\d \d\d:\d\d UTC\); when 2GIS stops taking it, copy a fresh one/);
    assert.ok(!doctor.stdout.includes(token) && !doctor.stderr.includes(token));
    const human = await world.run(['doctor'], { env: env() });
    assert.match(human.stdout, /✓ 2GIS +signed in with the access token .*in use for 3 d 4 h/);
  });

  test('an expired token: exit 1, one line naming twogis.accessToken, auth.failed with code token_expired, the token nowhere', async () => {
    world.twogis.addReview(branch, { id: '31002', rating: 5, text: 'Хорошо' });
    world.twogis.expireTokens(world.login);
    const result = await world.run(['poll-once', '--json'], { env: env() });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /twogis\.accessToken/);
    const failed = (await world.query("SELECT data FROM events WHERE type = 'auth.failed'")).map((row) => JSON.parse(String(row.data)));
    assert.equal(failed.length, 1);
    assert.equal(failed[0].code, 'token_expired');
    assert.equal(world.twogis.postsTo('31002'), 0);
    const everything = [result.stdout, result.stderr, JSON.stringify(await world.logLines()), JSON.stringify(world.receiver.frames.map((f) => f.raw))].join('\n');
    assert.ok(!everything.includes(token), 'the token is never printed, logged or sent');
  });

  test('login and password together with a token is a configuration error', async () => {
    const result = await world.run(['balance'], { env: { GISBOT_2GIS_TOKEN: token } });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /either twogis\.accessToken or twogis\.login/);
  });
});
