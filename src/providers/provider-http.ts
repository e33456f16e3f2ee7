import { TelephonyError } from './telephony.ts';

/** What /readyz shows of a provider: what the last request to it found, and when. */
export interface ProviderHealth {
  state: 'ok' | 'failed' | 'unknown';
  /** When a request last reached it or failed to (ms since the epoch; 0: never). */
  checkedAt: number;
}

/**
 * A request to a provider that never hangs (SPEC N1): it is given up after `timeoutMs`, and a
 * provider that cannot be reached or is too slow is a TelephonyError saying so, which the core
 * audits. The health it leaves behind is what /readyz shows.
 */
export async function providerFetch(
  name: string,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  health: ProviderHealth,
): Promise<Response> {
  health.checkedAt = Date.now();
  try {
    return await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    health.state = 'failed';
    if (error instanceof Error && error.name === 'TimeoutError') {
      throw new TelephonyError(`${name} did not answer within ${String(timeoutMs / 1000)} s`);
    }
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
    const code = (cause as { code?: unknown } | undefined)?.code;
    throw new TelephonyError(
      `${name} could not be reached${typeof code === 'string' ? ` (${code})` : ''}`,
    );
  }
}

/** The start of a response body, to match a gateway's success text; never more than 4 KB. */
export async function responseText(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  return text.slice(0, 4096);
}
