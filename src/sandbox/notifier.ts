/**
 * Delivers simulator notifications the way providers do: POST to the merchant's notify URL,
 * retried on the provider's schedule until the merchant's reply counts as received. Every attempt
 * is logged and kept for inspection; all timers and in-flight requests end on close.
 */
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Notification } from './contract.js';

/** One delivery attempt, as logged. */
export interface DeliveryAttempt {
  channel: string;
  description: string;
  url: string;
  /** 1-based. */
  attempt: number;
  /** HTTP status of the merchant's reply (absent when the request failed). */
  status?: number;
  /** Whether the reply counted as received. */
  accepted: boolean;
  /** Network failure, when there was no reply. */
  error?: string;
  /** First characters of the merchant's reply. */
  reply?: string;
  /** ISO time of the attempt. */
  at: string;
  /** True when no more attempts follow (accepted, or the schedule ran out). */
  final: boolean;
}

/** Options for {@link Notifier}. */
export interface NotifierOptions {
  log: (message: string) => void;
  /** Per-attempt timeout, ms (default 5,000). */
  timeoutMs?: number;
  /** Attempts kept for inspection (default 1,000). */
  keep?: number;
}

export class Notifier {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<ClientRequest>();
  private readonly attempts: DeliveryAttempt[] = [];
  private pending = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(private readonly options: NotifierOptions) {}

  /** Queues a notification; the first attempt starts on the next turn of the event loop. */
  deliver(channel: string, n: Notification): void {
    if (this.closed) return;
    this.pending++;
    this.schedule(channel, n, 0, 0);
  }

  /** Every attempt so far (of one channel, or all). */
  log(channel?: string): DeliveryAttempt[] {
    return channel ? this.attempts.filter((a) => a.channel === channel) : [...this.attempts];
  }

  /** Resolves when no notification is waiting for an attempt or a retry. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const r of this.inFlight) r.destroy();
    this.inFlight.clear();
    this.pending = 0;
    this.wake();
  }

  private wake(): void {
    if (this.pending > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private schedule(channel: string, n: Notification, index: number, delayMs: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.attempt(channel, n, index);
    }, delayMs);
    this.timers.add(t);
  }

  private async attempt(channel: string, n: Notification, index: number): Promise<void> {
    if (this.closed) return;
    const reply = await this.post(n);
    if (this.closed) return;
    let accepted = false;
    if (reply.status !== undefined) {
      try {
        accepted = n.accepted(reply.status, reply.body ?? '');
      } catch {
        accepted = false;
      }
    }
    const more = !accepted && index < n.retryDelaysMs.length;
    const entry: DeliveryAttempt = {
      channel,
      description: n.description,
      url: n.url,
      attempt: index + 1,
      accepted,
      at: new Date().toISOString(),
      final: !more,
    };
    if (reply.status !== undefined) entry.status = reply.status;
    if (reply.body !== undefined) entry.reply = reply.body.slice(0, 200);
    if (reply.error) entry.error = reply.error;
    this.attempts.push(entry);
    const keep = this.options.keep ?? 1000;
    if (this.attempts.length > keep) this.attempts.splice(0, this.attempts.length - keep);
    const outcome = reply.status !== undefined ? `HTTP ${reply.status}` : reply.error;
    this.options.log(
      `notify ${n.description} -> ${n.url}: attempt ${index + 1}: ${outcome}, ${accepted ? 'accepted' : more ? `not accepted; retry in ${n.retryDelaysMs[index]} ms` : 'not accepted; giving up'}`,
    );
    if (more) this.schedule(channel, n, index + 1, n.retryDelaysMs[index]);
    else {
      this.pending--;
      this.wake();
    }
  }

  private post(n: Notification): Promise<{ status?: number; body?: string; error?: string }> {
    return new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL(n.url);
      } catch {
        resolve({ error: 'notify URL is not a URL' });
        return;
      }
      const send = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
      if (!send) {
        resolve({ error: `unsupported notify URL scheme ${url.protocol}` });
        return;
      }
      const headers: Record<string, string> = { ...n.headers };
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) headers['content-length'] = String(n.body.length);
      const req = send(url, { method: 'POST', headers, timeout: this.options.timeoutMs ?? 5_000, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          this.inFlight.delete(req);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => {
          this.inFlight.delete(req);
          resolve({ error: err.message });
        });
      });
      this.inFlight.add(req);
      req.on('timeout', () => req.destroy(new Error('no reply in time')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        this.inFlight.delete(req);
        resolve({ error: err.code ?? err.message });
      });
      req.end(n.body);
    });
  }
}

/**
 * A signed webhook (Stripe, PayPal: the merchant configures one URL) as a notification: the
 * signed request built by the channel's callback code, delivered on `retryDelaysMs` until the
 * merchant answers 2xx.
 */
export function webhookNotification(url: string, request: { headers: Record<string, string>; body: Buffer }, retryDelaysMs: number[], description: string): Notification {
  return { url, headers: request.headers, body: request.body, retryDelaysMs, accepted: (status) => status >= 200 && status < 300, description };
}
