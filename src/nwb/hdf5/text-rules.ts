/**
 * What text HDF5 can store and what can name an HDF5 object. Strings are stored as NUL-terminated
 * UTF-8, so a NUL would cut them short and a lone UTF-16 surrogate has no UTF-8 form (it would
 * silently become U+FFFD). Callers reject such text with these messages instead of losing it.
 */

/** Why `s` cannot be stored as an HDF5 string, or undefined when it can. */
export function textProblem(s: string): string | undefined {
  if (s.includes("\u0000")) return "contains a NUL character, which an HDF5 string cannot store";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return `contains a lone UTF-16 surrogate (\\u${c.toString(16)}), which has no UTF-8 form`;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return `contains a lone UTF-16 surrogate (\\u${c.toString(16)}), which has no UTF-8 form`;
  }
  return undefined;
}

/** Why `name` cannot name one HDF5 object (group or dataset), or undefined when it can. */
export function objectNameProblem(name: string): string | undefined {
  if (name === "" || name === "." || name === "..") return "is empty, '.' or '..'";
  if (name.includes("/")) return "contains '/'";
  return textProblem(name);
}
