// The model port over any OpenAI-compatible chat-completions endpoint. The SDK's own retries (maxRetries, with its
// backoff and Retry-After handling) are the one retry layer for failures; this adapter adds none. What it does
// resend is a different request, at most once per change: one the server refused for a parameter it does not take
// (the dialect below), or one whose budget a reasoning model spent thinking.
//
// Dialects: OpenAI's gpt-5 family and o-series take `max_completion_tokens` and only their default temperature;
// gpt-4o and older, Ollama, vLLM, LM Studio, DeepSeek, YandexGPT and GigaChat take `max_tokens`. The field is
// chosen by model family for OpenAI's known families and learnt from the server's 400 for anything else; a
// refused temperature or seed is dropped. Whatever is learnt holds for this adapter, which lives as long as the
// process.
//
// Reasoning: `<think>…</think>` in the text (Qwen3, DeepSeek-R1 on local servers) is cut out, an unclosed one with
// everything after it; `reasoning_content` / `reasoning` fields (DeepSeek, vLLM, LM Studio) are never read as the
// answer. A model seen reasoning gets room for it in the budget.
//
// Errors are mapped to ServiceError with messages written here: SDK messages can carry request details, so they
// are never passed through, and the SDK error is never attached as a cause. The API key is scrubbed from any
// server-provided text we quote.
import type OpenAI from 'openai';
import type { ChatMessage, Completion, CompletionOptions, Model, ModerationVerdict } from '../../core/ports.ts';
import { ServiceError } from '../../errors.ts';
import { limitedFetch } from './limited-fetch.ts';

export interface OpenAiModelOptions {
  baseURL: string;
  /** Absent: the server takes no key (a local one), and no Authorization header is sent. */
  apiKey?: string;
  model: string;
  /** Per-attempt deadline, default 60000 ms. */
  timeoutMs?: number;
  /** The SDK's retries (429, 5xx, timeouts, connection errors), default 2. */
  maxRetries?: number;
  /** Sent only when set: reasoning models take only their default. */
  temperature?: number;
  /** The whole completion budget, reasoning included, sent as is; absent: gisbot's budget (see below). */
  maxTokens?: number;
  /** Told each time the adapter changes how it speaks to the server, for the log. */
  onAdjust?: (message: string) => void;
}

type OpenAiModule = typeof import('openai');

/** Tokens for the answer itself: a review's answer is a few sentences. */
export const ANSWER_TOKENS = 600;
/** Added for a model that reasons before it answers: its thinking counts against the same budget. */
export const REASONING_ROOM = 4000;

type BudgetField = 'max_tokens' | 'max_completion_tokens';
/** The parameters a server may refuse and the adapter can do without (or say another way). */
type Adjustable = BudgetField | 'temperature' | 'seed' | 'response_format';

/**
 * The structured answer asked for with CompletionOptions.topics: the answer and the review's topic labels. Not
 * `strict`: servers that take a schema but not OpenAI's strict mode (Ollama, vLLM, LM Studio) take it as it is.
 */
const ANSWER_WITH_TOPICS = {
  type: 'json_schema',
  json_schema: {
    name: 'answer_with_topics',
    schema: {
      type: 'object',
      properties: {
        answer: { type: 'string', description: 'the text of the answer to publish, nothing else' },
        topics: { type: 'array', items: { type: 'string' }, description: 'one to three short labels of what the customer writes about' },
      },
      required: ['answer', 'topics'],
      additionalProperties: false,
    },
  },
} as const;

const KEY_HINT = 'check openai.apiKey in the config or the OPENAI_API_KEY environment variable';

/** OpenAI's reasoning families (o1, o3, o4-mini, gpt-5, gpt-5-mini, ...), also behind a gateway's `openai/` prefix. */
export function isReasoningFamily(model: string): boolean {
  return /^(?:o\d+(?:-|$)|gpt-5)/i.test(model.slice(model.lastIndexOf('/') + 1));
}

export function createOpenAiModel(options: OpenAiModelOptions): Model {
  const host = safeHost(options.baseURL);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxRetries = options.maxRetries ?? 2;
  const apiKey = options.apiKey;
  const reasoningFamily = isReasoningFamily(options.model);
  /** How this server wants to be spoken to, as far as it has told us. */
  const dialect = {
    budgetField: (reasoningFamily ? 'max_completion_tokens' : 'max_tokens') as BudgetField,
    dropped: new Set<Adjustable>(),
    reasons: reasoningFamily,
  };
  // The first call goes alone while the dialect is a guess, so workers that start together learn it from one
  // refusal; a reasoning family with no temperature to refuse has nothing to learn, and its workers start at once.
  let firstCall: Promise<unknown> | null = reasoningFamily && options.temperature === undefined ? Promise.resolve() : null;

  let loaded: Promise<{ mod: OpenAiModule; client: OpenAI }> | null = null;
  // A body over the limit ends the call as a bad response naming the limit (never retried: it would come again).
  const boundedFetch = limitedFetch((limit, method, url) => {
    const prefix = safePath(options.baseURL);
    const path = url.pathname.startsWith(`${prefix}/`) ? url.pathname.slice(prefix.length) : url.pathname;
    return new ServiceError(
      'model',
      'bad_response',
      `the model at ${host} sent more than ${limit / (1024 * 1024)} MiB in answer to ${method} ${path} (the limit for one response); the rest was not read`,
    );
  });

  function load(): Promise<{ mod: OpenAiModule; client: OpenAI }> {
    loaded ??= import('openai').then((mod) => ({
      mod,
      client: new mod.OpenAI({
        baseURL: options.baseURL,
        // The SDK wants a key (or reads OPENAI_API_KEY itself): a keyless server gets a stand-in that is never sent.
        apiKey: apiKey ?? 'none',
        ...(apiKey === undefined ? { defaultHeaders: { Authorization: null } } : {}),
        timeout: timeoutMs,
        maxRetries,
        fetch: boundedFetch,
      }),
    }));
    loaded.catch(() => {
      loaded = null;
    });
    return loaded;
  }

  function redact(text: string): string {
    let out = text;
    if (apiKey !== undefined && apiKey.length >= 4) out = out.split(apiKey).join('***');
    return out.length > 300 ? `${out.slice(0, 300)}…` : out;
  }

  /** The server's own error text (e.g. "model 'x' does not exist"), scrubbed; '' when there is none. */
  function serverMessage(error: unknown): string {
    const body = (error as { error?: unknown }).error;
    // OpenAI-shaped `{"error":{"message":...}}`, or `{"error":"..."}` as LM Studio sends.
    const message = body && typeof body === 'object' ? (body as { message?: unknown }).message : body;
    return typeof message === 'string' && message.trim() !== '' ? redact(message.trim()) : '';
  }

  /** The parameter a 400 says the server does not take, when it is one we sent and can do without. */
  function refusedParameter(error: unknown, mod: OpenAiModule, sent: Record<string, unknown>): Adjustable | null {
    if (!(error instanceof mod.APIError) || (error.status !== 400 && error.status !== 422)) return null;
    const candidates = (['max_tokens', 'max_completion_tokens', 'temperature', 'seed', 'response_format'] as const).filter((name) => name in sent);
    const message = serverMessage(error);
    const named =
      candidates.find((name) => name === error.param) ??
      candidates.find((name) => new RegExp(`(?<![\\w])${name}(?![\\w])`).test(message));
    if (named === undefined) return null;
    const code = typeof error.code === 'string' ? error.code : '';
    const saysUnsupported =
      /^unsupported_/.test(code) ||
      /unsupported|not supported|does not support|unrecogni[sz]ed|unknown|not allowed|not permitted|extra (?:inputs|fields)|invalid/i.test(message);
    return saysUnsupported ? named : null;
  }

  /** Changes the dialect so the refused parameter is said another way, or not at all. */
  function adjustFor(refused: Adjustable): void {
    if (refused === 'max_tokens' || refused === 'max_completion_tokens') {
      if (dialect.budgetField !== refused) return; // another call learnt it meanwhile
      dialect.budgetField = refused === 'max_tokens' ? 'max_completion_tokens' : 'max_tokens';
      options.onAdjust?.(`the model at ${host} does not take ${refused}: sending ${dialect.budgetField} from now on`);
      return;
    }
    if (refused === 'response_format' && !dialect.dropped.has(refused)) {
      dialect.dropped.add(refused);
      options.onAdjust?.(`the model at ${host} does not take a JSON schema: review topics are asked for in plain text from now on`);
      return;
    }
    if (dialect.dropped.has(refused)) return;
    dialect.dropped.add(refused);
    options.onAdjust?.(
      refused === 'temperature'
        ? `the model at ${host} refused openai.temperature (${options.temperature}): it answers with its default temperature from now on`
        : `the model at ${host} does not take ${refused}: sending none from now on`,
    );
  }

  function requestBody(messages: readonly ChatMessage[], extra: CompletionOptions, budget: number): Record<string, unknown> {
    return {
      model: options.model,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      [dialect.budgetField]: budget,
      ...(options.temperature === undefined || dialect.dropped.has('temperature') ? {} : { temperature: options.temperature }),
      ...(extra.seed === undefined || dialect.dropped.has('seed') ? {} : { seed: extra.seed }),
      ...(extra.topics && !dialect.dropped.has('response_format') ? { response_format: ANSWER_WITH_TOPICS } : {}),
    };
  }

  function mapError(error: unknown, mod: OpenAiModule, what: string, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason ?? error;
    if (error instanceof mod.APIUserAbortError) return error;
    if (error instanceof Error && error.name === 'AbortError') return error;
    if (error instanceof ServiceError) return error;

    if (error instanceof mod.APIConnectionTimeoutError) {
      return new ServiceError('model', 'unavailable', `cannot reach the model at ${host}: no answer within ${timeoutMs / 1000} s to ${what}`, {
        hint: 'the model endpoint is slow or down (a local model can take minutes to load); raise openai.timeoutSeconds or try again later',
      });
    }
    if (error instanceof mod.APIConnectionError) {
      const code = connectionCode(error);
      return new ServiceError('model', 'unavailable', `cannot reach the model at ${host}: ${code ?? 'connection failed'} (${what})`, {
        hint: 'check openai.baseURL and that the model server is running',
      });
    }
    if (error instanceof mod.APIError && typeof error.status === 'number') {
      const status = error.status;
      const message = serverMessage(error);
      const suffix = message ? `: ${message}` : '';
      if (status === 401 || status === 403) {
        return new ServiceError('model', 'auth', 'the model endpoint refused the API key', { status, hint: KEY_HINT });
      }
      if (status === 429 || status >= 500 || status === 408 || status === 409) {
        return new ServiceError('model', 'unavailable', `the model at ${host} answered ${status} to ${what}${suffix}`, { status });
      }
      if (status === 404) {
        return new ServiceError('model', 'rejected', `the model at ${host} answered 404 to ${what}${suffix}`, {
          status,
          hint: `check openai.model ("${options.model}") and openai.baseURL (it usually ends with /v1)`,
        });
      }
      return new ServiceError('model', 'rejected', `the model at ${host} rejected ${what} with ${status}${suffix}`, { status });
    }
    if (error instanceof SyntaxError) {
      return new ServiceError('model', 'bad_response', `the model at ${host} sent a body that is not valid JSON to ${what}`);
    }
    if (error instanceof mod.OpenAIError || error instanceof TypeError) {
      // fetch's "terminated" (connection dropped mid-body) and similar transport trouble.
      return new ServiceError('model', 'unavailable', `cannot reach the model at ${host}: ${error.name} during ${what}`);
    }
    return error;
  }

  async function send(
    mod: OpenAiModule,
    client: OpenAI,
    messages: readonly ChatMessage[],
    signal: AbortSignal | undefined,
    extra: CompletionOptions,
  ): Promise<Completion> {
    const what = 'POST /chat/completions';
    const budgetFor = () => options.maxTokens ?? ANSWER_TOKENS + (dialect.reasons ? REASONING_ROOM : 0);
    const spent: ParsedCompletion[] = [];
    // Each parameter is adjusted once per call: a server that refuses both budget fields gets its refusal shown.
    const adjusted = new Set<Adjustable>();
    for (;;) {
      const budget = budgetFor();
      const body = requestBody(messages, extra, budget);
      let response: unknown;
      try {
        response = await client.chat.completions.create(
          body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming,
          signal ? { signal } : undefined,
        );
      } catch (error) {
        const refused = signal?.aborted ? null : refusedParameter(error, mod, body);
        if (refused !== null && !adjusted.has(refused)) {
          adjusted.add(refused);
          adjustFor(refused);
          continue;
        }
        throw mapError(error, mod, what, signal);
      }
      const parsed = parseCompletion(response, host, what, options.model, 'response_format' in body);
      spent.push(parsed);
      if (parsed.reasoned && !dialect.reasons) {
        dialect.reasons = true;
        if (options.maxTokens === undefined) {
          options.onAdjust?.(`${options.model} at ${host} reasons before it answers: its budget is ${budgetFor()} tokens from now on`);
          // The thinking ate the answer's budget: ask again with room for both, once.
          if (parsed.finishReason === 'length') continue;
        }
      }
      return combined(spent);
    }
  }

  return {
    async checkReachable(): Promise<string[]> {
      const { mod, client } = await load();
      try {
        const page = await client.models.list();
        const listed: unknown[] = Array.isArray(page.data) ? page.data : [];
        return listed.flatMap((entry) => {
          const id = (entry as { id?: unknown } | null)?.id;
          return typeof id === 'string' ? [id] : [];
        });
      } catch (error) {
        throw mapError(error, mod, 'GET /models', undefined);
      }
    },

    async complete(messages: readonly ChatMessage[], signal?: AbortSignal, extra: CompletionOptions = {}): Promise<Completion> {
      const { mod, client } = await load();
      if (firstCall === null) {
        const call = send(mod, client, messages, signal, extra);
        firstCall = call.catch(() => {});
        return call;
      }
      await firstCall;
      return send(mod, client, messages, signal, extra);
    },

    async embed(texts: readonly string[], model: string, signal?: AbortSignal): Promise<number[][]> {
      const { mod, client } = await load();
      const what = 'POST /embeddings';
      let response: unknown;
      try {
        // Floats asked for by name: the SDK's default (base64) is not what every compatible server speaks.
        response = await client.embeddings.create({ model, input: [...texts], encoding_format: 'float' }, signal ? { signal } : undefined);
      } catch (error) {
        const mapped = mapError(error, mod, what, signal);
        if (mapped instanceof ServiceError && mapped.status === 404) {
          throw new ServiceError('model', 'rejected', `the model endpoint at ${host} has no embeddings for ${model} (404 to ${what})`, {
            status: 404,
            hint: 'check voice.embeddingModel, or remove it to choose the examples by their words',
          });
        }
        throw mapped;
      }
      return toVectors(response, texts.length, host, what);
    },

    async moderate(text: string, signal?: AbortSignal): Promise<ModerationVerdict> {
      const { mod, client } = await load();
      const what = 'POST /moderations';
      let response: unknown;
      try {
        response = await client.moderations.create({ input: text }, signal ? { signal } : undefined);
      } catch (error) {
        const mapped = mapError(error, mod, what, signal);
        if (mapped instanceof ServiceError && mapped.status === 404) {
          throw new ServiceError('model', 'rejected', `the model endpoint at ${host} has no moderation endpoint (404 to ${what})`, {
            status: 404,
            hint: 'set policy.moderation to optional or off for this provider',
          });
        }
        throw mapped;
      }
      return toVerdict(response, host, what);
    },
  };
}

/** One vector of finite numbers per input, in the inputs' order (by each item's `index` where given). */
function toVectors(response: unknown, count: number, host: string, what: string): number[][] {
  const data = (response as { data?: unknown } | null)?.data;
  const bad = (detail: string) => new ServiceError('model', 'bad_response', `the model at ${host} sent an unexpected response to ${what}: ${detail}`);
  if (!Array.isArray(data) || data.length !== count) throw bad(`${Array.isArray(data) ? data.length : 'no'} vectors for ${count} texts`);
  const vectors: number[][] = new Array(count);
  for (const [position, item] of data.entries()) {
    const { embedding, index } = (item ?? {}) as { embedding?: unknown; index?: unknown };
    const at = typeof index === 'number' && Number.isInteger(index) && index >= 0 && index < count ? index : position;
    if (!Array.isArray(embedding) || embedding.length === 0 || !embedding.every((n) => typeof n === 'number' && Number.isFinite(n))) {
      throw bad('a vector that is not a list of numbers');
    }
    vectors[at] = embedding as number[];
  }
  for (let i = 0; i < count; i += 1) if (vectors[i] === undefined) throw bad('two vectors for one text');
  return vectors;
}

function toVerdict(response: unknown, host: string, what: string): ModerationVerdict {
  const results = (response as { results?: unknown } | null)?.results;
  const first = Array.isArray(results) ? (results[0] as { flagged?: unknown; categories?: unknown } | undefined) : undefined;
  if (!first || typeof first !== 'object' || typeof first.flagged !== 'boolean') {
    throw new ServiceError('model', 'bad_response', `the model at ${host} sent an unexpected response to ${what}: no verdict`);
  }
  const categories =
    first.categories && typeof first.categories === 'object'
      ? Object.entries(first.categories as Record<string, unknown>).filter(([, value]) => value === true).map(([name]) => name)
      : [];
  return { flagged: first.flagged, categories };
}

/** One response, read: the answer without the reasoning, and whether there was reasoning. */
interface ParsedCompletion {
  text: string;
  topics?: readonly unknown[];
  reasoned: boolean;
  finishReason: string;
  model: string;
  promptTokens: number | null;
  completionTokens: number | null;
  cost: number | null;
}

function parseCompletion(response: unknown, host: string, what: string, requestedModel: string, structured: boolean): ParsedCompletion {
  const bad = (detail: string) =>
    new ServiceError('model', 'bad_response', `the model at ${host} sent an unexpected response to ${what}: ${detail}`);
  if (!response || typeof response !== 'object') {
    throw bad(typeof response === 'string' ? 'a plain-text body instead of JSON' : 'an empty body');
  }
  const body = response as {
    choices?: unknown;
    model?: unknown;
    usage?: {
      prompt_tokens?: unknown;
      completion_tokens?: unknown;
      completion_tokens_details?: { reasoning_tokens?: unknown } | null;
      cost?: unknown;
      total_cost?: unknown;
    } | null;
  };
  if (!Array.isArray(body.choices) || body.choices.length === 0) throw bad('no choices');
  const choice = body.choices[0] as {
    message?: { content?: unknown; reasoning_content?: unknown; reasoning?: unknown } | null;
    finish_reason?: unknown;
  } | null;
  if (!choice || typeof choice !== 'object' || !choice.message || typeof choice.message !== 'object') {
    throw bad('the first choice has no message');
  }
  const content = choice.message.content;
  if (content !== null && content !== undefined && typeof content !== 'string') throw bad('message.content is not text');
  const answer = withoutReasoning(content ?? '');
  const unpacked = structured ? unpackStructured(answer.text) : { text: answer.text };
  const reasoningField = [choice.message.reasoning_content, choice.message.reasoning].some((field) => typeof field === 'string' && field !== '');
  const reasoningTokens = tokenCount(body.usage?.completion_tokens_details?.reasoning_tokens) ?? 0;
  const cost = costOf(body.usage?.cost ?? body.usage?.total_cost);
  return {
    ...unpacked,
    reasoned: answer.reasoned || reasoningField || reasoningTokens > 0,
    finishReason: typeof choice.finish_reason === 'string' && choice.finish_reason !== '' ? choice.finish_reason : 'unknown',
    model: typeof body.model === 'string' && body.model !== '' ? body.model : requestedModel,
    promptTokens: tokenCount(body.usage?.prompt_tokens),
    completionTokens: tokenCount(body.usage?.completion_tokens),
    cost: cost === null ? null : Number(cost),
  };
}

/** The last response's answer, with the tokens and cost of every response it took (all of them were paid for). */
function combined(spent: readonly ParsedCompletion[]): Completion {
  const last = spent[spent.length - 1]!;
  const sum = (pick: (one: ParsedCompletion) => number | null): number | null =>
    spent.some((one) => pick(one) === null) ? pick(last) : spent.reduce((total, one) => total + pick(one)!, 0);
  const cost = spent.some((one) => one.cost === null) ? null : costOf(sum((one) => one.cost));
  return {
    text: last.text,
    ...(last.topics === undefined ? {} : { topics: last.topics }),
    finishReason: last.finishReason,
    model: last.model,
    promptTokens: sum((one) => one.promptTokens),
    completionTokens: sum((one) => one.completionTokens),
    // Only when the provider gives one: a Completion without a cost is one whose cost is not known.
    ...(cost === null ? {} : { cost }),
  };
}

/**
 * A structured reply's answer and topics. A server that ignored the schema answers in plain text, which stays as
 * it is (its topics line is the core's to read). A reply cut short gives the answer so far (its finish reason has
 * the gate refuse it); any other JSON without a text answer gives an empty one: never JSON to publish.
 */
export function unpackStructured(text: string): { text: string; topics?: readonly unknown[] } {
  const trimmed = text.trim().replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/, '$1');
  if (!trimmed.startsWith('{')) return { text };
  try {
    const parsed = JSON.parse(trimmed) as { answer?: unknown; topics?: unknown };
    if (parsed && typeof parsed.answer === 'string') {
      return { text: parsed.answer, ...(Array.isArray(parsed.topics) ? { topics: parsed.topics } : {}) };
    }
  } catch {
    // Cut short (the budget ran out mid-answer): what the answer had so far, as a plain reply cut short would give.
    const begun = /^\{\s*"answer"\s*:\s*"((?:[^"\\]|\\.)*)/.exec(trimmed)?.[1];
    if (begun !== undefined) {
      try {
        return { text: JSON.parse(`"${begun.replace(/\\(u[0-9a-fA-F]{0,3})?$/, '')}"`) as string };
      } catch {
        // an escape cut in half that the trim did not catch: no answer
      }
    }
  }
  return { text: '' };
}

/**
 * The answer without a reasoning model's thinking: `<think>…</think>` blocks go; so does everything before a lone
 * `</think>` (chat templates that open the block in the prompt) and everything from an unclosed `<think>` on (the
 * budget ran out mid-thought). `reasoned` says whether there was any.
 */
export function withoutReasoning(content: string): { text: string; reasoned: boolean } {
  let text = content.replace(/<think(?:ing)?>[\s\S]*?<\/think(?:ing)?>/gi, '');
  const close = /<\/think(?:ing)?>/gi;
  let end = -1;
  for (let match = close.exec(text); match; match = close.exec(text)) end = match.index + match[0].length;
  if (end >= 0) text = text.slice(end);
  const open = text.search(/<think(?:ing)?>/i);
  if (open >= 0) text = text.slice(0, open);
  return text === content ? { text, reasoned: false } : { text: text.trim(), reasoned: true };
}

/**
 * The provider's own cost figure (OpenRouter and some gateways send `usage.cost`; OpenAI sends none), as a plain
 * decimal string with at most 10 places; null when absent or not a finite, non-negative amount.
 */
export function costOf(value: unknown): string | null {
  const number = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number) || number < 0 || number >= 1e9) return null;
  return number.toFixed(10).replace(/\.?0+$/, '') || '0';
}

function tokenCount(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

function connectionCode(error: Error): string | null {
  // The SDK wraps fetch's TypeError, which wraps the socket error carrying the code (ECONNREFUSED, ...).
  let current: unknown = error.cause;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/** The base URL's path without a trailing slash ('/v1'), or '' when it does not parse. */
function safePath(url: string): string {
  try {
    return new URL(url).pathname.replace(/\/+$/, '');
  } catch {
    return '';
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
