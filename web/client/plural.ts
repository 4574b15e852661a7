/** "1 file", "2 files": counts read as words, not "1 file(s)". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en")} ${n === 1 ? one : many}`;
}
