/**
 * Duplicate keys in JSON text. JSON.parse keeps the last of two equal keys
 * without a word, but the API server rejects a duplicate field and the YAML
 * reader does too: a duplicated `spec` or `podSelector` is a policy whose
 * meaning depends on the reader. One linear scan over the tokens, run after
 * JSON.parse succeeded, so the text is known to be valid JSON.
 */

/**
 * A string (escapes included; unrolled so that a long string costs no
 * backtracking) or one of the structural characters `{}[],`.
 */
const TOKEN = /"[^"\\]*(?:\\.[^"\\]*)*"|[{}[\],]/g;

/** Keys of an open object: a list while short (cheaper), a Set past this many. */
const LIST_LIMIT = 8;

/**
 * Whether some object in `json` (valid JSON text) has the same key twice.
 * Keys compare after unescaping, as JSON.parse compares them.
 */
export function hasDuplicateKey(json: string): boolean {
  // The keys seen in each open object; null for an open array.
  const open: (string[] | Set<string> | null)[] = [];
  let expectKey = false;
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(json); m !== null; m = TOKEN.exec(json)) {
    const token = m[0];
    switch (token) {
      case '{':
        open.push([]);
        expectKey = true;
        break;
      case '[':
        open.push(null);
        break;
      case '}':
      case ']':
        open.pop();
        break;
      case ',':
        expectKey = (open[open.length - 1] ?? null) !== null;
        break;
      default:
        if (expectKey) {
          const key = token.includes('\\') ? (JSON.parse(token) as string) : token.slice(1, -1);
          if (!addKey(open, key)) return true;
          expectKey = false;
        }
    }
  }
  return false;
}

/** Adds `key` to the innermost open object; false when it was there already. */
function addKey(open: (string[] | Set<string> | null)[], key: string): boolean {
  const keys = open[open.length - 1];
  if (keys === null || keys === undefined) return true;
  if (keys instanceof Set) {
    if (keys.has(key)) return false;
    keys.add(key);
    return true;
  }
  if (keys.includes(key)) return false;
  keys.push(key);
  if (keys.length > LIST_LIMIT) open[open.length - 1] = new Set(keys);
  return true;
}
