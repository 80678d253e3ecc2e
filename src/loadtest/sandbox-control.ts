/** The control API of a `pay sandbox` simulator, as a load test uses it (its payer). */

/**
 * The control API of a `pay sandbox` simulator at `origin`, when there is one: refund runs use its
 * payer (`POST /__sandbox/pay`) to get orders paid. Anything else at that address is left alone.
 */
export async function sandboxControl(origin: string): Promise<{ pay(orderNo: string): Promise<void> } | undefined> {
  try {
    const res = await fetch(`${origin}/__sandbox/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { ok?: boolean };
    if (!res.ok || body?.ok !== true) return undefined;
  } catch {
    return undefined;
  }
  return {
    async pay(orderNo: string) {
      const res = await fetch(`${origin}/__sandbox/pay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderNo, outcome: 'succeeded' }),
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`sandbox payer answered HTTP ${res.status}`);
    },
  };
}
