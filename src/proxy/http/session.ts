/**
 * One agent connection speaking HTTP/1.1 through the proxy: request heads parsed with limits, the
 * Injector consulted per request (in order), bodies streamed both ways with backpressure, response
 * ends tracked so upstream connections go back to the shared pool, keep-alive toward the agent.
 * A malformed request gets a 400 and only its own connection is closed; an upstream failure
 * before the response started gets a 502 naming the Service.
 */
import type { Socket } from "bun";
import type { Logger } from "../../log/index.ts";
import { ProxyError } from "../errors.ts";
import type { ProxyMetrics, RequestSeries } from "../metrics.ts";
import { Outbox } from "../outbox.ts";
import type { ConnectionContext, InjectionDecision, Injector, RequestHead, ResponseHead, ResponseRewriter } from "../types.ts";
import { shortReason, type UpstreamConn, type UpstreamOwner, type UpstreamPool, type UpstreamTarget } from "../upstream.ts";
import { bodyTracker, type BodyTracker } from "./body.ts";
import { isFieldValue, isToken, parseRequestHead, parseResponseHead, requestFraming, responseFraming, wantsClose, type BodyFraming } from "./head.ts";
import type { HttpLimits } from "./limits.ts";
import { responseHeadBytes, simpleResponse, upstreamRequestHead } from "./serialize.ts";
import type { AuditInput } from "../../audit/index.ts";

export interface SessionDeps {
  readonly context: ConnectionContext;
  readonly target: UpstreamTarget;
  readonly pool: UpstreamPool;
  readonly injector: Injector;
  readonly rewriters: readonly ResponseRewriter[];
  readonly limits: HttpLimits;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  /** Where a refused upstream identity is recorded (a peer that is not the Service it claims to be). */
  readonly audit?: { append(input: AuditInput): unknown };
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);

type Phase = "head" | "deciding" | "exchange" | "closed";

interface Rewrite {
  readonly rewriter: ResponseRewriter;
  readonly head: ResponseHead;
  readonly decoded: Uint8Array[];
  readonly raw: Uint8Array[];
  size: number;
}

export class HttpSession implements UpstreamOwner {
  readonly out: Outbox;
  #phase: Phase = "head";
  #buf: Buffer = EMPTY;
  #req: RequestHead | undefined;
  #reqBody: BodyTracker | undefined;
  #reqHeadBytes: Uint8Array | undefined;
  #retried = false;
  #reqHadNoBody = false;
  #up: UpstreamConn | undefined;
  #respHead: Buffer = EMPTY;
  #respParsed = false;
  #respStarted = false;
  #respBody: BodyTracker | undefined;
  #respFraming: BodyFraming | undefined;
  #respStatus = 0;
  #upReusable = false;
  #clientClose = false;
  #pausedForPipeline = false;
  #pausedForUpstream = false;
  #rewrite: Rewrite | undefined;
  #label = "";
  #series: RequestSeries | undefined;
  #start = 0;
  #bytesIn = 0;
  #bytesOut = 0;

  constructor(
    readonly socket: Socket<unknown>,
    readonly deps: SessionDeps,
  ) {
    this.out = new Outbox(socket);
    this.out.onDrained = () => this.#up?.resume();
    socket.timeout(deps.limits.idleTimeoutSeconds);
  }

  // ---- agent side ------------------------------------------------------------------------------

  onClientData(chunk: Buffer): void {
    if (this.#phase === "closed") return;
    if (this.#phase === "exchange" && this.#reqBody && !this.#reqBody.done && this.#buf.length === 0) {
      this.#forwardBody(chunk, 0);
      return;
    }
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    if (this.#phase === "head") this.#readHead();
    else if (this.#buf.length > this.deps.limits.maxHeadBytes) this.#pause("pipeline");
  }

  onClientDrain(): void {
    this.out.drain();
  }

  onClientClose(): void {
    if (this.#phase === "closed") return;
    // A request the agent gave up on (an SSE stream it closed) still counts; 499 if no response head came yet (nginx's code).
    if (this.#phase === "exchange") {
      if (!this.#respParsed) this.#respStatus = 499;
      this.#observe();
    }
    this.#phase = "closed";
    this.out.markClosed();
    this.#up?.close();
    this.#up = undefined;
  }

  /** Bun's inactivity timer, set once: only a connection waiting for a request head is ended by it. */
  onClientTimeout(): void {
    if (this.#phase === "head") {
      if (this.#buf.length > 0) this.#fail(new ProxyError("ERR_PROXY_MALFORMED", "request head not received in time", 408));
      else this.#closeClient();
    }
  }

  #pause(why: "pipeline" | "upstream"): void {
    if (why === "pipeline") this.#pausedForPipeline = true;
    else this.#pausedForUpstream = true;
    this.socket.pause();
  }

  #unpause(why: "pipeline" | "upstream"): void {
    if (why === "pipeline") this.#pausedForPipeline = false;
    else this.#pausedForUpstream = false;
    if (!this.#pausedForPipeline && !this.#pausedForUpstream && this.#phase !== "closed") this.socket.resume();
  }

  #readHead(): void {
    const limits = this.deps.limits;
    // RFC 9112 §2.2: ignore empty lines received before the request-line.
    let start = 0;
    while (start + 1 < this.#buf.length && this.#buf[start] === 13 && this.#buf[start + 1] === 10) start += 2;
    const end = this.#buf.indexOf(CRLFCRLF, start);
    if (end < 0) {
      if (this.#buf.length - start > limits.maxHeadBytes) this.#fail(new ProxyError("ERR_PROXY_HEAD_TOO_LARGE", `request head larger than ${limits.maxHeadBytes} bytes`, 431));
      return;
    }
    if (end + 4 - start > limits.maxHeadBytes) return this.#fail(new ProxyError("ERR_PROXY_HEAD_TOO_LARGE", `request head larger than ${limits.maxHeadBytes} bytes`, 431));
    let head: RequestHead;
    let framing: BodyFraming;
    try {
      head = parseRequestHead(this.#buf.toString("latin1", start, end), limits);
      framing = requestFraming(head);
    } catch (err) {
      return this.#fail(err);
    }
    this.#bytesIn = end + 4 - start;
    this.#bytesOut = 0;
    this.#start = performance.now();
    this.#buf = end + 4 === this.#buf.length ? EMPTY : this.#buf.subarray(end + 4);
    this.#req = head;
    this.#clientClose = wantsClose(head.version, head.headers);
    this.#phase = "deciding";
    let decision: InjectionDecision | Promise<InjectionDecision>;
    try {
      decision = this.deps.injector.decide(this.deps.context, head);
    } catch (err) {
      return this.#injectorFailed(err);
    }
    if (decision instanceof Promise) {
      // No pause while the injector works (pause/resume cost two syscalls per request): bytes that
      // arrive meanwhile wait in #buf, and onClientData pauses the socket once that passes maxHeadBytes.
      decision.then(
        (d) => {
          if (this.#phase !== "deciding") return;
          if (this.#pausedForPipeline) this.#unpause("pipeline");
          this.#apply(d, head, framing);
        },
        (err) => this.#injectorFailed(err),
      );
    } else this.#apply(decision, head, framing);
  }

  #injectorFailed(err: unknown): void {
    if (this.#phase === "closed") return;
    this.deps.logger.error("injector failed", { service: this.deps.context.service.name, error: shortReason(err) });
    this.#label = "error";
    this.#sendOwn(500, `sluice: could not decide about this request to ${this.deps.context.service.name}\n`, true);
  }

  #apply(decision: InjectionDecision, head: RequestHead, framing: BodyFraming): void {
    this.#label = decision.label;
    if (decision.kind === "respond") {
      // A body we did not read would be taken for the next request: close after answering.
      this.#sendOwn(decision.status, decision.body ?? "", this.#clientClose || framing.kind !== "none", decision.headers);
      return;
    }
    if (decision.setHeaders) for (const [n, v] of decision.setHeaders) if (!isToken(n) || !isFieldValue(v)) return this.#injectorFailed(new Error(`invalid header ${n} from injector`));
    this.#reqHeadBytes = upstreamRequestHead(head, decision);
    this.#reqBody = bodyTracker(framing, this.deps.limits);
    this.#reqHadNoBody = framing.kind === "none";
    this.#retried = false;
    this.#phase = "exchange";
    this.#startUpstream();
    const rest = this.#buf;
    this.#buf = EMPTY;
    if (rest.length > 0) this.#forwardBody(rest, 0);
  }

  #startUpstream(): void {
    this.#respHead = EMPTY;
    this.#respParsed = false;
    this.#respStarted = false;
    this.#respBody = undefined;
    this.#rewrite = undefined;
    const up = this.deps.pool.acquire(this.deps.target, this);
    this.#up = up;
    up.send(this.#reqHeadBytes!);
  }

  #forwardBody(chunk: Buffer, from: number): void {
    const body = this.#reqBody!;
    const n = body.consume(chunk, from);
    this.#bytesIn += n;
    if (n > 0 && this.#up && !this.#up.send(chunk.subarray(from, from + n))) this.#pause("upstream");
    if (from + n < chunk.length) {
      // Pipelined next request: hold it until this exchange ends.
      this.#buf = chunk.subarray(from + n);
      this.#pause("pipeline");
    }
    if (body.done) this.#maybeFinish();
  }

  // ---- upstream side ---------------------------------------------------------------------------

  /** The upstream was silent for the timeout: fatal only while waiting for a response head (streams may idle). */
  onUpstreamTimeout(): boolean {
    return !this.#respParsed;
  }

  onUpstreamDrain(): void {
    if (this.#pausedForUpstream) this.#unpause("upstream");
  }

  onUpstreamData(chunk: Buffer): void {
    if (this.#phase !== "exchange") return;
    let from = 0;
    try {
      while (!this.#respParsed) {
        // The head is found and forwarded by offsets into one buffer: no per-response copies.
        let buf = chunk;
        let base = from;
        if (this.#respHead.length > 0) {
          buf = Buffer.concat([this.#respHead, chunk.subarray(from)]);
          base = 0;
        }
        const end = buf.indexOf(CRLFCRLF, base);
        if (end < 0) {
          if (buf.length - base > this.deps.limits.maxHeadBytes) throw new ProxyError("ERR_PROXY_UPSTREAM", "upstream response head too large", 502);
          this.#respHead = base === 0 ? buf : buf.subarray(base);
          return;
        }
        const headEnd = end + 4;
        const head = parseResponseHead(buf.toString("latin1", base, end), this.deps.limits);
        this.#respHead = EMPTY;
        chunk = buf;
        from = headEnd;
        if (head.status >= 100 && head.status < 200) {
          // Interim responses (100 Continue, 103 Early Hints) pass through; 101 cannot: Upgrade is not forwarded.
          if (head.status === 101) throw new ProxyError("ERR_PROXY_UPSTREAM", "upstream switched protocols, which sluice does not relay", 502);
          this.#sendToClient(buf.subarray(base, headEnd));
          if (from === buf.length) return;
          continue;
        }
        this.#respParsed = true;
        this.#respStatus = head.status;
        const framing = responseFraming(this.#req!.method, head.status, head.headers);
        this.#respFraming = framing;
        this.#upReusable = framing.kind !== "close" && !wantsClose(head.version, head.headers);
        const rewriter = this.deps.rewriters.length === 0 ? undefined : this.deps.rewriters.find((r) => r.wants(this.deps.context, this.#req!, head));
        if (rewriter) {
          const rw: Rewrite = { rewriter, head, decoded: [], raw: [buf.subarray(base, headEnd)], size: 0 };
          this.#rewrite = rw;
          this.#respBody = bodyTracker(framing, this.deps.limits, (b) => {
            rw.size += b.length;
            if (rw.size <= this.deps.limits.maxRewriteBodyBytes) rw.decoded.push(Buffer.from(b));
          });
          break;
        }
        // Head and the body bytes that came with it: one write (one TLS record, one syscall).
        const body = bodyTracker(framing, this.deps.limits);
        this.#respBody = body;
        const stop = headEnd + body.consume(buf, headEnd);
        this.#sendToClient(base === 0 && stop === buf.length ? buf : buf.subarray(base, stop));
        // Bytes past the response end: the upstream broke framing; never reuse it.
        if (stop < buf.length) this.#upReusable = false;
        if (body.done) this.#responseDone();
        return;
      }
      if (from < chunk.length) this.#forwardResponseBody(chunk, from);
      else if (this.#respBody!.done) this.#responseDone();
    } catch (err) {
      this.#upstreamBroke(err instanceof ProxyError ? new ProxyError("ERR_PROXY_UPSTREAM", err.message, 502) : new ProxyError("ERR_PROXY_UPSTREAM", shortReason(err), 502));
    }
  }

  #forwardResponseBody(chunk: Buffer, from: number): void {
    const body = this.#respBody!;
    const n = body.consume(chunk, from);
    const part = chunk.subarray(from, from + n);
    const rw = this.#rewrite;
    if (rw) {
      rw.raw.push(Buffer.from(part));
      if (rw.size > this.deps.limits.maxRewriteBodyBytes) this.#abandonRewrite(rw);
    } else if (n > 0) this.#sendToClient(part);
    // Bytes past the response end: the upstream broke framing; never reuse it.
    if (from + n < chunk.length) this.#upReusable = false;
    if (body.done) this.#responseDone();
  }

  #abandonRewrite(rw: Rewrite): void {
    this.deps.logger.warn("response too large to rewrite; relayed unchanged", { service: this.deps.context.service.name, limit: this.deps.limits.maxRewriteBodyBytes });
    this.#rewrite = undefined;
    for (const b of rw.raw) this.#sendToClient(b);
  }

  #sendToClient(bytes: Uint8Array): void {
    this.#respStarted = true;
    this.#bytesOut += bytes.length;
    if (!this.out.send(bytes)) this.#up?.pause();
  }

  #responseDone(): void {
    const rw = this.#rewrite;
    if (rw) {
      this.#rewrite = undefined;
      let result: { head: ResponseHead; body: Uint8Array };
      try {
        result = rw.rewriter.rewrite(this.deps.context, this.#req!, rw.head, Buffer.concat(rw.decoded));
      } catch (err) {
        this.deps.logger.warn("response rewrite failed; relayed unchanged", { service: this.deps.context.service.name, error: shortReason(err) });
        for (const b of rw.raw) this.#sendToClient(b);
        result = undefined as never;
      }
      if (result) {
        const headers = result.head.headers.filter(([n]) => !["content-length", "transfer-encoding"].includes(n.toLowerCase()));
        headers.push(["Content-Length", String(result.body.length)]);
        this.#sendToClient(responseHeadBytes({ ...result.head, headers }));
        this.#sendToClient(result.body);
        if (this.#respFraming?.kind === "close") this.#clientClose = true;
      }
    }
    this.#respBody = undefined;
    this.#respParsed = false;
    this.#observe();
    this.#respDoneFlag = true;
    this.#maybeFinish();
  }

  #respDoneFlag = false;

  #observe(): void {
    const metrics = this.deps.metrics;
    let series = this.#series;
    if (series === undefined || series.label !== this.#label) this.#series = series = metrics.series(this.deps.context.service.name, this.#label);
    metrics.record(series, this.#respStatus, this.#bytesIn, this.#bytesOut, (performance.now() - this.#start) / 1000);
  }

  #maybeFinish(): void {
    if (!this.#respDoneFlag) return;
    const reqDone = this.#reqBody?.done ?? true;
    const up = this.#up;
    this.#up = undefined;
    if (up) {
      if (this.#upReusable && reqDone) this.deps.pool.release(up);
      else up.close();
    }
    this.#respDoneFlag = false;
    if (!reqDone || this.#clientClose || this.#respFraming?.kind === "close") return this.#closeClient();
    this.#phase = "head";
    this.#req = undefined;
    this.#reqBody = undefined;
    if (this.#pausedForUpstream) this.#unpause("upstream");
    if (this.#pausedForPipeline) this.#unpause("pipeline");
    if (this.#buf.length > 0) this.#readHead();
  }

  onUpstreamClose(error?: ProxyError): void {
    if (this.#phase !== "exchange") return;
    const up = this.#up;
    this.#up = undefined;
    // A pooled connection the upstream had already closed: retry once, if nothing was sent back
    // and the request had no body (safe to send again).
    if (!this.#respStarted && this.#respHead.length === 0 && !this.#respParsed && up && up.uses > 0 && !this.#retried && this.#reqHadNoBody) {
      this.#retried = true;
      this.#startUpstream();
      return;
    }
    if (this.#respParsed && this.#respFraming?.kind === "close" && !error) {
      this.#upReusable = false;
      this.#clientClose = true;
      this.#responseDone();
      return;
    }
    this.#upstreamBroke(error ?? new ProxyError("ERR_PROXY_UPSTREAM", "upstream closed the connection", 502));
  }

  #upstreamBroke(error: ProxyError): void {
    this.#up?.close();
    this.#up = undefined;
    const service = this.deps.context.service.name;
    this.deps.logger.warn("upstream failed", { service, code: error.code, reason: error.message });
    if (error.code === "ERR_PROXY_UPSTREAM_IDENTITY") {
      const origin = this.deps.context.origin;
      this.deps.audit?.append({ kind: "proxy.upstream.identity", decision: "deny", ...(origin.workload ? { subject: origin.workload } : {}), pid: origin.pid, details: { service, reason: error.message.slice(0, 300) } });
    }
    if (this.#respStarted) {
      // Mid-response: the agent must see a truncated message, not a spliced one.
      this.#observe();
      this.#abortClient();
      return;
    }
    this.#respStatus = error.status;
    this.#observe();
    this.#clientClose = true;
    const what = error.status === 504 ? "timed out" : "failed";
    this.out.send(simpleResponse(error.status, `sluice: upstream ${service} ${what}: ${error.message}\n`, { close: true }));
    this.#closeClient();
  }

  // ---- endings ---------------------------------------------------------------------------------

  #sendOwn(status: number, body: string, close: boolean, headers?: readonly (readonly [string, string])[]): void {
    this.#respStatus = status;
    const bytes = simpleResponse(status, body, { close, ...(headers ? { headers } : {}) });
    this.#bytesOut = bytes.length;
    this.out.send(bytes);
    this.#observe();
    if (close) return this.#closeClient();
    this.#phase = "head";
    if (this.#pausedForPipeline) this.#unpause("pipeline");
    if (this.#buf.length > 0) this.#readHead();
  }

  #fail(err: unknown): void {
    const e = err instanceof ProxyError ? err : new ProxyError("ERR_PROXY_MALFORMED", shortReason(err), 400);
    this.deps.metrics.connection(`rejected_${e.status}`);
    this.deps.logger.info("malformed request", { service: this.deps.context.service.name, code: e.code, reason: e.message });
    this.out.send(simpleResponse(e.status, `sluice: ${e.message}\n`, { close: true }));
    this.#closeClient();
  }

  #closeClient(): void {
    if (this.#phase === "closed") return;
    this.#phase = "closed";
    this.#up?.close();
    this.#up = undefined;
    this.out.end();
  }

  #abortClient(): void {
    this.#phase = "closed";
    this.out.markClosed();
    this.socket.terminate();
  }
}
