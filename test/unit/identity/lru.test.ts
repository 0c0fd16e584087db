import { describe, expect, test } from "bun:test";
import { Lru } from "../../../src/identity/lru.ts";

describe("Lru", () => {
  test("evicts the least recently used and reports it", () => {
    const evicted: string[] = [];
    const lru = new Lru<string, number>(2, (k) => evicted.push(k));
    lru.set("a", 1);
    lru.set("b", 2);
    expect(lru.get("a")).toBe(1); // a is now the most recent
    lru.set("c", 3);
    expect(evicted).toEqual(["b"]);
    expect(lru.peek("b")).toBeUndefined();
    expect(lru.size).toBe(2);
    lru.delete("a");
    lru.clear();
    expect(evicted).toEqual(["b", "a", "c"]);
  });

  test("replacing a value evicts the old one; capacity must be positive", () => {
    const evicted: number[] = [];
    const lru = new Lru<string, number>(1, (_k, v) => evicted.push(v));
    lru.set("a", 1);
    lru.set("a", 2);
    expect(evicted).toEqual([1]);
    expect(() => new Lru(0)).toThrow(TypeError);
  });
});
