// Which language a text is written in, for the reply gate's "same language as the review" rule.
//
// Trigram detection (franc-min) is unreliable on a few words: "Всё понравилось" comes out as Bulgarian and
// "great coffee" as Romanian. So the script decides first (Cyrillic or Latin letters), letters that only one
// language of the script has decide next (Kazakh әғқңөұүһ, Ukrainian їєґ, Belarusian ў, Serbian ђјљњћџ), and
// franc is asked only about longer texts, and only among the languages of that script. Pure computation, on the
// text's first LANGUAGE_SAMPLE characters only: a review may be millions of characters long.
import { createRequire } from 'node:module';
import { leading } from './text.ts';

// franc-min (and its trigram tables) loads on the first text that needs it, not with every command that
// merely reads the config: most detections are decided by the script and letters alone.
const require = createRequire(import.meta.url);
let francModule: typeof import('franc-min') | null = null;
const francLibrary = () => (francModule ??= require('franc-min') as typeof import('franc-min'));
const franc: typeof import('franc-min').franc = (value, options) => francLibrary().franc(value, options);
const francAll: typeof import('franc-min').francAll = (value, options) => francLibrary().francAll(value, options);

/** ISO 639-3, as franc names languages: 'rus', 'kaz', 'eng', 'ukr', ... */
export type Language = string;

/** The languages gisbot is expected to handle, by the ISO 639-1 codes a config file uses. */
export const CONFIG_LANGUAGES = { ru: 'rus', kk: 'kaz', en: 'eng' } as const;
export type ConfigLanguage = keyof typeof CONFIG_LANGUAGES;

const NAMES: Record<string, string> = {
  rus: 'Russian',
  kaz: 'Kazakh',
  eng: 'English',
  ukr: 'Ukrainian',
  bel: 'Belarusian',
  bul: 'Bulgarian',
  srp: 'Serbian',
  uzn: 'Uzbek',
  deu: 'German',
  fra: 'French',
  spa: 'Spanish',
  ita: 'Italian',
  por: 'Portuguese',
  tur: 'Turkish',
  pol: 'Polish',
  nld: 'Dutch',
};

export function languageName(language: Language): string {
  return NAMES[language] ?? language;
}

/** Below this many letters a text is "short": the script alone decides. */
export const SHORT_TEXT_LETTERS = 30;

/** How much of a text (UTF-16 code units) its language is judged by: franc itself reads at most 2048. */
export const LANGUAGE_SAMPLE = 4000;

const LATIN_CANDIDATES = ['eng', 'deu', 'fra', 'spa', 'ita', 'por', 'tur', 'pol', 'nld', 'uzn', 'ron', 'ces', 'hun', 'swe', 'ind', 'vie'];

const KAZAKH_ONLY = /[әғқңөұүһ]/giu;

/**
 * The language of `text`, or null when it has no letters to judge by (a rating without text, emoji only).
 * Texts in a script other than Cyrillic or Latin get franc's guess, or 'und' when it has none.
 */
export function detectLanguage(input: string): Language | null {
  const text = withoutNoise(leading(input, LANGUAGE_SAMPLE));
  const letters = text.match(/\p{L}/gu) ?? [];
  if (letters.length === 0) return null;
  const cyrillic = letters.filter((letter) => /\p{Script=Cyrillic}/u.test(letter)).length;
  const latin = letters.filter((letter) => /\p{Script=Latin}/u.test(letter)).length;
  if (cyrillic + latin < letters.length / 2) {
    const guess = franc(text, { minLength: 1 });
    return guess === 'und' ? 'und' : guess;
  }
  return cyrillic >= latin ? cyrillicLanguage(text, cyrillic) : latinLanguage(text, latin);
}

/**
 * Links, e-mails, @handles and <tags> are written in Latin letters whatever the language around them.
 * Each pattern does bounded work per starting point (linear in the text): an e-mail starts only where its run of
 * address characters starts (a search from inside the run would rescan it: quadratic on a long word), and a
 * domain has at most 127 labels of at most 63 characters, as in DNS.
 */
function withoutNoise(text: string): string {
  return text
    .replace(/(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+/gu, ' ')
    .replace(/(?:https?|ftp):\/\/\S+|www\.\S+|\b[\w-]{1,63}(?:\.[\w-]{1,63}){0,126}\.[a-z]{2,63}(?:\/\S*)?/giu, ' ')
    .replace(/@[\p{L}\p{N}_.]+/gu, ' ')
    .replace(/<\/?[^<>\s]{1,20}>/g, ' ');
}

function cyrillicLanguage(text: string, letters: number): Language {
  const kazakh = text.match(KAZAKH_ONLY)?.length ?? 0;
  if (kazakh > 0) {
    // A long Russian text may quote a Kazakh name ("ТРЦ Көктем"): then the trigrams decide between the two.
    if (letters < SHORT_TEXT_LETTERS || kazakh >= 3) return 'kaz';
    return franc(text, { only: ['rus', 'kaz'], minLength: 1 }) === 'rus' ? 'rus' : 'kaz';
  }
  if (/[їєґ]/iu.test(text)) return 'ukr';
  if (/ў/iu.test(text)) return 'bel';
  if (/[ђјљњћџ]/iu.test(text)) return 'srp';
  // Russian has no і; Kazakh, Ukrainian and Belarusian do.
  if (/і/iu.test(text)) {
    const guess = franc(text, { only: ['kaz', 'ukr', 'bel'], minLength: 1 });
    return guess === 'und' ? 'kaz' : guess;
  }
  // Without letters of its own a Cyrillic text is taken as Russian: trigrams mistake Russian for Bulgarian or
  // Serbian far more often than a Bulgarian review turns up, and Ukrainian and Belarusian have letters of their own.
  return 'rus';
}

function latinLanguage(text: string, letters: number): Language {
  if (letters < SHORT_TEXT_LETTERS) return 'eng';
  const scores = francAll(text, { only: LATIN_CANDIDATES, minLength: 1 });
  const [top] = scores;
  if (!top || top[0] === 'und') return 'eng';
  // English unless another language is clearly closer.
  const english = scores.find(([code]) => code === 'eng')?.[1] ?? 0;
  return english >= 0.9 ? 'eng' : top[0];
}
