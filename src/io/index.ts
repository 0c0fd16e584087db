/** Small I/O helpers shared by the HTTP-facing parts: `readCapped(body, max)` and its `BodyTooLarge`. */
export { BodyTooLarge, readCapped } from "./read-capped.ts";
