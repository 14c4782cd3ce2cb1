/**
 * A map bounded by forgetting everything once full: memory stays bounded whatever is put in, and
 * the entries in use come back with their next lookup. For memos of values that never change
 * (a reason text's verdict, a provider user's case).
 */
export interface BoundedMemo<V> {
  get(key: string): V | undefined;
  remember(key: string, value: V): void;
}

export function boundedMemo<V>(size: number): BoundedMemo<V> {
  const m = new Map<string, V>();
  return {
    get: (key) => m.get(key),
    remember(key, value) {
      if (m.size >= size) m.clear();
      m.set(key, value);
    },
  };
}
