// Which language a person reads, and the Intl pieces that make a number, a date, a count or an amount of money read
// right in it. Only people-facing text depends on this: stdout data (--json, ids, decimal money strings) never does.

export const LANGUAGES = ['ru', 'en'] as const;
export type UiLanguage = (typeof LANGUAGES)[number];

/** The BCP 47 locale each language formats numbers and dates with. */
export const INTL_LOCALE: Readonly<Record<UiLanguage, string>> = { ru: 'ru-RU', en: 'en-US' };

/**
 * The language of the locale variables, as a terminal or cron has them: the first of LC_ALL, LC_MESSAGES, LANG that
 * is set (POSIX's order). Russian for Russian and for the languages of the countries whose owners read Russian
 * (Kazakh, Kyrgyz, Uzbek, Belarusian); English for anything else, `C` and none at all.
 */
export function languageOfLocale(env: Readonly<Record<string, string | undefined>>): UiLanguage {
  const locale = [env.LC_ALL, env.LC_MESSAGES, env.LANG].find((value) => value !== undefined && value.trim() !== '') ?? '';
  return /^(ru|kk|ky|uz|be)([_.@-]|$)/i.test(locale.trim()) ? 'ru' : 'en';
}

export function isLanguage(value: unknown): value is UiLanguage {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/**
 * `--lang <ru|en>` (or `--lang=ru`) as written on the command line, read before commander parses it: `--help` and
 * the errors of parsing itself are already in that language. Undefined when absent; the raw text when it is not a
 * language (commander's own check reports it).
 */
export function langFlag(argv: readonly string[]): string | undefined {
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--') return undefined;
    if (arg === '--lang') return argv[index + 1];
    if (arg.startsWith('--lang=')) return arg.slice('--lang='.length);
  }
  return undefined;
}

/** The terminal's language: `--lang` > `ui.language` > the locale (contract.md, `ui.language`). */
export function terminalLanguage(flag: string | undefined, key: UiLanguage | undefined, env: Readonly<Record<string, string | undefined>>): UiLanguage {
  if (isLanguage(flag)) return flag;
  return key ?? languageOfLocale(env);
}

/** The plural category of `count` in `language` (`one`, `few`, `many`, `other`), by Intl.PluralRules. */
const pluralRules = new Map<UiLanguage, Intl.PluralRules>();
export function pluralCategory(language: UiLanguage, count: number): Intl.LDMLPluralRule {
  let rules = pluralRules.get(language);
  if (!rules) pluralRules.set(language, (rules = new Intl.PluralRules(INTL_LOCALE[language])));
  return rules.select(count);
}

/** A whole number as the language writes it: `1 234` (a no-break space) in Russian, `1,234` in English. */
export function formatCount(language: UiLanguage, value: number): string {
  return new Intl.NumberFormat(INTL_LOCALE[language], { maximumFractionDigits: 0 }).format(value);
}

/** A number with exactly `digits` decimals: `4,50` in Russian, `4.50` in English. */
export function formatDecimal(language: UiLanguage, value: number, digits: number): string {
  return new Intl.NumberFormat(INTL_LOCALE[language], { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

// The deployment's currency (`billing.currency`, ISO 4217): one for every business, so sums stay one sum. Set once
// the config is read; RUB until then (and in the unit tests).
let deploymentCurrency = 'RUB';

export function setCurrency(code: string): void {
  deploymentCurrency = code;
}

export function currency(): string {
  return deploymentCurrency;
}

/**
 * A decimal money string as gisbot keeps it ("1250.00", "-5.00", "+5.00") as a person reads it: `1 250,00 ₸` in
 * Russian (the currency's sign, Intl's narrow symbol), `1,250.00 KZT` in English (the code: the sign alone is
 * ambiguous between the dollars and the rubles of the world). The amount is formatted from the string itself, so
 * no digit is lost to floating point. Anything that is not such a string is shown as it is.
 */
export function formatMoneyFor(language: UiLanguage, text: string, code: string = deploymentCurrency): string {
  const trimmed = String(text).trim();
  if (!/^[+-]?\d+(\.\d+)?$/.test(trimmed)) return String(text);
  const signDisplay = trimmed.startsWith('+') ? 'exceptZero' : 'auto';
  const amount = trimmed.replace(/^\+/, '') as `${number}`;
  return `${moneyFormat(language, code, signDisplay).format(amount)}${language === 'ru' ? '' : ` ${code}`}`;
}

// An Intl.NumberFormat takes ~80 µs to build and every answer's events, log lines and messages show money: each
// shape is built once per process (a handful: two languages, a currency or two, two sign displays).
const moneyFormats = new Map<string, Intl.NumberFormat>();

function moneyFormat(language: UiLanguage, code: string, signDisplay: 'exceptZero' | 'auto'): Intl.NumberFormat {
  const key = `${language} ${code} ${signDisplay}`;
  let format = moneyFormats.get(key);
  if (format === undefined) {
    if (language === 'ru') {
      format = new Intl.NumberFormat('ru-RU', { style: 'currency', currency: code, currencyDisplay: 'narrowSymbol', signDisplay });
    } else {
      const digits = new Intl.NumberFormat('en-US', { style: 'currency', currency: code }).resolvedOptions().minimumFractionDigits ?? 2;
      format = new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits, signDisplay });
    }
    moneyFormats.set(key, format);
  }
  return format;
}

/** Is `code` a currency Intl knows (ISO 4217)? */
export function isCurrency(code: string): boolean {
  if (!/^[A-Z]{3}$/.test(code)) return false;
  try {
    return (Intl.supportedValuesOf('currency') as string[]).includes(code);
  } catch {
    return true;
  }
}

/** A calendar date as the language writes it: `7 декабря 2026 г.`, `December 7, 2026`, in `timeZone`. */
export function formatDate(language: UiLanguage, at: Date, timeZone?: string): string {
  return new Intl.DateTimeFormat(INTL_LOCALE[language], { day: 'numeric', month: 'long', year: 'numeric', ...(timeZone ? { timeZone } : {}) }).format(at);
}

/** A date and a time to the minute: `7 декабря 2026 г., 09:00`, `December 7, 2026 at 9:00 AM`, in `timeZone`. */
export function formatDateTime(language: UiLanguage, at: Date, timeZone?: string): string {
  return new Intl.DateTimeFormat(INTL_LOCALE[language], {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    ...(timeZone ? { timeZone } : {}),
  }).format(at);
}
