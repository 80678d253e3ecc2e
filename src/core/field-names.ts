/**
 * Field names of signed form messages (Alipay, UnionPay), as `pay verify` meets them: a run's
 * callbacks carry the same names in the same order, file after file. What is found out about one
 * list of names (the order that sorts it, that no name repeats) is kept with the list, and a next
 * list equal to it costs one comparison per name instead of a sort or a set.
 */

/** The last list of names seen by one caller, and what was found out about it. */
export interface NamesMemo {
  names?: readonly string[];
  /** Indexes into `names`, in sorted order. */
  order?: readonly number[];
  /** True when no name repeats. */
  distinct?: boolean;
}

function sameNames(a: readonly string[] | undefined, b: readonly string[]): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function remember(memo: NamesMemo, names: readonly string[]): void {
  if (sameNames(memo.names, names)) return;
  memo.names = names;
  memo.order = undefined;
  memo.distinct = undefined;
}

/** Code-unit order: byte order for ASCII names (every real one), and what `<` does. */
export function codeUnitOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The indexes of `names` in sorted order (a stable sort: equal names keep their order). `compare`
 * must be the same for every call with one memo.
 */
export function sortedOrder(memo: NamesMemo, names: readonly string[], compare: (a: string, b: string) => number = codeUnitOrder): readonly number[] {
  remember(memo, names);
  if (!memo.order) {
    const order = names.map((_, i) => i);
    order.sort((i, j) => compare(names[i], names[j]));
    memo.order = order;
  }
  return memo.order;
}

/** The first name that comes a second time in `names`, or undefined. */
export function firstRepeat(memo: NamesMemo, names: readonly string[]): string | undefined {
  remember(memo, names);
  if (memo.distinct) return undefined;
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) return name;
    seen.add(name);
  }
  memo.distinct = true;
  return undefined;
}
