/** Teardown steps run in reverse order of registration; one failing step does not stop the rest. */
export class Cleanups {
  readonly #steps: (() => unknown)[] = [];

  push(step: () => unknown): void {
    this.#steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        console.warn("e2e cleanup:", err);
      }
    }
  }
}
