import { answerRechecks } from '/work/wt/removed/bench/scenarios.ts';
const r = await answerRechecks({ waves: 24, perWave: 10, rush: 60, branches: 20 });
console.log(JSON.stringify(r));
