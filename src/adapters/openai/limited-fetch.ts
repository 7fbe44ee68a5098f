// A fetch for the openai SDK that counts each response body as it arrives and stops it at a limit: a server that
// sends megabytes, or never stops, costs that much at most, instead of the whole body held as text and parsed.

/** The most a completion or moderation response may hold: a long answer with its reasoning is ~100 KB. */
export const MAX_ANSWER_BYTES = 1024 * 1024;
/** The most a GET (the model list) may hold: some providers list hundreds of models with descriptions. */
export const MAX_LISTING_BYTES = 8 * 1024 * 1024;

/** Builds the error a body over `limit` ends with, for the request `method url`. */
export type TooLarge = (limit: number, method: string, url: URL) => Error;

export function limitedFetch(tooLarge: TooLarge, base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const response = await base(input, init);
    if (response.body === null) return response;
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const url = new URL(input instanceof Request ? input.url : String(input));
    const limit = method === 'GET' ? MAX_LISTING_BYTES : MAX_ANSWER_BYTES;
    const declared = Number(response.headers.get('content-length') ?? 0);
    const reader = response.body.getReader();
    let received = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (declared > limit) {
          await reader.cancel().catch(() => {});
          controller.error(tooLarge(limit, method, url));
          return;
        }
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        received += value.byteLength;
        if (received > limit) {
          await reader.cancel().catch(() => {});
          controller.error(tooLarge(limit, method, url));
          return;
        }
        controller.enqueue(value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
