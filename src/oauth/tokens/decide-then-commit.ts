/**
 * A store transaction whose decision is known before its commit is: `fn` runs holding the write
 * lock (atomic read-modify-write, e.g. single-use codes), `decided` resolves as soon as it has run,
 * and `committed` when its writes are committed. The token endpoint signs while the commit is in
 * flight and answers only after `committed`: nothing is handed out that the store has not kept.
 */
import type { Store } from "../../store/index.ts";

export async function decideThenCommit<T>(store: Store, fn: () => T): Promise<{ value: T; committed: Promise<void> }> {
  let decide!: (value: T) => void;
  const decided = new Promise<T>((resolve) => (decide = resolve));
  const committed = store.transaction(() => {
    const value = fn();
    decide(value);
    return value;
  });
  // If fn throws (or the transaction cannot start), `committed` rejects before `decided` resolves.
  const value = await Promise.race([decided, committed]);
  const done = committed.then(() => undefined);
  // Marked handled here; whoever awaits `done` still sees a failed commit.
  done.catch(() => {});
  return { value, committed: done };
}
