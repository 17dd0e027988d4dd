/**
 * Keys as a case-insensitive JSON decoder compares them. Go's encoding/json matches a key to a
 * struct field ignoring case, with Unicode simple folding (`ſ` is `s`, the Kelvin sign `K` is `k`),
 * and the last of several matching keys wins: `{"region":"KGL-1","Region":"EVIL-9"}` is EVIL-9 there.
 * Lower, upper, lower again puts each such family on one spelling; it also joins a few more (`ß`
 * and `ss`), which only makes the gateway refuse more, never less.
 */
export function foldKey(key: string): string {
  return key.toLowerCase().toUpperCase().toLowerCase();
}
