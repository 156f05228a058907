/**
 * API errors as people need to read them. client-node 2.x throws an
 * ApiException whose message is "HTTP-Code: 422\nMessage: …\nBody: …": the
 * first line alone hides what the server said. The server's answer is a
 * metav1.Status with a `reason` and a `message` ("NodeFirewall.nftpol.io
 * \"n1\" is invalid: spec.summary.policyNames: Required value"); every log
 * line, condition and Event that reports an API error carries both, through
 * {@link errorText}.
 */

/** The HTTP status of a client-node ApiException (or any error with a numeric `code`). */
export function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The metav1.Status an ApiException carries, when its body is one. */
export function apiStatusOf(
  err: unknown,
): { readonly reason?: string; readonly message?: string } | undefined {
  let body = (err as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      return undefined;
    }
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const { reason, message } = body as { reason?: unknown; message?: unknown };
  if (typeof reason !== 'string' && typeof message !== 'string') return undefined;
  return {
    ...(typeof reason === 'string' ? { reason } : {}),
    ...(typeof message === 'string' ? { message } : {}),
  };
}

/**
 * An error as text: for an API error `422 Invalid: <the server's message>`
 * (or the raw body when it is not a Status); otherwise the error's message,
 * prefixed with its code when it has one (e.g. `ECONNREFUSED: connect …`).
 */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const status = apiStatusOf(err);
  if (status !== undefined) {
    const head = [typeof code === 'number' ? String(code) : undefined, status.reason]
      .filter((x) => x !== undefined && x !== '')
      .join(' ');
    return `${head}: ${status.message ?? '(no message)'}`;
  }
  const body = (err as { body?: unknown }).body;
  if (typeof code === 'number' && err.message.startsWith('HTTP-Code:'))
    return `${code}: ${typeof body === 'string' && body !== '' ? body.slice(0, 1_000) : 'no body'}`;
  return typeof code === 'number' || typeof code === 'string'
    ? `${code}: ${err.message}`
    : err.message;
}
