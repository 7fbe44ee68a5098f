// The prompt's size with and without the owner's examples (issue 22): the ten held-out reviews of the voice
// fixtures, each drafted against a store holding the thirty pairs at one branch. Measured by the unit test (which
// checks the bound) and by `npm run bench` (which reports the figure).
import { planAnswer } from '../../src/core/answering/policy.ts';
import { buildMessages, PROMPT_CHARACTER_BOUND } from '../../src/core/drafting/prompt.ts';
import type { VoiceExample } from '../../src/core/ports.ts';
import { chooseExamples, exampleOf } from '../../src/core/voice/voice.ts';
import { HELD_OUT, VOICE_BRANCH, VOICE_PAIRS } from '../fixtures/voice-pairs.ts';
import { listed, pipeline, testSettings } from './fakes.ts';

export interface PromptSize {
  /** Model calls measured: one per held-out review. */
  calls: number;
  /** Characters of every message of a call, averaged over the calls. */
  withoutExamples: number;
  withExamples: number;
  /** The largest call with examples. */
  largest: number;
  /** voice.examples in force for `withExamples`. */
  examples: number;
  bound: number;
}

const at = new Date('2026-01-01T00:00:00Z');
const SYSTEM = 'You answer reviews.';

/** A pipeline whose store holds the thirty pairs as the owner's examples at one branch. */
export async function withVoicePairs(voice: { examples?: number; embeddingModel?: string | null } = {}) {
  const world = pipeline({ settings: { ...testSettings, voice } });
  const examples = VOICE_PAIRS.map((pair, index) =>
    exampleOf({ id: pair.id, branchId: VOICE_BRANCH, rating: pair.rating, text: pair.review, authorName: 'Гость' }, pair.answer, 'corrected', new Date(at.getTime() + index * 1000)),
  );
  if (!examples.every((example) => example !== null)) throw new Error('a voice pair is generic');
  await world.store.keepVoiceExamples(examples as VoiceExample[]);
  return world;
}

export async function measurePromptSize(): Promise<PromptSize> {
  const { deps } = await withVoicePairs();
  const size = (messages: ReturnType<typeof buildMessages>) => messages.reduce((sum, message) => sum + message.content.length, 0);
  let before = 0;
  let after = 0;
  let largest = 0;
  for (const [index, held] of HELD_OUT.entries()) {
    const review = { ...listed({ id: `h${index}`, branchId: VOICE_BRANCH, rating: held.rating, text: held.review }), state: 'new' as const };
    const plan = planAnswer(review as never, deps.settings);
    before += size(buildMessages(SYSTEM, review, plan));
    const withExamples = size(buildMessages(SYSTEM, review, plan, [], undefined, await chooseExamples(deps, review)));
    after += withExamples;
    largest = Math.max(largest, withExamples);
  }
  const calls = HELD_OUT.length;
  return { calls, withoutExamples: Math.round(before / calls), withExamples: Math.round(after / calls), largest, examples: 3, bound: PROMPT_CHARACTER_BOUND };
}
