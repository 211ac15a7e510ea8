/**
 * The version of the `--json` documents' format (ADR-0026). Every document bm-log prints
 * carries it as its first field, `"format": 1`; docs/json/*.schema.json describe format 1.
 * Within a format fields may be added (a consumer ignores fields it does not know); a field
 * removed, renamed or given another meaning takes a new format number.
 */
export const JSON_FORMAT = 1;

/** `data` (a JSON object) with the format field first. */
export function stampFormat(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('stampFormat: a --json document is an object');
  return { format: JSON_FORMAT, ...data };
}
