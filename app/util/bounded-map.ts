/**
 * A Map that forgets its least recently written entries past `limit`: for caches keyed by
 * something unbounded (sessions, people, repositories), where forgetting costs only a repeat of
 * the work the entry saved, and a long-lived process must not grow for ever.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    // Re-inserting moves the key to the end: the oldest write is evicted first.
    super.delete(key);
    super.set(key, value);
    while (this.size > this.limit) super.delete(this.keys().next().value as K);
    return this;
  }
}
