/**
 * A small route table for the simulators: `METHOD /path/:param/...` patterns tried in the order
 * added, instead of each simulator's chain of `if (m === 'POST' && id && action === ...)`.
 * Path segments are URL-decoded before matching; `:name` matches one non-empty segment.
 */

/** The named segments of a matched path (`:id` -> params.id). */
export type RouteParams = Record<string, string>;

/** A matched route: its handler and the path's named segments. */
export interface RouteMatch<H> {
  handler: H;
  params: RouteParams;
}

interface Entry<H> {
  method: string;
  segments: string[];
  handler: H;
}

/** Splits a path into URL-decoded segments (empty segments dropped, as a trailing slash is). */
export function pathSegments(path: string): string[] {
  return path
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

/** A route table whose handlers have type `H` (each simulator chooses its own signature). */
export class Router<H> {
  private readonly entries: Entry<H>[] = [];

  /** Adds a route: `method` is an HTTP method, `pattern` a path such as `/v1/refunds/:id`. */
  on(method: string, pattern: string, handler: H): this {
    this.entries.push({ method: method.toUpperCase(), segments: pathSegments(pattern), handler });
    return this;
  }

  get(pattern: string, handler: H): this {
    return this.on('GET', pattern, handler);
  }

  post(pattern: string, handler: H): this {
    return this.on('POST', pattern, handler);
  }

  patch(pattern: string, handler: H): this {
    return this.on('PATCH', pattern, handler);
  }

  delete(pattern: string, handler: H): this {
    return this.on('DELETE', pattern, handler);
  }

  /** The first route that takes this method and path, or undefined. */
  match(method: string, path: string | string[]): RouteMatch<H> | undefined {
    const parts = typeof path === 'string' ? pathSegments(path) : path;
    for (const e of this.entries) {
      if (e.method !== method || e.segments.length !== parts.length) continue;
      const params: RouteParams = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const seg = e.segments[i];
        if (seg.startsWith(':')) params[seg.slice(1)] = parts[i];
        else ok = seg === parts[i];
      }
      if (ok) return { handler: e.handler, params };
    }
    return undefined;
  }
}
