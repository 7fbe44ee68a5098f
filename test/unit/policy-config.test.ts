// The `policy.*` keys: parsed strictly, defaults in one place, and handed to the core per branch.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { settingsFrom } from '../../src/context.ts';
import { branchPolicy, decideAnswering, decideIntake } from '../../src/core/answering/policy.ts';
import { ConfigError } from '../../src/errors.ts';
import { listed } from '../support/fakes.ts';

// Every config of these tests lives below one folder, removed at the end.
const root = await mkdtemp(path.join(tmpdir(), 'gisbot-policy-'));
after(() => rm(root, { recursive: true, force: true }));

async function load(yaml: string) {
  const dir = await mkdtemp(path.join(root, 'case-'));
  const file = path.join(dir, '.gisbotrc');
  await writeFile(file, yaml);
  await chmod(file, 0o600);
  return loadConfig({ cwd: dir, env: {}, dataDir: dir });
}

describe('policy configuration', () => {
  test('defaults: rating-only answered, Russian, two regenerations, moderation off, follow-ups off', async () => {
    const settings = settingsFrom(await load('{}'));
    assert.deepEqual(branchPolicy(settings, '1'), {
      enabled: true,
      tone: null,
      signature: null,
      facts: [],
      approvalBelowRating: 3,
      answerRatingOnly: true,
      defaultLanguage: 'rus',
    });
    assert.equal(settings.policy?.maxRegenerations, 2);
    assert.equal(settings.policy?.moderation, 'off');
    assert.equal(settings.policy?.answerFollowUps, false);
  });

  test('per-branch keys override the global ones, key by key', async () => {
    const settings = settingsFrom(
      await load(
        [
          'policy:',
          '  approvalBelowRating: 2',
          '  tone: тёплый',
          '  signature: — команда',
          '  facts: Открыты с 8:00',
          '  defaultLanguage: kk',
          '  moderation: required',
          '  maxRegenerations: 0',
          '  branches:',
          '    "70000001017466092":',
          '      enabled: false',
          '    "70000001017466093":',
          '      approvalBelowRating: 5',
          '      facts: [Терраса, Парковка]',
          '      defaultLanguage: en',
          '      answerRatingOnly: false',
        ].join('\n'),
      ),
    );
    assert.equal(settings.policy?.moderation, 'required');
    assert.equal(settings.policy?.maxRegenerations, 0);
    assert.deepEqual(branchPolicy(settings, '1'), {
      enabled: true,
      tone: 'тёплый',
      signature: '— команда',
      facts: ['Открыты с 8:00'],
      approvalBelowRating: 2,
      answerRatingOnly: true,
      defaultLanguage: 'kaz',
    });
    assert.equal(branchPolicy(settings, '70000001017466092').enabled, false);
    assert.deepEqual(branchPolicy(settings, '70000001017466093'), {
      enabled: true,
      tone: 'тёплый',
      signature: '— команда',
      facts: ['Терраса', 'Парковка'],
      approvalBelowRating: 5,
      answerRatingOnly: false,
      defaultLanguage: 'eng',
    });
    assert.equal(decideIntake(listed({ id: '1', branchId: '70000001017466092' }), settings).state, 'skipped');
    assert.equal(decideIntake(listed({ id: '2', branchId: '70000001017466093', rating: 4 }), settings).state, 'needs_approval');
    assert.equal(decideIntake(listed({ id: '3', rating: 2, branchId: '1' }), settings).state, 'new');

    // At the moment of answering the same rules hold, and the branch must still be watched this cycle.
    const watched = new Set(['1', '70000001017466092', '70000001017466093']);
    assert.deepEqual(decideAnswering(listed({ id: '4', branchId: '70000001017466092' }), settings, watched), {
      state: 'skipped',
      reason: 'answering is off for branch 70000001017466092 (policy.branches)',
      code: 'branch_off',
    });
    assert.deepEqual(decideAnswering(listed({ id: '5', branchId: '70000001017466093', rating: 4 }), settings, watched), {
      state: 'needs_approval',
      reason: 'rated 4, below policy.approvalBelowRating (5)',
      code: 'below_threshold',
    });
    assert.deepEqual(decideAnswering(listed({ id: '6', branchId: '1', rating: 2 }), settings, watched), { state: 'new', reason: null });
    const gone = decideAnswering(listed({ id: '7', branchId: '1', rating: 5 }), settings, new Set(['70000001017466093']));
    assert.equal(gone.state, 'skipped');
    assert.match(gone.reason!, /^branch 1 is no longer watched \(not in twogis\.branches, or gone from the account's branches\)$/);
  });

  test('wrong values and unknown keys are errors naming the key', async () => {
    await assert.rejects(
      load('policy:\n  moderation: sometimes\n  branches:\n    "1":\n      colour: red\n  maxRegenerations: 9\n'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const text = error.problems.join('\n');
        assert.match(text, /policy\.moderation/);
        assert.match(text, /policy\.branches\.1.*colour|colour.*unknown/);
        assert.match(text, /policy\.maxRegenerations/);
        return true;
      },
    );
  });
});
