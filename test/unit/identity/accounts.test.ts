/** /etc/passwd and /etc/group names: parsed once, parsed again when the file changes. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AccountNames, parseIdNames } from "../../../src/identity/accounts.ts";

const dir = mkdtempSync(join(tmpdir(), "sluice-accounts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("passwd/group parsing", () => {
  test("first entry for an id wins; malformed lines and NIS markers are skipped", () => {
    const names = parseIdNames(["root:x:0:0:root:/root:/bin/bash", "# comment", "toor:x:0:0::/:/bin/sh", "bad:x:notanumber:1", "+nis::::", "", "alice:x:1000:1000::/home/alice:/bin/sh"].join("\n"));
    expect([...names]).toEqual([
      [0, "root"],
      [1000, "alice"],
    ]);
  });

  test("re-read only when the file changes", () => {
    const passwd = join(dir, "passwd");
    const group = join(dir, "group");
    writeFileSync(passwd, "alice:x:1000:1000::/:/bin/sh\n");
    writeFileSync(group, "staff:x:50:\n");
    const accounts = new AccountNames({ passwd, group }, 0);
    const a = accounts.snapshot();
    expect(a.user(1000)).toBe("alice");
    expect(a.group(50)).toBe("staff");
    expect(a.user(1001)).toBeUndefined();
    writeFileSync(passwd, "alice:x:1000:1000::/:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n");
    expect(accounts.snapshot().user(1001)).toBe("bob");
  });

  test("with a recheck interval, a change is seen only after it", () => {
    const passwd = join(dir, "passwd2");
    writeFileSync(passwd, "alice:x:1000:1000::/:/bin/sh\n");
    const accounts = new AccountNames({ passwd, group: join(dir, "group") }, 60_000);
    expect(accounts.snapshot().user(1000)).toBe("alice");
    writeFileSync(passwd, "carol:x:1000:1000::/:/bin/sh\n");
    expect(accounts.snapshot().user(1000)).toBe("alice");
  });

  test("a missing file means no names", () => {
    const accounts = new AccountNames({ passwd: join(dir, "nope"), group: join(dir, "nope2") });
    expect(accounts.snapshot().user(0)).toBeUndefined();
  });
});
