/**
 * Stripe's request encoding: `application/x-www-form-urlencoded` with nested keys
 * (`metadata[order_no]=P1`, `payment_method_types[]=card`, `expand[0]=latest_charge`). The encoder
 * is what pay sends; the decoder is what the simulator reads, and accepts every form Stripe's own
 * clients produce (`[]`, `[0]`, brackets encoded or not).
 */

/** A value the encoder accepts. */
export type FormValue = string | number | boolean | undefined | null | FormValue[] | { [key: string]: FormValue };

function enc(s: string): string {
  // Brackets stay readable, as Stripe's clients send them; everything else is percent-encoded.
  return encodeURIComponent(s).replace(/%5B/g, '[').replace(/%5D/g, ']');
}

/** Encodes a nested object as Stripe form data; undefined and null members are left out. */
export function encodeForm(data: Record<string, FormValue>): string {
  const pairs: string[] = [];
  const walk = (key: string, value: FormValue): void => {
    if (value === undefined || value === null) return;
    if (Array.isArray(value)) {
      const scalars = value.every((v) => v === null || typeof v !== 'object');
      value.forEach((v, i) => walk(scalars ? `${key}[]` : `${key}[${i}]`, v));
      return;
    }
    if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(`${key}[${k}]`, v);
      return;
    }
    pairs.push(`${enc(key)}=${enc(String(value))}`);
  };
  for (const [k, v] of Object.entries(data)) walk(k, v);
  return pairs.join('&');
}

/** A decoded form: strings, nested objects and arrays. */
export type FormObject = { [key: string]: FormNode };
export type FormNode = string | FormObject | FormNode[];

/** Splits `a[b][]` into `['a', 'b', '']`. */
function keyPath(key: string): string[] | undefined {
  const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
  if (!m) return undefined;
  const parts = [m[1]];
  for (const seg of m[2].matchAll(/\[([^[\]]*)\]/g)) parts.push(seg[1]);
  return parts;
}

/**
 * Decodes Stripe form data into nested objects. Numeric and empty bracket segments make arrays.
 * Throws a plain Error naming the key for a shape conflict (`a=1&a[b]=2`), which the simulator
 * answers as Stripe does, with an invalid_request_error.
 */
export function decodeForm(body: string): FormObject {
  const root: FormObject = {};
  if (body.trim() === '') return root;
  for (const pair of body.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    const key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
    const value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    const path = keyPath(key);
    if (!path) throw new Error(`Invalid parameter name: ${key}`);
    let node: FormObject | FormNode[] = root;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      const last = i === path.length - 1;
      const nextIsArray = !last && (path[i + 1] === '' || /^\d+$/.test(path[i + 1]));
      if (Array.isArray(node)) {
        const idx: number = seg === '' ? node.length : Number(seg);
        if (!/^\d*$/.test(seg) || idx > 10000) throw new Error(`Invalid array index in ${key}`);
        if (last) node[idx] = value;
        else {
          node[idx] ??= nextIsArray ? [] : {};
          const child: FormNode = node[idx];
          if (typeof child === 'string') throw new Error(`Conflicting parameter shapes for ${key}`);
          node = child;
        }
      } else {
        if (last) {
          if (node[seg] !== undefined && typeof node[seg] !== 'string') throw new Error(`Conflicting parameter shapes for ${key}`);
          node[seg] = value;
        } else {
          node[seg] ??= nextIsArray ? [] : {};
          const child: FormNode = node[seg];
          if (typeof child === 'string') throw new Error(`Conflicting parameter shapes for ${key}`);
          node = child;
        }
      }
    }
  }
  return root;
}

/** Decodes a query string (`?limit=3&expand[]=data.source`) the same way. */
export function decodeQuery(query: URLSearchParams): FormObject {
  return decodeForm(query.toString());
}
