/**
 * When signing keys are created, activated and dropped. Pure functions of the key list and the
 * time, shared by X.509 authorities and JWT keys.
 *
 * A key lives `ttl`. When the active key has `overlap` left, a successor is *prepared*: published
 * in the bundle but not yet used. After `prepare`, the successor becomes *active*; the old key is
 * *retired* but stays in the bundle until it expires, so everything it signed still verifies
 * (Trust Domain and Bundle §3, Appendix A: publish the replacement well ahead of the expiry).
 */

export interface KeyTimes {
  readonly id: string;
  readonly createdAt: number;
  readonly notAfter: number;
  readonly activatedAt?: number;
}

export interface RotationPolicy {
  readonly ttlMs: number;
  readonly overlapMs: number;
  readonly prepareMs: number;
}

export type RotationStep =
  | { readonly type: "remove"; readonly id: string }
  | { readonly type: "activate"; readonly id: string }
  | { readonly type: "create"; readonly activate: boolean };

export type KeyState = "active" | "prepared" | "retired";

const live = (keys: readonly KeyTimes[], now: number) => keys.filter((k) => k.notAfter > now);

export function activeKey(keys: readonly KeyTimes[], now: number): KeyTimes | undefined {
  return live(keys, now)
    .filter((k) => k.activatedAt !== undefined)
    .sort((a, b) => b.activatedAt! - a.activatedAt!)[0];
}

export function preparedKey(keys: readonly KeyTimes[], now: number): KeyTimes | undefined {
  return live(keys, now)
    .filter((k) => k.activatedAt === undefined)
    .sort((a, b) => b.createdAt - a.createdAt)[0];
}

export function keyState(key: KeyTimes, keys: readonly KeyTimes[], now: number): KeyState {
  if (key.activatedAt === undefined) return "prepared";
  return activeKey(keys, now)?.id === key.id ? "active" : "retired";
}

/** What to do now; apply the steps in order, then plan again until nothing is left. */
export function planRotation(keys: readonly KeyTimes[], now: number, policy: RotationPolicy): RotationStep[] {
  const steps: RotationStep[] = keys.filter((k) => k.notAfter <= now).map((k) => ({ type: "remove", id: k.id }));
  const active = activeKey(keys, now);
  const prepared = preparedKey(keys, now);
  if (!active) {
    // First start, or everything expired while sluice was down: a published successor with a
    // useful life left is taken at once; one about to expire is dropped (it never signed anything).
    if (prepared && prepared.notAfter - now > policy.overlapMs) steps.push({ type: "activate", id: prepared.id });
    else {
      if (prepared) steps.push({ type: "remove", id: prepared.id });
      steps.push({ type: "create", activate: true });
    }
  } else if (prepared) {
    if (now >= activationTime(active, prepared, policy)) steps.push({ type: "activate", id: prepared.id });
  } else if (now >= active.notAfter - policy.overlapMs) {
    steps.push({ type: "create", activate: false });
  }
  return steps;
}

/** The next time `planRotation` may have something to do (Infinity when nothing is scheduled). */
export function nextRotationTime(keys: readonly KeyTimes[], now: number, policy: RotationPolicy): number {
  const times = keys.map((k) => k.notAfter);
  const active = activeKey(keys, now);
  const prepared = preparedKey(keys, now);
  if (active && prepared) times.push(activationTime(active, prepared, policy));
  else if (active) times.push(active.notAfter - policy.overlapMs);
  return times.length ? Math.min(...times) : Infinity;
}

/** After the prepare period, and in any case before the active key expires. */
function activationTime(active: KeyTimes, prepared: KeyTimes, policy: RotationPolicy): number {
  return Math.min(prepared.createdAt + policy.prepareMs, active.notAfter - 1);
}
