// An imitation of an OpenAI-compatible Chat Completions API, served over real HTTP on 127.0.0.1.
// An outside party: node built-ins only, nothing from src/core or src/adapters.
import { randomBytes } from 'node:crypto';
import { FaultScript, SandboxHttp } from './faults.ts';
import type { RecordedRequest, SandboxCall, SandboxReply } from './faults.ts';

export type { RecordedRequest } from './faults.ts';

export interface ChatRequest {
  messages: { role: string; content: string }[];
  model: string;
  /** The whole request body (temperature, max_tokens, ...). */
  body: Record<string, unknown>;
}

export interface ChatReply {
  text: string;
  /** Default 'stop'. */
  finishReason?: string;
}

export type Responder = (req: ChatRequest) => ChatReply | Promise<ChatReply>;

export interface ModelSandboxOptions {
  latencyMs?: number;
  /** When set, every request needs `Authorization: Bearer <apiKey>`, else 401. */
  apiKey?: string;
  /** Ids listed by GET /models; default ['gpt-4o-mini']. */
  models?: string[];
  responder?: Responder;
}

const RU_TEMPLATES = [
  'Спасибо за ваш отзыв! Нам очень приятно, что вы нашли время поделиться впечатлениями.',
  'Благодарим вас за тёплые слова! Будем рады видеть вас снова.',
  'Большое спасибо, что выбрали нас! Ваше мнение очень важно для нашей команды.',
  'Спасибо за добрый отзыв! Обязательно передадим его всей команде.',
];

const EN_TEMPLATES = [
  'Thank you for your review! We are glad you took the time to share your impressions.',
  'Thank you for the kind words! We look forward to seeing you again.',
  'Many thanks for choosing us! Your feedback means a lot to our team.',
  'Thank you for the lovely review! We will be sure to pass it on to the whole team.',
];

/** FNV-1a, 32 bits. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The default responder: a short warm thank-you (two sentences) in Russian when the last user message contains
 * Cyrillic letters, else in English; the wording is picked by a hash of that message. No links, phones or emails.
 */
export function defaultResponder(req: ChatRequest): ChatReply {
  let last = '';
  for (let i = req.messages.length - 1; i >= 0; i--) {
    const m = req.messages[i];
    if (m && m.role === 'user') {
      last = m.content;
      break;
    }
  }
  const templates = /[\u0400-\u04FF]/.test(last) ? RU_TEMPLATES : EN_TEMPLATES;
  return { text: templates[hash(last) % templates.length] as string, finishReason: 'stop' };
}

/** A deterministic token estimate: ceil(chars / 4). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function errorBody(status: number, message: string): unknown {
  let type = 'invalid_request_error';
  let code: string | null = null;
  if (status === 401) code = 'invalid_api_key';
  else if (status === 403) code = 'unsupported_country_region_territory';
  else if (status === 404) code = 'not_found';
  else if (status === 429) {
    type = 'requests';
    code = 'rate_limit_exceeded';
  } else if (status >= 500) {
    type = 'server_error';
    code = null;
  }
  return { error: { message, type, param: null, code } };
}

function err(status: number, message: string): SandboxReply {
  return { status, body: errorBody(status, message) };
}

export class ModelSandbox {
  readonly requests: RecordedRequest[] = [];
  readonly faults = new FaultScript();
  latencyMs: number;
  responder: Responder;
  /** null: no key needed. */
  apiKey: string | null;
  models: string[];
  #http!: SandboxHttp;
  #created = Math.floor(Date.now() / 1000);

  private constructor(options: ModelSandboxOptions) {
    this.latencyMs = options.latencyMs ?? 0;
    this.apiKey = options.apiKey ?? null;
    this.models = options.models ?? ['gpt-4o-mini'];
    this.responder = options.responder ?? defaultResponder;
  }

  static async start(options: ModelSandboxOptions = {}): Promise<ModelSandbox> {
    const sb = new ModelSandbox(options);
    sb.#http = await SandboxHttp.start({
      prefix: '/v1',
      faults: sb.faults,
      requests: sb.requests,
      latencyMs: () => sb.latencyMs,
      handle: (call) => sb.#handle(call),
      errorBody,
    });
    return sb;
  }

  /** e.g. `http://127.0.0.1:41234/v1` (no trailing slash). */
  get url(): string {
    return this.#http.url;
  }

  /** Chat completions answered with 200. */
  get completions(): number {
    return this.requests.filter((r) => r.path === 'chat/completions' && r.status === 200).length;
  }

  close(): Promise<void> {
    return this.#http.close();
  }

  async #handle(call: SandboxCall): Promise<SandboxReply> {
    if (call.path !== 'models' && call.path !== 'chat/completions') return err(404, `Unknown path: /v1/${call.path}`);
    if (this.apiKey !== null) {
      const h = call.headers.authorization;
      if (h !== `Bearer ${this.apiKey}`) {
        return err(401, 'Incorrect API key provided. You can find your API key in your sandbox options.');
      }
    }
    if (call.path === 'models') {
      if (call.method !== 'GET') return err(405, 'Method not allowed');
      return {
        status: 200,
        body: {
          object: 'list',
          data: this.models.map((id) => ({ id, object: 'model', created: this.#created, owned_by: 'sandbox' })),
        },
      };
    }
    if (call.method !== 'POST') return err(405, 'Method not allowed');
    if (call.bodyInvalid) return err(400, 'We could not parse the JSON body of your request.');
    const body = call.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return err(400, 'A JSON object body is required.');
    const b = body as Record<string, unknown>;
    if (b.stream === true) return err(400, 'Streaming is not supported by the sandbox.');
    if (typeof b.model !== 'string' || b.model === '') return err(400, "Missing required parameter: 'model'.");
    if (!Array.isArray(b.messages) || b.messages.length === 0) {
      return err(400, "Missing required parameter: 'messages'.");
    }
    const messages: { role: string; content: string }[] = [];
    for (const [i, m] of (b.messages as unknown[]).entries()) {
      const mm = m as { role?: unknown; content?: unknown } | null;
      if (typeof mm !== 'object' || mm === null || typeof mm.role !== 'string') {
        return err(400, `Invalid value for 'messages[${i}].role'.`);
      }
      if (!['system', 'developer', 'user', 'assistant'].includes(mm.role)) {
        return err(400, `Invalid value for 'messages[${i}].role': '${mm.role}'.`);
      }
      if (typeof mm.content !== 'string') return err(400, `Invalid type for 'messages[${i}].content': expected a string.`);
      messages.push({ role: mm.role, content: mm.content });
    }

    let reply: ChatReply;
    try {
      reply = await this.responder({ messages, model: b.model, body: b });
    } catch (e) {
      return err(500, `The sandbox responder failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    let text = reply.text;
    let finishReason = reply.finishReason ?? 'stop';
    const max = typeof b.max_completion_tokens === 'number' ? b.max_completion_tokens : b.max_tokens;
    if (typeof max === 'number' && max > 0 && estimateTokens(text) > max) {
      text = text.slice(0, max * 4);
      finishReason = 'length';
    }
    const promptTokens = messages.reduce((n, m) => n + estimateTokens(m.content), 0);
    const completionTokens = estimateTokens(text);
    return {
      status: 200,
      body: {
        id: `chatcmpl-${randomBytes(12).toString('hex')}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: b.model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: finishReason, logprobs: null }],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      },
    };
  }
}
