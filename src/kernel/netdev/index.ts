/**
 * Interface-level enforcement: TC egress (second line behind the connect hooks) and XDP ingress
 * (protected local ports) on the host's interfaces.
 *
 * - `new NetdevGuard({pinDir, logger, interfaces?, pollMs?}).start()`: attaches to every guarded
 *   interface (tcx, or cls_bpf on clsact where the kernel has no tcx), follows interfaces that
 *   appear or vanish; `status()` → per interface how TC and XDP are attached, or why not.
 * - `listInterfaces()`, `guardedInterfaces(names?)`, `interfaceIndex(name)`.
 * - `detachNetdevFilters(pinDir, ifindexOf)`: removes cls_bpf filters (used by detachAll);
 *   `readNetdevPins(pinDir)`: per interface what is pinned (for `sluice kernel status`).
 */
export { detachNetdevFilters, NETDEV_PROGRAMS, NetdevGuard, readNetdevPins, TC_PROGRAM, XDP_PROGRAM, type InterfaceGuard, type NetdevGuardOptions, type NetdevStatus, type PinnedInterface } from "./guard.ts";
export { guardedInterfaces, interfaceIndex, isLoopback, listInterfaces, type NetInterface } from "./interfaces.ts";
export { CLSACT_HANDLE, CLSACT_PRIORITY, queryClsact, type TcMode } from "./tc.ts";
