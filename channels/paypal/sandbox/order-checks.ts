/**
 * The checks an order's purchase unit goes through, on create and after every PATCH (amount
 * against breakdown, items against item_total and tax_total), and the JSON Patch operations of
 * PayPal's patchable table.
 */
import { checkAmount, fmt, invalidRequest, obj, PU, str, unprocessable, type At, type Obj } from './params.js';

const BREAKDOWN_PLUS = ['item_total', 'tax_total', 'shipping', 'handling', 'insurance'] as const;
const BREAKDOWN_MINUS = ['shipping_discount', 'discount'] as const;

/**
 * Checks a purchase unit as PayPal does on create and after a PATCH: the amount (and each
 * breakdown amount, in the same currency), `amount.value` equal to the breakdown's sum
 * (AMOUNT_MISMATCH), and items against `item_total` and `tax_total` (ITEM_TOTAL_REQUIRED,
 * ITEM_TOTAL_MISMATCH, TAX_TOTAL_REQUIRED, TAX_TOTAL_MISMATCH).
 */
export function checkPurchaseUnit(pu: Obj, ref: string): void {
  const base = PU(ref);
  for (const [key, max] of [['description', 127], ['custom_id', 255], ['invoice_id', 127], ['soft_descriptor', 22], ['reference_id', 256]] as const) {
    const v = pu[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw invalidRequest('INVALID_PARAMETER_SYNTAX', 'The value of a field does not conform to the expected format.', `${base}/${key}`);
    if (v.length < 1 || v.length > max) throw invalidRequest('INVALID_STRING_LENGTH', 'The value of a field is either too short or too long.', `${base}/${key}`, { value: v });
  }
  const { currency, units: total } = checkAmount(pu.amount, `${base}/amount`, 'currency_code');
  const breakdown = obj(obj(pu.amount)?.breakdown);
  const part = (key: string): number | undefined => {
    if (!breakdown || breakdown[key] === undefined) return undefined;
    const field = `${base}/amount/breakdown/${key}`;
    const m = checkAmount(breakdown[key], field, 'currency_code', true);
    if (m.currency !== currency) throw unprocessable('CURRENCY_MISMATCH', 'Currency code should be the same for all amounts in a purchase unit.', { field: `${field}/currency_code`, value: m.currency });
    return m.units;
  };
  const parts: Record<string, number | undefined> = {};
  for (const k of [...BREAKDOWN_PLUS, ...BREAKDOWN_MINUS]) parts[k] = part(k);
  const items = pu.items;
  if (items !== undefined) {
    if (!Array.isArray(items)) throw invalidRequest('INVALID_PARAMETER_SYNTAX', 'The value of a field does not conform to the expected format.', `${base}/items`);
    let itemSum = 0;
    let taxSum = 0;
    let anyTax = false;
    items.forEach((raw, i) => {
      const item = obj(raw) ?? {};
      const field = `${base}/items/${i}`;
      if (!str(item.name)) throw invalidRequest('MISSING_REQUIRED_PARAMETER', 'A required field / parameter is missing.', `${field}/name`);
      const q = item.quantity;
      if (typeof q !== 'string' || !/^[1-9]\d{0,9}$/.test(q)) throw invalidRequest('INVALID_PARAMETER_SYNTAX', 'The value of a field does not conform to the expected format.', `${field}/quantity`, { value: String(q) });
      const unit = checkAmount(item.unit_amount, `${field}/unit_amount`, 'currency_code');
      if (unit.currency !== currency) throw unprocessable('CURRENCY_MISMATCH', 'Currency code should be the same for all amounts in a purchase unit.', { field: `${field}/unit_amount/currency_code`, value: unit.currency });
      itemSum += unit.units * Number(q);
      if (item.tax !== undefined) {
        anyTax = true;
        const tax = checkAmount(item.tax, `${field}/tax`, 'currency_code', true).units;
        taxSum += tax * Number(q);
      }
    });
    if (items.length > 0) {
      if (parts.item_total === undefined) {
        throw unprocessable('ITEM_TOTAL_REQUIRED', 'If item details are specified (items.unit_amount and items.quantity) corresponding amount.breakdown.item_total is required.', { field: `${base}/amount/breakdown/item_total` });
      }
      if (parts.item_total !== itemSum) {
        throw unprocessable('ITEM_TOTAL_MISMATCH', 'Should equal sum of (unit_amount * quantity) across all items for a given purchase_unit', {
          field: `${base}/amount/breakdown/item_total/value`,
          value: fmt(parts.item_total, currency),
        });
      }
      if (anyTax && parts.tax_total === undefined) {
        throw unprocessable('TAX_TOTAL_REQUIRED', 'If item details are specified (items.tax_total and items.quantity) corresponding amount.breakdown.tax_total is required.', { field: `${base}/amount/breakdown/tax_total` });
      }
      if (anyTax && parts.tax_total !== taxSum) {
        throw unprocessable('TAX_TOTAL_MISMATCH', 'Should equal sum of (tax * quantity) across all items for a given purchase_unit', { field: `${base}/amount/breakdown/tax_total/value`, value: fmt(parts.tax_total!, currency) });
      }
    }
  }
  if (breakdown) {
    const sum = BREAKDOWN_PLUS.reduce((acc, k) => acc + (parts[k] ?? 0), 0) - BREAKDOWN_MINUS.reduce((acc, k) => acc + (parts[k] ?? 0), 0);
    if (sum !== total) {
      throw unprocessable('AMOUNT_MISMATCH', 'Should equal item_total + tax_total + shipping + handling + insurance - shipping_discount - discount.', { field: `${base}/amount/value`, value: fmt(total, currency) });
    }
  }
}

/** What each patchable field of a purchase unit takes (PayPal's table), by path below the unit. */
const PATCHABLE: Record<string, readonly string[]> = {
  custom_id: ['replace', 'add', 'remove'],
  description: ['replace', 'add', 'remove'],
  invoice_id: ['replace', 'add', 'remove'],
  soft_descriptor: ['replace', 'remove'],
  amount: ['replace'],
  items: ['replace', 'add', 'remove'],
  'payee/email_address': ['replace'],
  'shipping/name': ['replace', 'add'],
  'shipping/address': ['replace', 'add'],
  'shipping/type': ['replace', 'add'],
  'shipping/email_address': ['replace', 'add'],
  'shipping/phone_number': ['replace', 'add'],
  'shipping/options': ['replace', 'add'],
  payment_instruction: ['replace'],
};

const INVALID_PATCH = "The operation cannot be honored. Cannot add a property that's already present, use replace. Cannot remove a property thats not present, use add. Cannot replace a property thats not present, use add.";

/** Applies one JSON Patch operation to a copy of an order (module comment of patchOrder). */
export function applyPatch(order: Obj, op: 'add' | 'replace' | 'remove', path: string, value: unknown, index: number): void {
  const at: At = { field: path };
  if (path === '/intent') {
    if (op !== 'replace') throw unprocessable('INVALID_PATCH_OPERATION', INVALID_PATCH, at);
    if (value !== 'CAPTURE' && value !== 'AUTHORIZE') throw invalidRequest('INVALID_PARAMETER_VALUE', 'The value of a field is invalid.', `/${index}/value`, { value: String(value) });
    order.intent = value;
    return;
  }
  const m = /^\/purchase_units\/(?:@reference_id==(['"])(.*?)\1|(\d+))\/(.+)$/.exec(path);
  if (!m) {
    if (!path.startsWith('/') || /\/\//.test(path)) {
      throw invalidRequest('INVALID_JSON_POINTER_FORMAT', 'Path should be a valid JSON Pointer https://tools.ietf.org/html/rfc6901 that references a location within the request where the field or value of a field is invalid.', `/${index}/path`, { value: path });
    }
    throw invalidRequest('FIELD_NOT_PATCHABLE', 'Field cannot be patched.', path);
  }
  const units = order.purchase_units as Obj[];
  const unit = m[3] !== undefined ? units[Number(m[3])] : units.find((u) => u.reference_id === m[2]);
  if (!unit) throw unprocessable('REFERENCE_ID_NOT_FOUND', 'Filter expression value is incorrect. Check the value of the reference_id.', at);
  const rest = m[4];
  const ops = PATCHABLE[rest];
  if (!ops) throw invalidRequest('FIELD_NOT_PATCHABLE', 'Field cannot be patched.', path);
  if (!ops.includes(op)) throw unprocessable('INVALID_PATCH_OPERATION', INVALID_PATCH, at);
  const keys = rest.split('/');
  let holder: Obj = unit;
  for (const k of keys.slice(0, -1)) {
    holder[k] = obj(holder[k]) ?? {};
    holder = holder[k] as Obj;
  }
  const leaf = keys[keys.length - 1];
  const present = holder[leaf] !== undefined && holder[leaf] !== null;
  if ((op === 'add' && present && leaf !== 'items') || ((op === 'replace' || op === 'remove') && !present)) throw unprocessable('INVALID_PATCH_OPERATION', INVALID_PATCH, at);
  if (op === 'remove') delete holder[leaf];
  else holder[leaf] = value;
}
