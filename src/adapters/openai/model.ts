// The model port over any OpenAI-compatible chat-completions endpoint. The SDK's own retries (maxRetries, with its
// backoff and Retry-After handling) are the one retry layer for the model; this adapter adds none.
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
  apiKey: string;
  model: string;
  /** Per-attempt deadline, default 60000 ms. */
  timeoutMs?: number;
  /** The SDK's retries (429, 5xx, timeouts, connection errors), default 2. */
  maxRetries?: number;
  temperature?: number;
  maxTokens?: number;
}

type OpenAiModule = typeof import('openai');

const KEY_HINT = 'check openai.apiKey in the config or the OPENAI_API_KEY environment variable';

export function createOpenAiModel(options: OpenAiModelOptions): Model {
  const host = safeHost(options.baseURL);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxRetries = options.maxRetries ?? 2;
  const temperature = options.temperature ?? 0.7;
  const maxTokens = options.maxTokens ?? 600;

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
      client: new mod.OpenAI({ baseURL: options.baseURL, apiKey: options.apiKey, timeout: timeoutMs, maxRetries, fetch: boundedFetch }),
    }));
    loaded.catch(() => {
      loaded = null;
    });
    return loaded;
  }

  function redact(text: string): string {
    let out = text;
    if (options.apiKey.length >= 4) out = out.split(options.apiKey).join('***');
    return out.length > 300 ? `${out.slice(0, 300)}…` : out;
  }

  /** The server's own error text (e.g. "model 'x' does not exist"), scrubbed; '' when there is none. */
  function serverMessage(error: unknown): string {
    const body = (error as { error?: unknown }).error;
    if (body && typeof body === 'object') {
      const message = (body as { message?: unknown }).message;
      if (typeof message === 'string' && message.trim() !== '') return redact(message.trim());
    }
    return '';
  }

  function mapError(error: unknown, mod: OpenAiModule, what: string, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason ?? error;
    if (error instanceof mod.APIUserAbortError) return error;
    if (error instanceof Error && error.name === 'AbortError') return error;
    if (error instanceof ServiceError) return error;

    if (error instanceof mod.APIConnectionTimeoutError) {
      return new ServiceError('model', 'unavailable', `cannot reach the model at ${host}: no answer within ${timeoutMs} ms to ${what}`, {
        hint: 'the model endpoint is slow or down; raise openai.timeoutMs or try again later',
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

  return {
    async checkReachable(): Promise<void> {
      const { mod, client } = await load();
      try {
        await client.models.list();
      } catch (error) {
        throw mapError(error, mod, 'GET /models', undefined);
      }
    },

    async complete(messages: readonly ChatMessage[], signal?: AbortSignal, extra: CompletionOptions = {}): Promise<Completion> {
      const { mod, client } = await load();
      const what = 'POST /chat/completions';
      let response: unknown;
      try {
        response = await client.chat.completions.create(
          {
            model: options.model,
            messages: messages.map((m) => ({ role: m.role, content: m.content })),
            temperature,
            max_tokens: maxTokens,
            ...(extra.seed === undefined ? {} : { seed: extra.seed }),
          },
          signal ? { signal } : undefined,
        );
      } catch (error) {
        throw mapError(error, mod, what, signal);
      }
      return toCompletion(response, host, what, options.model);
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

function toCompletion(response: unknown, host: string, what: string, requestedModel: string): Completion {
  const bad = (detail: string) =>
    new ServiceError('model', 'bad_response', `the model at ${host} sent an unexpected response to ${what}: ${detail}`);
  if (!response || typeof response !== 'object') {
    throw bad(typeof response === 'string' ? 'a plain-text body instead of JSON' : 'an empty body');
  }
  const body = response as {
    choices?: unknown;
    model?: unknown;
    usage?: { prompt_tokens?: unknown; completion_tokens?: unknown; cost?: unknown; total_cost?: unknown } | null;
  };
  if (!Array.isArray(body.choices) || body.choices.length === 0) throw bad('no choices');
  const choice = body.choices[0] as { message?: { content?: unknown } | null; finish_reason?: unknown } | null;
  if (!choice || typeof choice !== 'object' || !choice.message || typeof choice.message !== 'object') {
    throw bad('the first choice has no message');
  }
  const cost = costOf(body.usage?.cost ?? body.usage?.total_cost);
  const content = choice.message.content;
  if (content !== null && content !== undefined && typeof content !== 'string') throw bad('message.content is not text');
  return {
    text: content ?? '',
    finishReason: typeof choice.finish_reason === 'string' && choice.finish_reason !== '' ? choice.finish_reason : 'unknown',
    model: typeof body.model === 'string' && body.model !== '' ? body.model : requestedModel,
    promptTokens: tokenCount(body.usage?.prompt_tokens),
    completionTokens: tokenCount(body.usage?.completion_tokens),
    // Only when the provider gives one: a Completion without a cost is one whose cost is not known.
    ...(cost === null ? {} : { cost }),
  };
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
