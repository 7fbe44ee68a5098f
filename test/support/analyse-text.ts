// Run as a child process by test/unit/text-bounds.test.ts: puts hostile texts of the size given on the command
// line through every analysis gisbot runs over a review's or a draft's text, and prints `done <shape>` after
// each. A parent that sees a shape's line missing after its kill timeout knows which text stalled the analysis.
import { answerLanguage, comparableText, gateProblems, normaliseDraft } from '../../src/core/drafting/gate.ts';
import { detectLanguage } from '../../src/core/drafting/language.ts';
import { decideIntake, hasText, planAnswer, planFollowUp } from '../../src/core/answering/policy.ts';
import { buildMessages } from '../../src/core/drafting/prompt.ts';
import { HOSTILE_TEXTS } from '../fixtures/hostile-texts.ts';

const SYSTEM_PROMPT = 'You answer customer reviews on 2GIS on behalf of the business named in the message, briefly and kindly.';
const settings = { approvalBelowRating: 3, maxLength: 4000 };

function analyse(text: string): void {
  detectLanguage(text);
  answerLanguage(text, 'rus');
  hasText(text);
  comparableText(text);
  const draft = normaliseDraft(text);
  gateProblems({ text: draft, finishReason: 'stop' }, settings, { reviewText: text, defaultLanguage: 'rus', systemPrompt: SYSTEM_PROMPT });
  const review = {
    id: '1', branchId: '70000001', branchName: 'Кофейня', rating: 5, text, authorId: null, authorName: text,
    createdAt: '2024-03-01T10:00:00+03:00', editedAt: null, catalogId: '2gis', isHidden: false, canReply: true,
    hasOwnerAnswer: false, commentsCount: 0,
  };
  decideIntake(review, settings);
  const plan = planFollowUp(planAnswer(review, settings), text);
  buildMessages(SYSTEM_PROMPT, review, plan, [], { history: [{ role: 'reviewer', text }], comment: text });
}

const size = Number(process.argv[2]);
const only = process.argv.slice(3);
for (const [name, shape] of Object.entries(HOSTILE_TEXTS)) {
  if (only.length > 0 && !only.includes(name)) continue;
  analyse(shape(size));
  process.stdout.write(`done ${name}\n`);
}
