/**
 * Counters and histograms with labels, rendered in the Prometheus text exposition format 0.0.4.
 * Label sets are bounded per metric (a runaway label value must not grow memory without end).
 */
export type Labels = Readonly<Record<string, string>>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Distinct label sets kept per metric; later new sets are folded into one `overflow="true"` series. */
export const MAX_SERIES_PER_METRIC = 2_000;

const OVERFLOW: Labels = { overflow: "true" };
const OVERFLOW_KEY = "overflow\u0000true";

export const DEFAULT_SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

interface Series<V> {
  readonly labels: Labels;
  value: V;
}

abstract class Metric<V> {
  readonly #series = new Map<string, Series<V>>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "histogram" | "gauge",
  ) {
    if (!NAME.test(name)) throw new TypeError(`invalid metric name ${JSON.stringify(name)}`);
  }
  protected abstract initial(): V;
  protected series(labels: Labels): Series<V> {
    const key = seriesKey(labels);
    let s = this.#series.get(key);
    if (!s) {
      if (this.#series.size >= MAX_SERIES_PER_METRIC && key !== OVERFLOW_KEY) return this.series(OVERFLOW);
      for (const k of Object.keys(labels)) if (!LABEL.test(k)) throw new TypeError(`invalid label name ${JSON.stringify(k)} on ${this.name}`);
      s = { labels: { ...labels }, value: this.initial() };
      this.#series.set(key, s);
    }
    return s;
  }
  protected all(): Iterable<Series<V>> {
    return this.#series.values();
  }
  abstract render(): string;
}

export class Counter extends Metric<number> {
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  protected initial(): number {
    return 0;
  }
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`${this.name}: a counter only goes up`);
    this.series(labels).value += by;
  }
  get(labels: Labels = {}): number {
    return this.series(labels).value;
  }
  render(): string {
    let out = header(this);
    for (const s of this.all()) out += `${this.name}${formatLabels(s.labels)} ${formatNumber(s.value)}\n`;
    return out;
  }
}

export class Gauge extends Metric<number> {
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  protected initial(): number {
    return 0;
  }
  set(value: number, labels: Labels = {}): void {
    this.series(labels).value = value;
  }
  render(): string {
    let out = header(this);
    for (const s of this.all()) out += `${this.name}${formatLabels(s.labels)} ${formatNumber(s.value)}\n`;
    return out;
  }
}

interface HistogramValue {
  readonly counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Metric<HistogramValue> {
  readonly buckets: readonly number[];
  constructor(name: string, help: string, buckets: readonly number[] = DEFAULT_SECONDS_BUCKETS) {
    super(name, help, "histogram");
    if (buckets.some((b, i) => i > 0 && b <= buckets[i - 1]!)) throw new TypeError(`${name}: buckets must increase`);
    this.buckets = [...buckets];
  }
  protected initial(): HistogramValue {
    return { counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 };
  }
  observe(value: number, labels: Labels = {}): void {
    const v = this.series(labels).value;
    const i = this.buckets.findIndex((b) => value <= b);
    if (i >= 0) v.counts[i]!++;
    v.sum += value;
    v.count++;
  }
  /** Count of observations (for tests and status output). */
  count(labels: Labels = {}): number {
    return this.series(labels).value.count;
  }
  render(): string {
    let out = header(this);
    for (const s of this.all()) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += s.value.counts[i]!;
        out += `${this.name}_bucket${formatLabels({ ...s.labels, le: formatNumber(b) })} ${cumulative}\n`;
      });
      out += `${this.name}_bucket${formatLabels({ ...s.labels, le: "+Inf" })} ${s.value.count}\n`;
      out += `${this.name}_sum${formatLabels(s.labels)} ${formatNumber(s.value.sum)}\n`;
      out += `${this.name}_count${formatLabels(s.labels)} ${s.value.count}\n`;
    }
    return out;
  }
}

/** Every metric of the process; each part registers its own and the listener renders them all. */
export class MetricsRegistry {
  readonly #metrics = new Map<string, Metric<unknown>>();
  readonly #collectors: (() => string)[] = [];
  /** A part that renders its own metrics in the text format (e.g. the proxy's hot-path counters). */
  collect(render: () => string): void {
    this.#collectors.push(render);
  }
  counter(name: string, help: string): Counter {
    return this.#add(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.#add(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets?: readonly number[]): Histogram {
    return this.#add(new Histogram(name, help, buckets));
  }
  render(): string {
    let out = "";
    for (const m of this.#metrics.values()) out += m.render();
    for (const c of this.#collectors) out += c();
    return out;
  }
  #add<M extends Metric<any>>(metric: M): M {
    const existing = this.#metrics.get(metric.name);
    if (existing) {
      if (existing.type !== metric.type) throw new TypeError(`metric ${metric.name} is already registered as a ${existing.type}`);
      return existing as M;
    }
    this.#metrics.set(metric.name, metric);
    return metric;
  }
}

function header(m: Metric<unknown>): string {
  return `# HELP ${m.name} ${m.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}\n# TYPE ${m.name} ${m.type}\n`;
}

function seriesKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k]}`)
    .join("\u0001");
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${labels[k]!.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`;
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}
