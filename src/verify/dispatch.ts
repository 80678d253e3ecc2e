/**
 * Which channel sent a callback, with which settings, and the verdict. Channels come from the
 * registry (built-ins plus `module` paths in the config); each module's `callback.detect` scores
 * a request from its headers and body, the highest score wins, and a tie or no match is an
 * INVALID_REQUEST listing the candidates. `--channel` skips detection.
 *
 * Settings are the channel's config section (with `--profile`) with `env:`/`file:` references
 * resolved key by key, and schema defaults for absent keys, but NOT validateConfig: offline
 * verification needs only the public half of the keys. A key whose reference cannot be resolved
 * is left out and named if the verdict turns out to be MISSING_KEY. The settings object handed to
 * `callback.verify` is the same object for every callback of a run (a directory of 10,000 files,
 * or `pay listen`), so a channel can memoize its parsed keys on it (a WeakMap keyed by settings):
 * parsing a PEM costs more than an RSA verify.
 *
 * Outcomes fall in three classes, which decide the exit status (see {@link exitStatusOf}):
 * - valid: the signature checks out;
 * - invalid: the callback is not authentic or not fresh (BAD_SIGNATURE, UNKNOWN_KEY, EXPIRED,
 *   UNTRUSTED_CERT, MALFORMED, PROBE);
 * - error: pay could not judge it: unreadable file, unknown channel, or our own config
 *   (MISSING_KEY, and DECRYPT_FAILED: a resource that fails its AEAD tag after the signature
 *   passed means the configured APIv3 key is wrong).
 */
import type { CallbackVerdict, ChannelModule, RawRequest, VerdictReason } from '../channel/contract.js';
import { channelSettings, configBaseDir, resolveSettings, type LoadedConfig } from '../core/config.js';
import { configError, EXIT, invalid, isPayError, PayError, type ExitStatus } from '../core/errors.js';
import { redactText } from '../core/redact.js';
import { detached } from '../core/strings.js';

/** Verdict reasons that are our configuration's fault, not the callback's (exit 2). */
export const CONFIG_REASONS: readonly VerdictReason[] = ['MISSING_KEY', 'DECRYPT_FAILED'];

/** The class of an outcome. */
export type OutcomeClass = 'valid' | 'invalid' | 'error';

/** What happened to one callback. */
export interface VerifyOutcome {
  class: OutcomeClass;
  /** The channel that judged it (when one was found). */
  channel?: string;
  /** Detection score of the chosen channel (absent with --channel). */
  score?: number;
  verdict?: CallbackVerdict;
  /** Why it could not be judged (class `error`). */
  error?: PayError;
}

/** Where settings come from. */
export interface DispatchEnvironment {
  config: LoadedConfig;
  profile?: string;
  env: Record<string, string | undefined>;
  cwd: string;
  debug?: (message: string) => void;
}

/** How to verify. */
export interface DispatchOptions {
  /** `--channel`: an id or a module path; skips detection. */
  channel?: string;
  /** Moment to verify at, ms (`--at`); absent: the moment each request is verified. */
  at?: number;
  /** `--tolerance`, seconds. */
  toleranceSec?: number;
}

interface ChannelSettingsEntry {
  settings: Record<string, unknown>;
  /** Keys whose env:/file: reference failed, with the reason. */
  unresolved: Map<string, string>;
}

/** Exit status of a set of outcomes: any error -> 2, else any invalid -> 1, else 0. */
export function exitStatusOf(classes: Iterable<OutcomeClass>): ExitStatus {
  let status: ExitStatus = EXIT.OK;
  for (const c of classes) {
    if (c === 'error') return EXIT.USAGE;
    if (c === 'invalid') status = EXIT.NEGATIVE;
  }
  return status;
}

/**
 * Picks the channel for a request from detection scores: the single highest positive score.
 * Throws INVALID_REQUEST naming the candidates when there is a tie or no match.
 */
export function pickChannel(request: RawRequest, modules: readonly ChannelModule[], notLoaded: readonly string[] = []): { module: ChannelModule; score: number } {
  // The common case, one clear winner, without building and sorting a list per callback.
  let best: ChannelModule | undefined;
  let bestScore = 0;
  let ties = 0;
  for (const m of modules) {
    if (!m.callback) continue;
    const score = detectScore(m, request);
    if (score > bestScore) {
      best = m;
      bestScore = score;
      ties = 0;
    } else if (score === bestScore && score > 0) ties++;
  }
  if (best && ties === 0) return { module: best, score: bestScore };
  return pickChannelSlow(request, modules, notLoaded);
}

/** A module's detection score for a request, clamped to 0..1; a detector that throws scores 0. */
function detectScore(m: ChannelModule, request: RawRequest): number {
  let score = 0;
  try {
    score = Number(m.callback!.detect(request)) || 0;
  } catch {
    // A detector that chokes on foreign input simply does not claim it.
    score = 0;
  }
  return Math.max(0, Math.min(1, score));
}

/** {@link pickChannel} when there is no single winner: the errors name the candidates. */
function pickChannelSlow(request: RawRequest, modules: readonly ChannelModule[], notLoaded: readonly string[]): { module: ChannelModule; score: number } {
  const scored = modules
    .filter((m) => m.callback)
    .map((m) => ({ module: m, score: detectScore(m, request) }))
    .sort((a, b) => b.score - a.score);
  const where = request.source ?? 'the callback';
  const top = scored[0];
  if (!top || top.score <= 0) {
    const tried = scored.map((s) => s.module.id);
    throw invalid(`no channel recognises ${where} (tried ${tried.join(', ') || 'none'}${notLoaded.length ? `; could not load ${notLoaded.join(', ')}` : ''})`, {
      hint: "Name it with --channel <id>; if the file is a bare body, give the headers it came with using --header 'Name: value'.",
    });
  }
  const tied = scored.filter((s) => s.score === top.score);
  if (tied.length > 1) {
    throw invalid(`cannot tell which channel sent ${where}: ${tied.map((s) => `${s.module.id} (${s.score.toFixed(2)})`).join(', ')} match equally`, {
      hint: `Name it with --channel ${tied.map((s) => s.module.id).join(' or --channel ')}.`,
      details: { candidates: scored.filter((s) => s.score > 0).map((s) => ({ channel: s.module.id, score: s.score })) },
    });
  }
  return top;
}

/** Verifies callbacks against channel modules; loads modules and settings once per run. */
export class CallbackDispatcher {
  private modules?: Promise<{ modules: ChannelModule[]; notLoaded: string[] }>;
  private forced?: Promise<ChannelModule>;
  /** The same, once loaded: a run of 10,000 files picks channels without awaiting per file. */
  private loadedModules?: { modules: ChannelModule[]; notLoaded: string[] };
  private loadedForced?: ChannelModule;
  private readonly settings = new Map<string, ChannelSettingsEntry | PayError>();
  /** Settings being loaded: callbacks verified at once (a large run's lanes) share one load. */
  private readonly settingsLoading = new Map<string, Promise<ChannelSettingsEntry | PayError>>();

  constructor(
    private readonly env: DispatchEnvironment,
    private readonly options: DispatchOptions,
  ) {}

  /** Loads the forced channel or every channel; a bad `--channel` fails here (exit 2). */
  async init(): Promise<void> {
    if (this.options.channel) {
      const mod = await this.forcedModule();
      if (!mod.callback) {
        throw invalid(`channel ${mod.id} cannot verify callbacks offline (its module has no callback handler)`);
      }
    } else await this.allModules();
  }

  private forcedModule(): Promise<ChannelModule> {
    this.forced ??= import('../channel/registry.js').then(({ loadChannelModule }) =>
      loadChannelModule(this.options.channel!, { config: this.env.config, cwd: this.env.cwd }).then((mod) => (this.loadedForced = mod)),
    );
    return this.forced;
  }

  private allModules(): Promise<{ modules: ChannelModule[]; notLoaded: string[] }> {
    this.modules ??= (async () => {
      const { knownChannelRefs, loadChannelModule } = await import('../channel/registry.js');
      const modules: ChannelModule[] = [];
      const notLoaded: string[] = [];
      for (const ref of knownChannelRefs(this.env.config)) {
        try {
          modules.push(await loadChannelModule(ref, { config: this.env.config, cwd: this.env.cwd }));
        } catch (err) {
          notLoaded.push(ref);
          this.env.debug?.(`channel ${ref} not loaded for detection: ${(err as Error).message}`);
        }
      }
      this.loadedModules = { modules, notLoaded };
      return this.loadedModules;
    })();
    return this.modules;
  }

  /** The module that should judge `request` (forced, or detected). */
  async channelFor(request: RawRequest): Promise<{ module: ChannelModule; score?: number }> {
    if (this.options.channel) return { module: await this.forcedModule() };
    const { modules, notLoaded } = await this.allModules();
    return pickChannel(request, modules, notLoaded);
  }

  /** Settings of a channel for verification (cached). */
  async settingsFor(mod: ChannelModule): Promise<ChannelSettingsEntry> {
    let entry = this.settings.get(mod.id);
    if (!entry) {
      // One load, shared: a channel memoizes its parsed keys on the settings object, so every
      // callback of a run must see the same one (128 loads at once parsed PayPal's certificate 128 times).
      let loading = this.settingsLoading.get(mod.id);
      if (!loading) {
        loading = this.loadSettings(mod).catch((err: unknown) => (isPayError(err) ? err : configError(`channels.${mod.id}: ${(err as Error).message}`)));
        this.settingsLoading.set(mod.id, loading);
      }
      entry = await loading;
      this.settings.set(mod.id, entry);
      this.settingsLoading.delete(mod.id);
    }
    if (entry instanceof PayError || isPayError(entry)) throw entry;
    return entry;
  }

  private async loadSettings(mod: ChannelModule): Promise<ChannelSettingsEntry> {
    const { isSecretKey } = await import('../channel/registry.js');
    const raw = channelSettings(this.env.config, mod.id, this.env.profile);
    delete raw.module;
    const settings: Record<string, unknown> = {};
    const unresolved = new Map<string, string>();
    const baseDir = configBaseDir(this.env.config, this.env.cwd);
    for (const [key, value] of Object.entries(raw)) {
      try {
        Object.assign(
          settings,
          resolveSettings({ [key]: value }, { baseDir, env: this.env.env, isSecret: (k) => isSecretKey(mod, k), where: `channels.${mod.id}` }),
        );
      } catch (err) {
        unresolved.set(key, (err as Error).message);
      }
    }
    for (const field of mod.description.config) {
      if (field.default !== undefined && !(field.key in settings) && !unresolved.has(field.key)) settings[field.key] = field.default;
    }
    return { settings, unresolved };
  }

  /** Verifies one request at `at` (ms); never throws for a problem with this request alone. */
  async verify(request: RawRequest, at: number = this.options.at ?? Date.now()): Promise<VerifyOutcome> {
    let mod: ChannelModule;
    let score: number | undefined;
    try {
      const loaded: { module: ChannelModule; score?: number } | undefined = this.options.channel
        ? this.loadedForced && { module: this.loadedForced }
        : this.loadedModules && pickChannel(request, this.loadedModules.modules, this.loadedModules.notLoaded);
      ({ module: mod, score } = loaded ?? (await this.channelFor(request)));
    } catch (err) {
      return { class: 'error', error: toPayError(err) };
    }
    // Outcomes are built without object spread: in this V8 a spread followed by more properties
    // costs about a microsecond per object, which a run of 10,000 callbacks notices.
    const judged = (cls: OutcomeClass, verdict?: CallbackVerdict, error?: PayError): VerifyOutcome => {
      const out: VerifyOutcome = score !== undefined ? { channel: mod.id, score, class: cls } : { channel: mod.id, class: cls };
      if (verdict) out.verdict = verdict;
      if (error) out.error = error;
      return out;
    };
    if (!mod.callback) {
      return judged('error', undefined, invalid(`channel ${mod.id} cannot verify callbacks offline (its module has no callback handler)`));
    }
    let entry: ChannelSettingsEntry;
    try {
      const known = this.settings.get(mod.id);
      entry = known && !(known instanceof PayError) && !isPayError(known) ? known : await this.settingsFor(mod);
    } catch (err) {
      return judged('error', undefined, toPayError(err));
    }
    let verdict: CallbackVerdict;
    try {
      verdict = await mod.callback.verify(request, entry.settings, { at, toleranceSec: this.options.toleranceSec });
    } catch (err) {
      if (isPayError(err)) return judged('error', undefined, err);
      // Most often a key the crypto library cannot parse: a config problem, said without the key.
      return judged(
        'error',
        undefined,
        configError(`channel ${mod.id} could not verify ${request.source ?? 'the callback'}: ${redactText((err as Error)?.message ?? String(err))}`, {
          hint: `Check the key material under channels.${mod.id} (PEM text or a file: reference to it).`,
          cause: err,
        }),
      );
    }
    if (verdict.reason) verdict = { ...verdict, reason: redactText(verdict.reason) };
    detachStrings(verdict);
    if (verdict.valid) return judged('valid', verdict);
    if (verdict.reasonCode && CONFIG_REASONS.includes(verdict.reasonCode)) {
      const notes = [...entry.unresolved.values()];
      return judged(
        'error',
        verdict,
        configError(`${verdict.reason ?? verdict.reasonCode}${notes.length ? ` (${notes.join('; ')})` : ''}`, {
          channel: mod.id,
          hint:
            verdict.reasonCode === 'MISSING_KEY'
              ? `Add the key to channels.${mod.id} in ${this.env.config.exists ? this.env.config.path : 'pay.config.json'} (a literal, env:NAME or file:PATH).`
              : `The signature is valid, but the configured key cannot decrypt the content: check channels.${mod.id}.`,
          details: { reasonCode: verdict.reasonCode },
        }),
      );
    }
    return judged('invalid', verdict);
  }
}

/**
 * Makes the strings a verdict keeps (its dedup key, its event's fields and the top level of the
 * event's data) strings of their own, not views of the callback's body text (see
 * {@link detached}): form and XML parsers cut values out of the body, and a run keeps every
 * verdict until it prints them.
 */
function detachStrings(verdict: CallbackVerdict): void {
  if (verdict.dedupKey !== undefined) verdict.dedupKey = detached(verdict.dedupKey);
  const ev = verdict.event as unknown as Record<string, unknown> | undefined;
  if (!ev) return;
  detachFields(ev);
  const data = ev.data;
  if (data && typeof data === 'object' && !Array.isArray(data)) detachFields(data as Record<string, unknown>);
}

function detachFields(o: Record<string, unknown>): void {
  for (const k in o) {
    const v = o[k];
    if (typeof v === 'string' && v.length >= 13) o[k] = detached(v);
  }
}

function toPayError(err: unknown): PayError {
  if (isPayError(err)) return err;
  return new PayError('SYSTEM_ERROR', (err as Error)?.message ?? String(err), { cause: err });
}
